// The collector keeps every object on one of three rings: circular, doubly linked lists
// threaded through the two header words the runtime reserves for it (gcInfo holds the next
// object with two flags in its low bits, gcInfo2 the previous one). Objects are 16-byte
// aligned blocks, so those bits are free. A ring's sentinel is a bare header in static memory.
import { OBJECT } from "~lib/rt/common";

/** Which half of the mark parity an object is in (flipped after every collection). */
// @ts-ignore: decorator
@inline export const MARKED_PARITY: u32 = 1;
/** Pinned from outside the module (as-pect, bindings): always reachable. */
// @ts-ignore: decorator
@inline export const PINNED: u32 = 2;
// @ts-ignore: decorator
@inline const FLAGS: u32 = MARKED_PARITY | PINNED;

/** Header words are 32 bits: the SDK targets wasm32, as proxy-wasm hosts do. */
// @ts-ignore: decorator
@inline function addressOf(object: OBJECT): u32 {
  return <u32>changetype<usize>(object);
}

// @ts-ignore: decorator
@inline export function flagsOf(object: OBJECT): u32 {
  return object.gcInfo & FLAGS;
}

// @ts-ignore: decorator
@inline export function nextOf(object: OBJECT): OBJECT {
  return changetype<OBJECT>(<usize>(object.gcInfo & ~FLAGS));
}

/** Static data objects start unlinked (both words 0) until the collector reaches them. */
// @ts-ignore: decorator
@inline export function isLinked(object: OBJECT): bool {
  return object.gcInfo2 != 0;
}

/** Makes `sentinel` an empty ring. */
export function clearRing(sentinel: OBJECT): void {
  sentinel.gcInfo = addressOf(sentinel);
  sentinel.gcInfo2 = addressOf(sentinel);
}

/** Appends `object` at the ring's end (so a walk in progress still reaches it). */
// @ts-ignore: decorator
@inline export function append(ring: OBJECT, object: OBJECT, flags: u32): void {
  let last = changetype<OBJECT>(<usize>ring.gcInfo2);
  object.gcInfo = addressOf(ring) | flags;
  object.gcInfo2 = addressOf(last);
  last.gcInfo = addressOf(object) | (last.gcInfo & FLAGS);
  ring.gcInfo2 = addressOf(object);
}

/** Takes `object` off whatever ring it is on (a no-op for unlinked static data). */
// @ts-ignore: decorator
@inline export function unlink(object: OBJECT): void {
  if (!isLinked(object)) return;
  let next = nextOf(object);
  let previous = changetype<OBJECT>(<usize>object.gcInfo2);
  next.gcInfo2 = addressOf(previous);
  previous.gcInfo = addressOf(next) | (previous.gcInfo & FLAGS);
}

/** The neighbours of an object that moved to `object` point to its new address. */
// @ts-ignore: decorator
@inline export function relink(object: OBJECT): void {
  let next = nextOf(object);
  let previous = changetype<OBJECT>(<usize>object.gcInfo2);
  next.gcInfo2 = addressOf(object);
  previous.gcInfo = addressOf(object) | (previous.gcInfo & FLAGS);
}
