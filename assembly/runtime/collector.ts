// The collector: mark and sweep over rings of objects (rings.ts), run only when the SDK
// calls it. With no shadow stack it sees no locals, so it must only be called when no
// AssemblyScript frame holds a reference: the SDK calls it at a host callback's entry.
import { OBJECT, BLOCK_OVERHEAD, OBJECT_OVERHEAD, OBJECT_MAXSIZE, TOTAL_OVERHEAD, RTRACE } from "~lib/rt/common";
import { onvisit, oncollect } from "~lib/rt/rtrace";
import { E_ALLOCATION_TOO_LARGE, E_ALREADY_PINNED, E_NOT_PINNED } from "~lib/util/error";
import { MARKED_PARITY, PINNED, append, clearRing, flagsOf, forget, isLinked, nextOf, relink, unlink } from "./rings";
import { giveBlock, takeBlock } from "./recycler";

// @ts-ignore: decorator
@inline const HEADER: usize = offsetof<OBJECT>();
// @ts-ignore: decorator
@lazy const rings: usize = memory.data(<i32>(3 * HEADER), 16);
/** Objects not (yet) reached in this cycle: all of them between collections. */
// @ts-ignore: decorator
@lazy let unreached: usize = rings;
/** Objects reached in the collection under way. */
// @ts-ignore: decorator
@lazy let reached: usize = rings + HEADER;
// @ts-ignore: decorator
@lazy const pinned: usize = rings + 2 * HEADER;
/** The parity flag of unreached objects; reached ones get the other. */
// @ts-ignore: decorator
@lazy let unreachedParity: u32 = 0;
// @ts-ignore: decorator
@lazy let ready: bool = false;
/**
 * Bytes in managed objects with their headers, garbage included (the SDK's collection
 * policy and rtrace read it): about their blocks' bytes, without the rounding to 16.
 */
// @ts-ignore: decorator
@lazy let total: usize = 0;
/**
 * Bytes of the heap objects reached so far in the collection under way: what is left in
 * `total` after the sweep. Counted per object reached, so the sweep does no arithmetic
 * per dead object, the most numerous kind (a context a stream).
 */
// @ts-ignore: decorator
@lazy let reachedBytes: usize = 0;

function setUp(): void {
  clearRing(unreached);
  clearRing(reached);
  clearRing(pinned);
  ready = true;
}

// @ts-ignore: decorator
@inline function headerOf(ptr: usize): usize {
  return ptr - TOTAL_OVERHEAD;
}

// @ts-ignore: decorator
@inline function sizeOf(object: usize): usize {
  return <usize>load<u32>(object, offsetof<OBJECT>("rtSize"));
}

// @ts-ignore: decorator
@inline function setSize(object: usize, size: usize): void {
  store<u32>(object, <u32>size, offsetof<OBJECT>("rtSize"));
}

