// The spec side of the as-pect wiring (test/support/aspect-host.mjs): start the plugin
// registered in the spec, drive HTTP streams through the mock host, read what it did.
import { Header, encodeHeaders } from "../../pairs";
import { LogLevel } from "../../types";

// @ts-ignore: decorator
@external("pwas_test", "start")
declare function hostStart(rootIdPtr: usize, rootIdLen: usize, configPtr: usize, configLen: usize, logLevel: u32): u32;
// @ts-ignore: decorator
@external("pwas_test", "open_stream")
declare function hostOpenStream(): u32;
// @ts-ignore: decorator
@external("pwas_test", "send_headers")
declare function hostSendHeaders(stream: u32, direction: u32, ptr: usize, len: usize, endOfStream: u32): i32;
// @ts-ignore: decorator
@external("pwas_test", "send_body")
declare function hostSendBody(stream: u32, direction: u32, ptr: usize, len: usize, endOfStream: u32): i32;
// @ts-ignore: decorator
@external("pwas_test", "send_trailers")
declare function hostSendTrailers(stream: u32, direction: u32, ptr: usize, len: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "end_stream")
declare function hostEndStream(stream: u32): void;
// @ts-ignore: decorator
@external("pwas_test", "forwarded_header")
declare function hostForwardedHeader(stream: u32, direction: u32, namePtr: usize, nameLen: usize, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "forwarded_body")
declare function hostForwardedBody(stream: u32, direction: u32, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "paused")
declare function hostPaused(stream: u32, direction: u32): u32;
// @ts-ignore: decorator
@external("pwas_test", "local_response_status")
declare function hostLocalResponseStatus(stream: u32): u32;
// @ts-ignore: decorator
@external("pwas_test", "local_response_body")
declare function hostLocalResponseBody(stream: u32, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "last_log")
declare function hostLastLog(level: u32, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "log_count")
declare function hostLogCount(level: u32): u32;
// @ts-ignore: decorator
@external("pwas_test", "clear_logs")
declare function hostClearLogs(): void;

const OUT = memory.data(16, 8);

function takeOut(length: i32): string | null {
  if (length < 0) return null;
  const ptr = load<usize>(OUT);
  const out = String.UTF8.decodeUnsafe(ptr, <usize>length);
  if (ptr != 0) heap.free(ptr);
  return out;
}

export const REQUEST: u32 = 0;
export const RESPONSE: u32 = 1;

export namespace mockHost {
  /** Starts the plugin registered in this spec module; false when it failed to start. */
  export function start(rootId: string = "", configuration: string = "", logLevel: LogLevel = LogLevel.Trace): bool {
    const id = String.UTF8.encode(rootId, false);
    const config = String.UTF8.encode(configuration, false);
    return hostStart(changetype<usize>(id), id.byteLength, changetype<usize>(config), config.byteLength, logLevel) == 1;
  }

  export function openStream(): u32 {
    return hostOpenStream();
  }

  export function sendHeaders(stream: u32, direction: u32, headers: Array<Header>, endOfStream: bool = false): i32 {
    const data = encodeHeaders(headers);
    return hostSendHeaders(stream, direction, changetype<usize>(data), data.byteLength, endOfStream ? 1 : 0);
  }

  export function sendBody(stream: u32, direction: u32, body: string, endOfStream: bool = false): i32 {
    const data = String.UTF8.encode(body, false);
    return hostSendBody(stream, direction, changetype<usize>(data), data.byteLength, endOfStream ? 1 : 0);
  }

  export function sendTrailers(stream: u32, direction: u32, trailers: Array<Header>): i32 {
    const data = encodeHeaders(trailers);
    return hostSendTrailers(stream, direction, changetype<usize>(data), data.byteLength);
  }

  export function end(stream: u32): void {
    hostEndStream(stream);
  }

  /** A header as the filter forwarded it (upstream for requests, downstream for responses). */
  export function forwardedHeader(stream: u32, direction: u32, name: string): string | null {
    const key = String.UTF8.encode(name, false);
    return takeOut(hostForwardedHeader(stream, direction, changetype<usize>(key), key.byteLength, OUT, OUT + 4));
  }

  export function forwardedBody(stream: u32, direction: u32): string {
    const text = takeOut(hostForwardedBody(stream, direction, OUT, OUT + 4));
    return text !== null ? text : "";
  }

  export function paused(stream: u32, direction: u32): bool {
    return hostPaused(stream, direction) == 1;
  }

  export function localResponseStatus(stream: u32): u32 {
    return hostLocalResponseStatus(stream);
  }

  export function localResponseBody(stream: u32): string {
    const text = takeOut(hostLocalResponseBody(stream, OUT, OUT + 4));
    return text !== null ? text : "";
  }

  export function lastLog(level: LogLevel): string | null {
    return takeOut(hostLastLog(level, OUT, OUT + 4));
  }

  export function logCount(level: LogLevel): u32 {
    return hostLogCount(level);
  }

  export function clearLogs(): void {
    hostClearLogs();
  }
}
