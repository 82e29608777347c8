// Protocol Buffers wire format, enough to build and read simple messages by hand (gRPC
// callout requests and responses are serialized protobuf). Fields are written in call
// order; the reader walks fields one by one and skips what it is not asked for. No
// schema, no reflection: a few hundred bytes of code, linked only when used.
import { toBytes } from "./bytes";

/** The wire type in a field's tag. Groups (3, 4) are deprecated: the reader skips them. */
export enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

/** Builds one message; nested messages are separate writers passed to `message`. */
export class ProtoWriter {
  private data: Uint8Array = new Uint8Array(32);
  private size: i32 = 0;

  /** uint32, uint64, int64 (two's complement) and enum values. */
  uint64(field: u32, value: u64): ProtoWriter {
    this.tag(field, WireType.Varint);
    this.rawVarint(value);
    return this;
  }

  uint32(field: u32, value: u32): ProtoWriter {
    return this.uint64(field, <u64>value);
  }

  /** int32: a negative value is sign-extended to 10 bytes, as protobuf requires. */
  int32(field: u32, value: i32): ProtoWriter {
    return this.uint64(field, <u64><i64>value);
  }

  int64(field: u32, value: i64): ProtoWriter {
    return this.uint64(field, <u64>value);
  }

  /** sint32 / sint64: zigzag, so small negative numbers stay short. */
  sint32(field: u32, value: i32): ProtoWriter {
    return this.uint64(field, <u64>(<u32>((value << 1) ^ (value >> 31))));
  }

  sint64(field: u32, value: i64): ProtoWriter {
    return this.uint64(field, <u64>((value << 1) ^ (value >> 63)));
  }

  bool(field: u32, value: bool): ProtoWriter {
    return this.uint64(field, value ? 1 : 0);
  }

  fixed32(field: u32, value: u32): ProtoWriter {
    this.tag(field, WireType.Fixed32);
    this.reserve(4);
    store<u32>(this.end(), value);
    this.size += 4;
    return this;
  }

  fixed64(field: u32, value: u64): ProtoWriter {
    this.tag(field, WireType.Fixed64);
    this.reserve(8);
    store<u64>(this.end(), value);
    this.size += 8;
    return this;
  }

  float(field: u32, value: f32): ProtoWriter {
    return this.fixed32(field, reinterpret<u32>(value));
  }

  double(field: u32, value: f64): ProtoWriter {
    return this.fixed64(field, reinterpret<u64>(value));
  }

  /** A string field (UTF-8), encoded straight into the message. */
  string(field: u32, value: string): ProtoWriter {
    const size = String.UTF8.byteLength(value);
    this.tag(field, WireType.LengthDelimited);
    this.rawVarint(<u64>size);
    this.reserve(size);
    String.UTF8.encodeUnsafe(changetype<usize>(value), value.length, this.end());
    this.size += size;
    return this;
  }

  /** A bytes field: a string, ArrayBuffer or Uint8Array. */
  bytes<T>(field: u32, value: T): ProtoWriter {
    return this.raw(field, toBytes<T>(value));
  }

  /** An embedded message, copied in (the writer can be cleared and filled again for the next one). */
  message(field: u32, value: ProtoWriter): ProtoWriter {
    // Into itself: a copy first, as growing the buffer would move what is being copied.
    if (value === this) return this.raw(field, value.finish());
    return this.rawAt(field, value.data.dataStart, value.size);
  }

  /** Empties the writer, keeping its buffer: one writer per nested message type serves a whole request, or every request. */
  clear(): ProtoWriter {
    this.size = 0;
    return this;
  }

  /** Bytes written so far. */
  get length(): i32 {
    return this.size;
  }

  /** The serialized message. The writer can go on writing. */
  finish(): ArrayBuffer {
    const out = new ArrayBuffer(this.size);
    memory.copy(changetype<usize>(out), this.data.dataStart, <usize>this.size);
    return out;
  }

  private raw(field: u32, value: ArrayBuffer): ProtoWriter {
    return this.rawAt(field, changetype<usize>(value), value.byteLength);
  }

  private rawAt(field: u32, start: usize, size: i32): ProtoWriter {
    this.tag(field, WireType.LengthDelimited);
    this.rawVarint(<u64>size);
    this.reserve(size);
    memory.copy(this.end(), start, <usize>size);
    this.size += size;
    return this;
  }

  private tag(field: u32, wireType: WireType): void {
    this.rawVarint((<u64>field << 3) | <u64>wireType);
  }

  private rawVarint(value: u64): void {
    this.reserve(10);
    let at = this.end();
    while (value >= 0x80) {
      store<u8>(at++, <u8>(value & 0x7f) | 0x80);
      value >>= 7;
    }
    store<u8>(at++, <u8>value);
    this.size = <i32>(at - this.data.dataStart);
  }

  private end(): usize {
    return this.data.dataStart + <usize>this.size;
  }

