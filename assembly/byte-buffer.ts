// A reusable byte buffer for checks that run on every request. Reading a header into a
// string costs an allocation and a UTF-8 decode per read (and the collector's work later):
// most of what a filter like basic-auth spent per stream. A ByteBuffer made once (at
// configuration, or at the top level) holds the bytes as the host sent them and compares
// them in place, so a read costs a host call and a copy.

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
    if (length > this.storage.byteLength) {
      const grown = new ArrayBuffer(max(length, this.storage.byteLength * 2));
      memory.copy(changetype<usize>(grown), changetype<usize>(this.storage), <usize>this.used);
      this.storage = grown;
    }
    this.used = length;
  }

  /** Keeps the first `length` bytes (no-op when it holds fewer). */
  truncate(length: i32): void {
    if (length >= 0 && length < this.used) this.used = length;
  }

  /** Now holds a copy of `size` bytes at `ptr`. */
  copyFrom(ptr: usize, size: i32): void {
    this.used = 0;
    this.resize(size);
    if (size > 0) memory.copy(this.dataStart, ptr, <usize>size);
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
    return this.used == bytes.byteLength && this.matchesAt(0, bytes);
  }

  startsWith(bytes: ArrayBuffer): bool {
    return this.used >= bytes.byteLength && this.matchesAt(0, bytes);
  }

  endsWith(bytes: ArrayBuffer): bool {
    return this.used >= bytes.byteLength && this.matchesAt(this.used - bytes.byteLength, bytes);
  }

  /** A copy as a string (UTF-8 decoded): for log lines and the rare path, not the hot one. */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.dataStart, <usize>this.used);
  }

  /** A copy of the bytes. */
  toBytes(): ArrayBuffer {
    return this.storage.slice(0, this.used);
  }

  private matchesAt(offset: i32, bytes: ArrayBuffer): bool {
    return sameBytes(this.dataStart + <usize>offset, changetype<usize>(bytes), <usize>bytes.byteLength);
  }
}

/** Byte equality, four bytes at a time (wasm loads need no alignment). */
export function sameBytes(a: usize, b: usize, n: usize): bool {
  while (n >= 4) {
    if (load<u32>(a) != load<u32>(b)) return false;
    a += 4;
    b += 4;
    n -= 4;
  }
  while (n > 0) {
    if (load<u8>(a) != load<u8>(b)) return false;
    a++;
    b++;
    n--;
  }
  return true;
}
