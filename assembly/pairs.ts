// The ABI's "pairs" serialization of header maps (ABI.md §6.1).
import { NO_BYTES } from "./bytes";


/** One header, trailer or metadata entry. Names are lower-case on the host side. */
export class Header {
  private nameBytes: ArrayBuffer | null = null;
  private valueBytes: ArrayBuffer | null = null;

  constructor(public name: string, public value: string) {}

  /** UTF-8 of the name, encoded once: a configured header is sent on every stream. */
  get encodedName(): ArrayBuffer {
    let bytes = this.nameBytes;
    if (bytes === null) this.nameBytes = bytes = String.UTF8.encode(this.name, false);
    return bytes;
  }

  get encodedValue(): ArrayBuffer {
    let bytes = this.valueBytes;
    if (bytes === null) this.valueBytes = bytes = String.UTF8.encode(this.value, false);
    return bytes;
  }
}

/**
 * Serializes headers for the host; an empty list is an empty buffer. One allocation: the
 * sizes are counted first and each name and value is encoded straight into its place
 * (a callout's or local reply's headers are built per request).
 */
export function encodeHeaders(headers: Array<Header>): ArrayBuffer {
  const count = headers.length;
  if (count == 0) return NO_BYTES;
  let size = 4 + 8 * count;
  for (let i = 0; i < count; i++) {
    const header = unchecked(headers[i]);
    size += String.UTF8.byteLength(header.name) + String.UTF8.byteLength(header.value) + 2;
  }
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, count);
  let lengths = base + 4;
  let data = base + 4 + 8 * <usize>count;
  for (let i = 0; i < count; i++) {
    const header = unchecked(headers[i]);
    const nameSize = String.UTF8.encodeUnsafe(changetype<usize>(header.name), header.name.length, data);
    data += nameSize;
    store<u8>(data++, 0);
    const valueSize = String.UTF8.encodeUnsafe(changetype<usize>(header.value), header.value.length, data);
    data += valueSize;
    store<u8>(data++, 0);
    store<u32>(lengths, <u32>nameSize);
    store<u32>(lengths + 4, <u32>valueSize);
    lengths += 8;
  }
  return out;
}

/** Parses what the host returns; a truncated or empty buffer yields the entries that fit. */
export function decodeHeaders(buffer: ArrayBuffer): Array<Header> {
  const size = <usize>buffer.byteLength;
  const result = new Array<Header>();
  if (size < 4) return result;
  const base = changetype<usize>(buffer);
  const count = <usize>load<u32>(base);
  if (<usize>4 + 8 * count > size) return result;
  let data = base + 4 + 8 * count;
  const end = base + size;
  for (let i: usize = 0; i < count; i++) {
    const nameSize = <usize>load<u32>(base + 4 + 8 * i);
    const valueSize = <usize>load<u32>(base + 8 + 8 * i);
    if (data + nameSize + 1 + valueSize + 1 > end) break;
    const name = String.UTF8.decodeUnsafe(data, nameSize);
    data += nameSize + 1;
    const value = String.UTF8.decodeUnsafe(data, valueSize);
    data += valueSize + 1;
    result.push(new Header(name, value));
  }
  return result;
}
