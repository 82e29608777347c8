// The collector: mark and sweep over rings of objects, run only when the SDK calls it.
import { OBJECT, BLOCK_OVERHEAD, OBJECT_OVERHEAD, OBJECT_MAXSIZE, TOTAL_OVERHEAD, RTRACE } from "~lib/rt/common";
import { onvisit, oncollect } from "~lib/rt/rtrace";
import { E_ALLOCATION_TOO_LARGE, E_ALREADY_PINNED, E_NOT_PINNED } from "~lib/util/error";
import { MARKED_PARITY, PINNED, append, clearRing, flagsOf, isLinked, nextOf, relink, unlink } from "./rings";
import { giveBlock, takeBlock } from "./recycler";

// @ts-ignore: decorator
@lazy const rings: usize = memory.data(<i32>(3 * offsetof<OBJECT>()), 16);
/** Objects not (yet) reached in this cycle: all of them between collections. */
// @ts-ignore: decorator
@lazy let unreached: OBJECT = changetype<OBJECT>(rings);
/** Objects reached in the collection under way. */
// @ts-ignore: decorator
@lazy let reached: OBJECT = changetype<OBJECT>(rings + offsetof<OBJECT>());
// @ts-ignore: decorator
@lazy const pinned: OBJECT = changetype<OBJECT>(rings + 2 * offsetof<OBJECT>());
/** The parity flag of unreached objects; reached ones get the other. */
// @ts-ignore: decorator
@lazy let unreachedParity: u32 = 0;
// @ts-ignore: decorator
@lazy let ready: bool = false;
/** Bytes in managed objects, for rtrace (as-pect's leak reports). */
// @ts-ignore: decorator
@lazy let total: usize = 0;

function setUp(): void {
  clearRing(unreached);
  clearRing(reached);
  clearRing(pinned);
  ready = true;
}

// @ts-ignore: decorator
@inline function headerOf(ptr: usize): OBJECT {
  return changetype<OBJECT>(ptr - TOTAL_OVERHEAD);
}

// @ts-ignore: decorator
@inline function blockSize(object: OBJECT): usize {
  return BLOCK_OVERHEAD + (object.mmInfo & ~3);
}

// @ts-ignore: decorator
@global @unsafe
export function __new(size: usize, id: i32): usize {
  if (size > OBJECT_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  if (!ready) setUp();
  let object = changetype<OBJECT>(takeBlock(OBJECT_OVERHEAD + size) - BLOCK_OVERHEAD);
  object.rtId = id;
  object.rtSize = <u32>size;
  append(unreached, object, unreachedParity);
  if (RTRACE) total += blockSize(object);
  let ptr = changetype<usize>(object) + TOTAL_OVERHEAD;
  memory.fill(ptr, 0, size);
  return ptr;
}

// @ts-ignore: decorator
@global @unsafe
export function __renew(oldPtr: usize, size: usize): usize {
  let old = headerOf(oldPtr);
  let oldSize = <usize>old.rtSize;
  if (oldPtr < __heap_base) {
    // Static data is not TLSF's to resize: copy it to the heap.
    let newPtr = __new(size, old.rtId);
    memory.copy(newPtr, oldPtr, min(size, oldSize));
    return newPtr;
  }
  if (size > OBJECT_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  if (RTRACE) total -= blockSize(old);
  let newPtr = __realloc(oldPtr - OBJECT_OVERHEAD, OBJECT_OVERHEAD + size) + OBJECT_OVERHEAD;
  let object = headerOf(newPtr);
  object.rtSize = <u32>size;
  relink(object);
  if (RTRACE) total += blockSize(object);
  if (size > oldSize) memory.fill(newPtr + oldSize, 0, size - oldSize);
  return newPtr;
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
  if (RTRACE) if (!onvisit(object)) return;
  if (!isLinked(object) || flagsOf(object) == unreachedParity) {
    unlink(object);
    append(reached, object, unreachedParity ^ MARKED_PARITY);
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

/** Visits the members of every object on `ring`, including those appended meanwhile. */
function visitMembersOfRing(ring: OBJECT): void {
  let object = nextOf(ring);
  while (object != ring) {
    __visit_members(changetype<usize>(object) + TOTAL_OVERHEAD, 0);
    object = nextOf(object);
  }
}

// @ts-ignore: decorator
@global @unsafe
export function __collect(): void {
  if (!ready) setUp();
  // Mark: what globals and pinned objects reach moves to `reached`, which is walked as it grows.
  __visit_globals(0);
  visitMembersOfRing(pinned);
  visitMembersOfRing(reached);
  // Sweep: what is left unreached is garbage.
  let object = nextOf(unreached);
  while (object != unreached) {
    let next = nextOf(object);
    let ptr = changetype<usize>(object);
    if (ptr < __heap_base) {
      object.gcInfo = 0; // static data: unlinked until reached again
      object.gcInfo2 = 0;
    } else {
      if (isDefined(__finalize)) __finalize(ptr + TOTAL_OVERHEAD);
      if (RTRACE) total -= blockSize(object);
      giveBlock(ptr + BLOCK_OVERHEAD);
    }
    object = next;
  }
  // The reached objects are the unreached ones of the next cycle, under the other parity.
  clearRing(unreached);
  let swap = unreached;
  unreached = reached;
  reached = swap;
  unreachedParity ^= MARKED_PARITY;
  if (RTRACE) oncollect(total);
}
