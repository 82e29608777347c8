// A reusable byte buffer for checks that run on every request. Reading a header into a
// string costs an allocation and a UTF-8 decode per read (and the collector's work later):
// most of what a filter like basic-auth spent per stream. A ByteBuffer made once (at
// configuration, or at the top level) holds the bytes as the host sent them and compares
// them in place, so a read costs a host call and a copy.

import { byteLengthOf } from "./bytes";

const DIGITS: usize = memory.data(20);

/** Bytes, read into in place (`Headers#readInto`) and compared without making strings. */
export class ByteBuffer {
  private storage: ArrayBuffer;
  private used: i32 = 0;

  constructor(capacity: i32 = 64) {
    this.storage = new ArrayBuffer(max(capacity, 16));
  }

  /** How many bytes it holds. */
  get length(): i32 { return this.used; }

  /** The address of the first byte, for loops with `load<u8>`: valid until the next write. */
  get dataStart(): usize { return changetype<usize>(this.storage); }

  /** Holds `length` bytes from now on; growing keeps the bytes it held and leaves the new ones unset (write them via `dataStart`). */
  resize(length: i32): void {
    if (length < 0) length = 0;
    if (length > byteLengthOf(this.storage)) {
      const grown = new ArrayBuffer(max(length, byteLengthOf(this.storage) * 2));
      memory.copy(changetype<usize>(grown), changetype<usize>(this.storage), <usize>this.used);
      this.storage = grown;
    }
    this.used = length;
  }

  /** Holds nothing (its storage stays, for the next write). */
  clear(): void {
    this.used = 0;
  }

  /** Appends bytes (UTF-8 of a string made once: `String.UTF8.encode(s)`). */
  append(bytes: ArrayBuffer): void {
    this.appendRaw(changetype<usize>(bytes), byteLengthOf(bytes));
  }

  /** Appends what `other` holds. */
  appendFrom(other: ByteBuffer): void {
    this.appendRaw(other.dataStart, other.length);
  }

  /** Appends the UTF-8 of `text`, encoded in place (no string or buffer is made). */
  appendString(text: string): void {
    const size = String.UTF8.byteLength(text);
    if (size == 0) return;
    const at = this.used;
    this.resize(at + size);
    String.UTF8.encodeUnsafe(changetype<usize>(text), text.length, this.dataStart + <usize>at);
  }

  /** Appends `value` as four bytes, little-endian (the ABI's sizes and counts). */
  appendU32(value: u32): void {
    const at = this.used;
    this.resize(at + 4);
    store<u32>(this.dataStart + <usize>at, value);
  }

  appendByte(byte: u8): void {
    const at = this.used;
    this.resize(at + 1);
    store<u8>(this.dataStart + <usize>at, byte);
  }

  /** Appends `value` in decimal digits. */
  appendDecimal(value: u64): void {
    // Written backwards into a static scratch (20 digits hold any u64), then copied once.
    let p = DIGITS + 20;
    do {
      store<u8>(--p, <u8>(0x30 + value % 10));
      value /= 10;
    } while (value > 0);
    this.appendRaw(p, <i32>(DIGITS + 20 - p));
  }

  /** The number the decimal digits from `start` make, up to the first other byte ("12 34" and "12x" are 12); 0 when there is no digit first; it wraps past 2^64. */
  parseDecimal(start: i32 = 0, end: i32 = -1): u64 {
    if (end < 0 || end > this.used) end = this.used;
    const p = this.dataStart;
    let value: u64 = 0;
    for (let i = max(start, 0); i < end; i++) {
      const digit = <u32>load<u8>(p + <usize>i) - 0x30;
      if (digit > 9) break;
      value = value * 10 + <u64>digit;
    }
    return value;
  }

  /** Keeps the first `length` bytes (no-op when it holds fewer). */
  truncate(length: i32): void {
    if (length >= 0 && length < this.used) this.used = length;
  }

  /** Now holds a copy of `size` bytes at `ptr`. */
  copyFrom(ptr: usize, size: i32): void {
    this.used = 0;
    this.appendRaw(ptr, size);
  }

  /** The byte at `index` (-1 outside). */
  byteAt(index: i32): i32 {
    return index >= 0 && index < this.used ? <i32>load<u8>(this.dataStart + <usize>index) : -1;
  }

  /** The first index of `byte` at or after `from`, or -1. */
  indexOf(byte: u8, from: i32 = 0): i32 {
    const start = this.dataStart;
    for (let i = max(from, 0); i < this.used; i++) {
      if (load<u8>(start + <usize>i) == byte) return i;
    }
    return -1;
  }

  /** Same bytes as `bytes` (UTF-8 of a string: `String.UTF8.encode(s)`, made once). */
  equals(bytes: ArrayBuffer): bool {
    return this.used == byteLengthOf(bytes) && this.matchesAt(0, bytes);
  }

  startsWith(bytes: ArrayBuffer): bool {
    return this.used >= byteLengthOf(bytes) && this.matchesAt(0, bytes);
  }

  endsWith(bytes: ArrayBuffer): bool {
    return this.used >= byteLengthOf(bytes) && this.matchesAt(this.used - byteLengthOf(bytes), bytes);
  }

  /** A copy of bytes `start` to `end` (default: all) as a string, UTF-8 decoded: for log lines and the rare path, not the hot one. */
  toString(start: i32 = 0, end: i32 = -1): string {
    if (end < 0 || end > this.used) end = this.used;
    start = max(start, 0);
    return start < end ? String.UTF8.decodeUnsafe(this.dataStart + <usize>start, <usize>(end - start)) : "";
  }

  /** A copy of the bytes. */
  toBytes(): ArrayBuffer {
    return this.storage.slice(0, this.used);
  }

  private appendRaw(ptr: usize, size: i32): void {
    if (size <= 0) return;
    const at = this.used;
    this.resize(at + size);
    memory.copy(this.dataStart + <usize>at, ptr, <usize>size);
  }

  private matchesAt(offset: i32, bytes: ArrayBuffer): bool {
    return sameBytes(this.dataStart + <usize>offset, changetype<usize>(bytes), <usize>byteLengthOf(bytes));
  }
}

/**
 * Byte equality, eight bytes at a time (wasm loads need no alignment). The last load
 * overlaps the one before it instead of a loop over the rest; below eight bytes, two
 * loads of 4 (or 2) bytes from each end cover any length. Header names and values are
 * short: a byte loop cost about 25 instructions a byte.
 */
export function sameBytes(a: usize, b: usize, n: usize): bool {
  if (n >= 8) {
    const last = n - 8;
    for (let i: usize = 0; i < last; i += 8) {
      if (load<u64>(a + i) != load<u64>(b + i)) return false;
    }
    return load<u64>(a + last) == load<u64>(b + last);
  }
  if (n >= 4) return load<u32>(a) == load<u32>(b) && load<u32>(a + n - 4) == load<u32>(b + n - 4);
  if (n >= 2) return load<u16>(a) == load<u16>(b) && load<u16>(a + n - 2) == load<u16>(b + n - 2);
  return n == 0 || load<u8>(a) == load<u8>(b);
}