  private reserve(extra: i32): void {
    if (this.size + extra <= this.data.length) return;
    let capacity = this.data.length * 2;
    while (capacity < this.size + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    memory.copy(grown.dataStart, this.data.dataStart, <usize>this.size);
    this.data = grown;
  }
}

/**
 * Reads one message field by field:
 *   const r = new ProtoReader(bytes);
 *   while (r.next()) { if (r.field == 1) name = r.string(); else if (r.field == 2) id = r.uint64(); }
 *   if (r.error) ... // truncated or malformed input
 * A field whose value is not read is skipped by the next `next()`. A value read with the
 * wrong wire type, or past the end, sets `error` and returns 0 / empty.
 */
export class ProtoReader {
  /** The current field's number and wire type (after `next()` returned true). */
  field: u32 = 0;
  wireType: WireType = WireType.Varint;
  /** The input was malformed (bad varint, length past the end, wrong wire type, unknown wire type). */
  error: bool = false;
  private position: i32 = 0;
  private valuePending: bool = false;
  private readonly data: Uint8Array;

  constructor(data: ArrayBuffer) {
    this.data = Uint8Array.wrap(data);
  }

  /** Moves to the next field; false at the end of the message or on malformed input. */
  next(): bool {
    if (this.valuePending) this.skip();
    if (this.error || this.position >= this.data.length) return false;
    const tag = this.rawVarint();
    if (this.error) return false;
    const wireType = <u32>(tag & 7);
    const field = <u32>(tag >> 3);
    if (field == 0 || wireType > 5 || tag >> 32 != 0) return this.fail();
    this.field = field;
    this.wireType = <WireType>wireType;
    this.valuePending = true;
    return true;
  }

  uint64(): u64 {
    return this.expect(WireType.Varint) ? this.rawVarint() : 0;
  }

  uint32(): u32 {
    return <u32>this.uint64();
  }

  int32(): i32 {
    return <i32>this.uint64();
  }

  int64(): i64 {
    return <i64>this.uint64();
  }

  sint32(): i32 {
    const n = <u32>this.uint64();
    return <i32>(n >>> 1) ^ -<i32>(n & 1);
  }

  sint64(): i64 {
    const n = this.uint64();
    return <i64>(n >>> 1) ^ -<i64>(n & 1);
  }

  bool(): bool {
    return this.uint64() != 0;
  }

  fixed32(): u32 {
    if (!this.expect(WireType.Fixed32) || !this.has(4)) return 0;
    const value = load<u32>(this.data.dataStart + <usize>this.position);
    this.position += 4;
    return value;
  }

  fixed64(): u64 {
    if (!this.expect(WireType.Fixed64) || !this.has(8)) return 0;
    const value = load<u64>(this.data.dataStart + <usize>this.position);
    this.position += 8;
    return value;
  }

  float(): f32 {
    return reinterpret<f32>(this.fixed32());
  }

  double(): f64 {
    return reinterpret<f64>(this.fixed64());
  }

  /** A bytes (or string, or embedded message) field's raw bytes. */
  bytes(): ArrayBuffer {
    if (!this.expect(WireType.LengthDelimited)) return new ArrayBuffer(0);
    const length = this.rawVarint();
    if (this.error || length > <u64>(this.data.length - this.position)) {
      this.fail();
      return new ArrayBuffer(0);
    }
    const start = this.position;
    this.position += <i32>length;
    return this.data.buffer.slice(start, this.position);
  }

  string(): string {
    return String.UTF8.decode(this.bytes());
  }

  /** An embedded message, as a reader of its own. */
  message(): ProtoReader {
    return new ProtoReader(this.bytes());
  }

  /** Skips the current field's value (what `next()` does for a value left unread). */
  skip(): void {
    this.valuePending = false;
    switch (this.wireType) {
      case WireType.Varint: this.rawVarint(); break;
      case WireType.Fixed64: if (this.has(8)) this.position += 8; break;
      case WireType.Fixed32: if (this.has(4)) this.position += 4; break;
      case WireType.LengthDelimited: {
        const length = this.rawVarint();
        if (this.error || length > <u64>(this.data.length - this.position)) this.fail();
        else this.position += <i32>length;
        break;
      }
      default: break; // group markers carry no value
    }
  }

  private expect(wireType: WireType): bool {
    if (!this.valuePending || this.wireType != wireType) return this.fail();
    this.valuePending = false;
    return true;
  }

  private has(bytes: i32): bool {
    return this.data.length - this.position >= bytes ? true : this.fail();
  }

  private rawVarint(): u64 {
    let result: u64 = 0;
    for (let shift: u64 = 0; shift < 70; shift += 7) {
      if (this.position >= this.data.length) {
        this.fail();
        return 0;
      }
      const b = <u64>this.data[this.position++];
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) return result;
    }
    this.fail();
    return 0;
  }

  private fail(): bool {
    this.error = true;
    this.valuePending = false;
    return false;
  }
}
