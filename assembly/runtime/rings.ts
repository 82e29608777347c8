// The collector keeps every object on one of three rings: circular, doubly linked lists
// threaded through the two header words the runtime reserves for it (gcInfo holds the next
// object with two flags in its low bits, gcInfo2 the previous one). Objects are 16-byte
// aligned blocks, so those bits are free. A ring's sentinel is a bare header in static memory.
// Objects are header addresses here, and the words are read and written raw: the
// size-optimised build does not inline the header class's accessors, and these run for
// every allocation and every object a collection visits.
import { OBJECT } from "~lib/rt/common";

/** Which half of the mark parity an object is in (flipped after every collection). */
// @ts-ignore: decorator
@inline export const MARKED_PARITY: u32 = 1;
/** Pinned from outside the module (as-pect, bindings): always reachable. */
// @ts-ignore: decorator
@inline export const PINNED: u32 = 2;
// @ts-ignore: decorator
@inline const FLAGS: u32 = MARKED_PARITY | PINNED;
// @ts-ignore: decorator
@inline const NEXT: usize = offsetof<OBJECT>("gcInfo");
// @ts-ignore: decorator
@inline const PREVIOUS: usize = offsetof<OBJECT>("gcInfo2");

// @ts-ignore: decorator
@inline function nextWord(object: usize): u32 {
  return load<u32>(object, NEXT);
}

// @ts-ignore: decorator
@inline function previousOf(object: usize): usize {
  return <usize>load<u32>(object, PREVIOUS);
}

// @ts-ignore: decorator
@inline function setNext(object: usize, next: usize, flags: u32): void {
  store<u32>(object, <u32>next | flags, NEXT);
}

// @ts-ignore: decorator
@inline function setPrevious(object: usize, previous: usize): void {
  store<u32>(object, <u32>previous, PREVIOUS);
}

// @ts-ignore: decorator
@inline export function flagsOf(object: usize): u32 {
  return nextWord(object) & FLAGS;
}

// @ts-ignore: decorator
@inline export function nextOf(object: usize): usize {
  return <usize>(nextWord(object) & ~FLAGS);
}

/** Static data objects start unlinked (both words 0) until the collector reaches them. */
// @ts-ignore: decorator
@inline export function isLinked(object: usize): bool {
  return previousOf(object) != 0;
}

/** Makes `sentinel` an empty ring. */
export function clearRing(sentinel: usize): void {
  setNext(sentinel, sentinel, 0);
  setPrevious(sentinel, sentinel);
}

/** Leaves `object` unlinked, as static data starts. */
// @ts-ignore: decorator
@inline export function forget(object: usize): void {
  store<u64>(object, 0, NEXT); // both words
}

/** Appends `object` at the ring's end (so a walk in progress still reaches it). */
// @ts-ignore: decorator
@inline export function append(ring: usize, object: usize, flags: u32): void {
  let last = previousOf(ring);
  setNext(object, ring, flags);
  setPrevious(object, last);
  setNext(last, object, flagsOf(last));
  setPrevious(ring, object);
}

/** Takes `object` off whatever ring it is on (a no-op for unlinked static data). */
// @ts-ignore: decorator
@inline export function unlink(object: usize): void {
  let previous = previousOf(object);
  if (previous == 0) return;
  let next = nextOf(object);
  setPrevious(next, previous);
  setNext(previous, next, flagsOf(previous));
}

/** The neighbours of an object that moved to `object` point to its new address. */
// @ts-ignore: decorator
@inline export function relink(object: usize): void {
  setPrevious(nextOf(object), object);
  let previous = previousOf(object);
  setNext(previous, object, flagsOf(previous));
}
