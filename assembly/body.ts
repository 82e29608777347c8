// Bodies and other host buffers (request/response body, configuration, callout body).
import { proxy_get_buffer_bytes, proxy_get_buffer_status, proxy_set_buffer_bytes } from "./abi/imports";
import { clearOut, EXTRA_OUT, PTR_OUT, SIZE_OUT, takeBytes } from "./abi/memory";
import { record } from "./abi/status";
import { toBytes } from "./bytes";
import { BufferType, WasmResult } from "./types";

const ALL: u32 = u32.MAX_VALUE;

/**
 * A host buffer. During a body callback it holds the current chunk, or the whole body
 * buffered so far when an earlier body callback returned StopIterationAndBuffer.
 * Writes follow Envoy: replace, append and prepend (BadArgument outside the callback).
 */
export class Body {
  constructor(public readonly bufferType: BufferType) {}

  /** Size in bytes now (0 when unavailable; see `lastResult()`). */
  size(): u32 {
    const result = record(proxy_get_buffer_status(this.bufferType, SIZE_OUT, EXTRA_OUT));
    return result == WasmResult.Ok ? load<u32>(SIZE_OUT) : 0;
  }

  /** Bytes [start, start + maxSize); the whole buffer by default. Empty when unavailable. */
  bytes(start: u32 = 0, maxSize: u32 = ALL): ArrayBuffer {
    clearOut();
    const result = record(proxy_get_buffer_bytes(this.bufferType, start, maxSize, PTR_OUT, SIZE_OUT));
    if (result != WasmResult.Ok) return new ArrayBuffer(0);
    return takeBytes();
  }

  /** The buffer as UTF-8 text. */
  text(start: u32 = 0, maxSize: u32 = ALL): string {
    return String.UTF8.decode(this.bytes(start, maxSize));
  }

  /** Replaces the whole buffer with a string, ArrayBuffer or Uint8Array. */
  replace<T>(data: T): WasmResult {
    return this.write(0, ALL, toBytes<T>(data));
  }

  /** Appends to the buffer. */
  append<T>(data: T): WasmResult {
    return this.write(ALL, 0, toBytes<T>(data));
  }

  /** Inserts at the front of the buffer. */
  prepend<T>(data: T): WasmResult {
    return this.write(0, 0, toBytes<T>(data));
  }

  private write(start: u32, size: u32, data: ArrayBuffer): WasmResult {
    return record(proxy_set_buffer_bytes(this.bufferType, start, size, changetype<usize>(data), data.byteLength));
  }
}

export const requestBody = new Body(BufferType.HttpRequestBody);
export const responseBody = new Body(BufferType.HttpResponseBody);
// Callout data: built only in plugins that read it.
// @ts-ignore: decorator
@lazy export const httpCallResponseBody = new Body(BufferType.HttpCallResponseBody);

// TCP connection data (ABI.md §4.5): built only in plugins with a TcpContext.
/**
 * The client's bytes on their way upstream (buffer 2). Readable and writable during
 * onDownstreamData and for as long as the filter holds them after StopIteration; elsewhere
 * empty (size 0, writes BadArgument).
 */
// @ts-ignore: decorator
@lazy export const downstreamData = new Body(BufferType.DownstreamData);

/** The upstream's bytes on their way to the client (buffer 3); the same rules as `downstreamData`. */
// @ts-ignore: decorator
@lazy export const upstreamData = new Body(BufferType.UpstreamData);
