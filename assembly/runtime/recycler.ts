// Small blocks come back to the next allocation of their size without passing through
// TLSF. A stream's context object (and most SDK objects) is one small block, and TLSF's
// search, split and coalescing cost about 300 instructions each way; a free list per size
// class costs a handful. TLSF still serves every other size and every first allocation.
// The lists hold at most HELD_LIMIT bytes, so memory still returns to TLSF after a burst.
import { BLOCK_OVERHEAD, AL_BITS, AL_MASK } from "~lib/rt/common";

/** Size classes 1..CLASSES: TLSF payloads of 12, 28, ... 16 * CLASSES - 4 bytes. */
// @ts-ignore: decorator
@inline const CLASSES: usize = 16;
// @ts-ignore: decorator
@inline const HELD_LIMIT: usize = 64 << 10;

/** The first free block of each class (index 0 unused); a free block's first word is the next. */
// @ts-ignore: decorator
@lazy const heads: usize = memory.data(<i32>((CLASSES + 1) * sizeof<usize>()));
// @ts-ignore: decorator
@lazy let held: usize = 0;

// @ts-ignore: decorator
@inline function classOf(payloadSize: usize): usize {
  return (payloadSize + BLOCK_OVERHEAD + AL_MASK) >> AL_BITS;
}

/** Where the first free block of `sizeClass` is kept. */
// @ts-ignore: decorator
@inline function headOf(sizeClass: usize): usize {
  return heads + (sizeClass << alignof<usize>());
}

/** A block with room for `size` bytes: its payload's address, as `__alloc` returns it. */
// @ts-ignore: decorator
@inline export function takeBlock(size: usize): usize {
  let sizeClass = classOf(size);
  if (sizeClass <= CLASSES) {
    let slot = headOf(sizeClass);
    let payload = load<usize>(slot);
    if (payload != 0) {
      store<usize>(slot, load<usize>(payload));
      held -= sizeClass << AL_BITS;
      return payload;
    }
  }
  return __alloc(size);
}

/** Gives back a block `takeBlock` (or `__alloc`) returned. */
export function giveBlock(payload: usize): void {
  // A TLSF payload (mmInfo without its two tag bits) is 16n - 4 bytes: exactly its class's size.
  let sizeClass = classOf(load<usize>(payload - BLOCK_OVERHEAD) & ~3);
  if (sizeClass <= CLASSES && held + (sizeClass << AL_BITS) <= HELD_LIMIT) {
    let slot = headOf(sizeClass);
    store<usize>(payload, load<usize>(slot));
    store<usize>(slot, payload);
    held += sizeClass << AL_BITS;
    return;
  }
  __free(payload);
}
