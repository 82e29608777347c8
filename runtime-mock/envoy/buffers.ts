// Byte buffers as the buffer host calls see them (ABI.md §3.4, §5.6). A context hands out
// a BufferView per buffer type; its `write` follows Envoy's `Buffer::copyFrom`.
import { WasmResult } from "../wasm/types.js";

/** What proxy_get_buffer_bytes / _status / proxy_set_buffer_bytes act on. */
export interface BufferView {
  readonly length: number;
  /** Bytes [start, start + length); the caller has already clamped the range. */
  read(start: number, length: number): Uint8Array;
  /** Envoy `Buffer::copyFrom(start, length, data)`. */
  write(start: number, length: number, data: Uint8Array): WasmResult;
}

const EMPTY = new Uint8Array(0);

/**
 * A growable byte string owned by the host (a body chunk or Envoy's buffered body).
 * Appends are kept as a list of chunks and joined only when read, so a body streamed in
 * many chunks costs linear, not quadratic, time. It takes ownership of the arrays it is
 * given (callers pass copies: test input and plugin memory are copied on the way in) and
 * never changes an array in place, so sharing one between buffers is safe.
 */
export class BodyBuffer {
  private chunks: Uint8Array[];
  private size: number;

  constructor(initial: Uint8Array = EMPTY) {
    this.chunks = initial.length > 0 ? [initial] : [];
    this.size = initial.length;
  }

  get length(): number {
    return this.size;
  }

  /** A copy of the contents. */
  get bytes(): Uint8Array {
    return this.joined().slice();
  }

  slice(start: number, end: number): Uint8Array {
    return this.joined().slice(start, end);
  }

  append(more: Uint8Array): void {
    if (more.length === 0) return;
    this.chunks.push(more);
    this.size += more.length;
  }

  prepend(more: Uint8Array): void {
    if (more.length === 0) return;
    this.chunks.unshift(more);
    this.size += more.length;
  }

  /** Drops up to `n` bytes from the front (Envoy drains everything when n exceeds the length). */
  drain(n: number): void {
    if (n >= this.size) {
      this.chunks = [];
      this.size = 0;
      return;
    }
    const rest = this.joined().slice(n);
    this.chunks = [rest];
    this.size = rest.length;
  }

  /** Moves the contents out (Envoy `Buffer::move`): the buffer is left empty. */
  take(): Uint8Array {
    const out = this.joined();
    this.chunks = [];
    this.size = 0;
    return out;
  }

  /** The contents as one array (joined once, then kept joined). */
  private joined(): Uint8Array {
    if (this.chunks.length === 0) return EMPTY;
    if (this.chunks.length > 1) this.chunks = [concat(...this.chunks)];
    return this.chunks[0];
  }
}

/**
 * The bytes a filter let through in one direction. A test reads them whole; a proxy that
 * passes them on as they come (pwas serve) reads each part once with `from` and asks that
 * they not be kept (`retain` false), so its memory is bounded by what is in flight, not by
 * the size of the body. Reading the new part costs its size, not the body's.
 */
export class ForwardedBody {
  private chunks: Uint8Array[] = [];
  private total = 0;
  /** Without `retain`, bytes before this offset have been handed out and dropped. */
  private dropped = 0;

  constructor(private readonly retain: boolean) {}

  /** How many bytes were forwarded in all (also those no longer kept). */
  get length(): number {
    return this.total;
  }

  /** A copy of the bytes kept: the whole body, or without `retain` what `from` has not handed out yet. */
  get bytes(): Uint8Array {
    if (this.chunks.length > 1) this.chunks = [concat(...this.chunks)];
    return this.chunks.length ? this.chunks[0].slice() : new Uint8Array(0);
  }

  append(more: Uint8Array): void {
    if (more.length === 0) return;
    this.chunks.push(more);
    this.total += more.length;
  }

  /** The bytes from `offset` to the end (without `retain`: no earlier than what was handed out before). */
  from(offset: number): Uint8Array {
    const start = Math.max(offset, this.dropped);
    let at = this.total;
    let first = this.chunks.length;
    while (first > 0 && at > start) at -= this.chunks[--first].length;
    const tail = this.chunks.slice(first);
    let out = tail.length === 1 ? tail[0] : concat(...tail);
    if (start > at) out = out.subarray(start - at);
    if (!this.retain) {
      this.chunks = [];
      this.dropped = this.total;
    }
    return out;
  }
}

/** A buffer type with nothing behind it (Envoy's `Buffer` set to a null instance): empty, writes refused. */
export const NO_BUFFER: BufferView = {
  length: 0,
  read: () => new Uint8Array(0),
  write: () => WasmResult.BadArgument,
};

/** Read-only bytes (VM and plugin configuration, callout bodies). */
export class ConstBuffer implements BufferView {
  constructor(private readonly data: Uint8Array) {}

  get length(): number {
    return this.data.length;
  }

  read(start: number, length: number): Uint8Array {
    return this.data.slice(start, start + length);
  }

  write(): WasmResult {
    return WasmResult.BadArgument;
  }
}

/** A live, mutable body (Envoy's `Buffer::Instance`). */
export class MutableBuffer implements BufferView {
  constructor(readonly body: BodyBuffer) {}

  get length(): number {
    return this.body.length;
  }

  read(start: number, length: number): Uint8Array {
    return this.body.slice(start, start + length);
  }

  /**
   * start 0: drain `length` bytes then prepend (so (0, len) replaces all, (0, 0) prepends);
   * start ≥ current length: append; anything in between: BadArgument.
   */
  write(start: number, length: number, data: Uint8Array): WasmResult {
    if (start === 0) {
      if (length !== 0) this.body.drain(length);
      this.body.prepend(data);
      return WasmResult.Ok;
    }
    if (start >= this.body.length) {
      this.body.append(data);
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