// @ts-ignore: decorator
@global @unsafe
export function __new(size: usize, id: i32): usize {
  if (size > OBJECT_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  if (!ready) setUp();
  let object = takeBlock(OBJECT_OVERHEAD + size) - BLOCK_OVERHEAD;
  store<u32>(object, id, offsetof<OBJECT>("rtId"));
  setSize(object, size);
  append(unreached, object, unreachedParity);
  total += TOTAL_OVERHEAD + size;
  let ptr = object + TOTAL_OVERHEAD;
  memory.fill(ptr, 0, size);
  return ptr;
}

// @ts-ignore: decorator
@global @unsafe
export function __renew(oldPtr: usize, size: usize): usize {
  let old = headerOf(oldPtr);
  let oldSize = sizeOf(old);
  if (oldPtr < __heap_base) {
    // Static data is not TLSF's to resize: copy it to the heap.
    let newPtr = __new(size, load<u32>(old, offsetof<OBJECT>("rtId")));
    memory.copy(newPtr, oldPtr, min(size, oldSize));
    return newPtr;
  }
  if (size > OBJECT_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  total -= oldSize;
  let newPtr = __realloc(oldPtr - OBJECT_OVERHEAD, OBJECT_OVERHEAD + size) + OBJECT_OVERHEAD;
  let object = headerOf(newPtr);
  setSize(object, size);
  relink(object);
  total += size;
  if (size > oldSize) memory.fill(newPtr + oldSize, 0, size - oldSize);
  return newPtr;
}

/**
 * Bytes in managed objects now, garbage included. Right after a collection that is the
 * live heap, from which the SDK decides when to collect again (abi/collector.ts).
 */
// @ts-ignore: decorator
@global @unsafe
export function __managedBytes(): usize {
  return total;
}

// @ts-ignore: decorator
@global @unsafe
export function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {
  // Nothing to do: the collector does not run while the program does (no write barrier).
}

// @ts-ignore: decorator
@global @unsafe
export function __visit(ptr: usize, cookie: i32): void {
  if (!ptr) return;
  let object = headerOf(ptr);
  if (RTRACE) if (!onvisit(changetype<OBJECT>(object))) return;
  if (!isLinked(object) || flagsOf(object) == unreachedParity) {
    unlink(object);
    append(reached, object, unreachedParity ^ MARKED_PARITY);
    if (object >= __heap_base) reachedBytes += TOTAL_OVERHEAD + sizeOf(object);
  }
}

// @ts-ignore: decorator
@global @unsafe
export function __pin(ptr: usize): usize {
  if (!ptr) return ptr;
  if (!ready) setUp();
  let object = headerOf(ptr);
  if (isLinked(object) && (flagsOf(object) & PINNED)) throw new Error(E_ALREADY_PINNED);
  unlink(object);
  append(pinned, object, PINNED);
  return ptr;
}

// @ts-ignore: decorator
@global @unsafe
export function __unpin(ptr: usize): void {
  if (!ptr) return;
  let object = headerOf(ptr);
  if (!isLinked(object) || !(flagsOf(object) & PINNED)) throw new Error(E_NOT_PINNED);
  unlink(object);
  append(unreached, object, unreachedParity);
}

/**
 * Visits the members of every pinned object, and counts the pinned heap objects' bytes
 * (they stay on their ring through a collection, so no __visit counts them).
 */
function visitPinned(): void {
  for (let object = nextOf(pinned); object != pinned; object = nextOf(object)) {
    if (object >= __heap_base) reachedBytes += TOTAL_OVERHEAD + sizeOf(object);
    __visit_members(object + TOTAL_OVERHEAD, 0);
  }
}

/** Visits the members of every object on `ring`, including those appended meanwhile. */
function visitMembersOfRing(ring: usize): void {
  let object = nextOf(ring);
  while (object != ring) {
    __visit_members(object + TOTAL_OVERHEAD, 0);
    object = nextOf(object);
  }
}

// @ts-ignore: decorator
@global @unsafe
export function __collect(): void {
  if (!ready) setUp();
  // Mark: what globals and pinned objects reach moves to `reached`, which is walked as it grows.
  reachedBytes = 0;
  __visit_globals(0);
  visitPinned();
  visitMembersOfRing(reached);
  // Sweep: what is left unreached is garbage.
  let object = nextOf(unreached);
  while (object != unreached) {
    let next = nextOf(object);
    if (object < __heap_base) {
      forget(object); // static data: unlinked until reached again
    } else {
      if (isDefined(__finalize)) __finalize(object + TOTAL_OVERHEAD);
      giveBlock(object + BLOCK_OVERHEAD);
    }
    object = next;
  }
  // The reached objects are the unreached ones of the next cycle, under the other parity.
  clearRing(unreached);
  let emptied = unreached;
  unreached = reached;
  reached = emptied;
  unreachedParity ^= MARKED_PARITY;
  total = reachedBytes;
  if (RTRACE) oncollect(total);
}
