// Headers a plugin builds on every request (a callout's, a local reply's), built in the
// pairs form the host reads, in buffers made once. An Array<Header> costs an object and
// two strings per header, and then an encoding of each into the pairs: most of what
// ext-authz spent per stream. A HeaderList made at configuration (or at the top level) is
// cleared and filled again instead; values can come straight from a ByteBuffer or from
// another map (`Headers#copyAll`), so no string is made.
import { ByteBuffer } from "./byte-buffer";
import { utf8Bytes } from "./utf8-cache";
import { encodeHeaders, Header } from "./pairs";

/** Header entries in order, for `dispatchHttpCall`, `sendLocalResponse` and `Headers#addAll`. */
export class HeaderList {
  /** (name size, value size) of each entry, as u32 pairs. */
  private sizes: ByteBuffer = new ByteBuffer(64);
  /** Each name and value, NUL-terminated. */
  private data: ByteBuffer;
  /** count, sizes, data: the pairs the host reads, joined when asked for. */
  private wire: ByteBuffer;
  private entries: i32 = 0;

  /** `capacity`: bytes of names and values it holds before it grows (it keeps what it grew to). */
  constructor(capacity: i32 = 256) {
    this.data = new ByteBuffer(capacity);
    this.wire = new ByteBuffer(capacity + 68);
  }

  /** How many entries it holds. */
  get count(): i32 { return this.entries; }

  /** Holds nothing (its buffers stay, for the next request). */
  clear(): void {
    this.entries = 0;
    this.sizes.clear();
    this.data.clear();
  }

  /**
   * Appends an entry. The name and the value are each a string, its UTF-8 bytes as an
   * ArrayBuffer (made once), or a ByteBuffer; a name given as a string is encoded once
   * while it is in use (utf8-cache.ts).
   * Names go to the host as given: lower-case, as Envoy's maps keep them.
   */
  add<N, V>(name: N, value: V): void {
    const nameStart = this.data.length;
    if (isString<N>()) this.data.append(utf8Bytes(changetype<string>(name)));
    else appendText<N>(this.data, name);
    const nameSize = this.data.length - nameStart;
    this.data.appendByte(0);
    const valueStart = this.data.length;
    appendText<V>(this.data, value);
    this.close(nameSize, this.data.length - valueStart);
  }

  /** @internal Appends an entry from bytes in memory (another map's pairs). */
  addBytes(name: usize, nameSize: usize, value: usize, valueSize: usize): void {
    const data = this.data;
    const at = data.length;
    data.resize(at + <i32>(nameSize + valueSize + 1));
    const start = data.dataStart + <usize>at;
    memory.copy(start, name, nameSize);
    store<u8>(start + nameSize, 0);
    memory.copy(start + nameSize + 1, value, valueSize);
    this.close(<i32>nameSize, <i32>valueSize);
  }

  /** @internal The (name size, value size) u32 pairs, one per entry. */
  get sizesStart(): usize { return this.sizes.dataStart; }

  /** @internal The names and values, each NUL-terminated, in order. */
  get dataStart(): usize { return this.data.dataStart; }

  /** @internal The pairs (ABI.md §6.1) the host reads: valid until the list changes. */
  encoded(): ByteBuffer {
    const wire = this.wire;
    wire.clear();
    if (this.entries == 0) return wire; // the empty map is the empty buffer
    wire.appendU32(<u32>this.entries);
    wire.appendFrom(this.sizes);
    wire.appendFrom(this.data);
    return wire;
  }

  private close(nameSize: i32, valueSize: i32): void {
    this.data.appendByte(0);
    this.sizes.appendU32(<u32>nameSize);
    this.sizes.appendU32(<u32>valueSize);
    this.entries++;
  }
}

function appendText<T>(into: ByteBuffer, text: T): void {
  if (isString<T>()) into.appendString(changetype<string>(text));
  else if (idof<T>() == idof<ArrayBuffer>()) into.append(changetype<ArrayBuffer>(text));
  else if (idof<T>() == idof<ByteBuffer>()) into.appendFrom(changetype<ByteBuffer>(text));
  else ERROR("a header's name and value are a string, an ArrayBuffer or a ByteBuffer");
}

let lastPairsSize: usize = 0;

/**
 * Where `headers` (an Array<Header> or a HeaderList) lie in the pairs form, for a host
 * call; `pairsSize()` is their size until the next call. An array is encoded into a new
 * buffer, which stays alive until the callback returns (the collector runs only between
 * callbacks).
 */
export function pairsAddress<H>(headers: H): usize {
  if (changetype<usize>(headers) == 0) {
    lastPairsSize = 0; // left out: no headers
    return 0;
  }
  if (idof<H>() == idof<HeaderList>()) {
    const wire = changetype<HeaderList>(headers).encoded();
    lastPairsSize = <usize>wire.length;
    return wire.dataStart;
  } else if (idof<H>() == idof<Array<Header>>()) {
    const bytes = encodeHeaders(changetype<Array<Header>>(headers));
    lastPairsSize = <usize>bytes.byteLength;
    return changetype<usize>(bytes);
  } else if (idof<H>() == idof<Array<usize>>() || idof<H>() == idof<Array<i32>>()) {
    // A bare `[]` has no element type to go by: asc types it as an array of numbers. No headers.
    assert(changetype<Array<usize>>(headers).length == 0, "headers are Header objects, not numbers");
    lastPairsSize = 0;
    return 0;
  } else {
    ERROR("headers are an Array<Header> or a HeaderList");
    return 0;
  }
}

export function pairsSize(): usize {
  return lastPairsSize;
}
