// The UTF-8 of the strings a filter passes again and again: header names written as
// literals (":path", "authorization"), a cluster name from the configuration; or other bytes
// made from such a string (a cluster's GrpcService message). A string is immutable, and the
// cache holds a reference to each one it keeps, so the collector cannot free it and hand
// its address to another string: the address identifies the text. The slot is a hash of
// the address, with a second chance in the next slot: two lookups at most, where a scan of
// eight slots cost about 50 instructions a miss (basic-auth names six strings a request).
// A string made per request just takes a slot for a while.

import { fibonacciSlot } from "./hash";

/** A power of two: a filter names a handful of strings per request, so collisions are rare. */
const SLOTS: usize = 32;
/** 32 − log2(SLOTS): the hash's top bits are the slot. */
const SHIFT: u32 = 27;

export class Utf8Cache {
  private readonly texts: StaticArray<string | null> = new StaticArray<string | null>(<i32>SLOTS);
  private readonly bytes: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(<i32>SLOTS);
  /** Which of the two full slots the next eviction takes. */
  private evictNext: bool = true;

  /** The bytes kept for this very string (not an equal one), or null. */
  find(text: string): ArrayBuffer | null {
    const at = changetype<usize>(text);
    let slot = homeOf(at);
    if (this.textAt(slot) == at) return this.bytesAt(slot);
    slot = (slot + 1) & (SLOTS - 1);
    if (this.textAt(slot) == at) return this.bytesAt(slot);
    return null;
  }

  /**
   * Keeps `bytes` for `text` in its home slot or the next one, whichever is free, or else in
   * one of them in turn; returns `bytes`. Nothing else moves, so keeping one string never
   * pushes out another string from its own home (moving entries did, and a dozen names
   * cascaded into a miss every other lookup).
   */
  keep(text: string, bytes: ArrayBuffer): ArrayBuffer {
    const home = homeOf(changetype<usize>(text));
    const next = (home + 1) & (SLOTS - 1);
    let slot = home;
    if (this.textAt(home) != 0) {
      if (this.textAt(next) == 0) slot = next;
      else {
        slot = this.evictNext ? next : home;
        this.evictNext = !this.evictNext;
      }
    }
    unchecked((this.texts[<i32>slot] = text));
    unchecked((this.bytes[<i32>slot] = bytes));
    return bytes;
  }

  // Raw loads: the size-optimized build does not inline StaticArray's accessors, and this
  // runs for every header named by a string.
  // @ts-ignore: decorator
  @inline private textAt(slot: usize): usize {
    return load<usize>(changetype<usize>(this.texts) + (slot << alignof<usize>()));
  }

  // @ts-ignore: decorator
  @inline private bytesAt(slot: usize): ArrayBuffer | null {
    return changetype<ArrayBuffer | null>(load<usize>(changetype<usize>(this.bytes) + (slot << alignof<usize>())));
  }
}

// Objects start on 16-byte boundaries: without the four zero bits, literals 144 bytes
// apart shared one slot (four of a dozen header names did).
// @ts-ignore: decorator
@inline function homeOf(address: usize): usize {
  return <usize>fibonacciSlot(<u32>address >>> 4, SHIFT);
}

const cache = new Utf8Cache();

/** The UTF-8 of `text`, encoded once while the cache keeps it. */
export function utf8Bytes(text: string): ArrayBuffer {
  const known = cache.find(text);
  return known !== null ? known : cache.keep(text, String.UTF8.encode(text, false));
}
