// The spec side of the as-pect wiring (aspect/host.mjs (proxy-wasm-as/aspect)): start the plugin
// registered in the spec, drive HTTP streams through the mock host, read what it did.
import { Header, encodeHeaders } from "../pairs";
import { LogLevel } from "../types";

// @ts-ignore: decorator
@external("pwas_test", "start")
declare function hostStart(rootIdPtr: usize, rootIdLen: usize, configPtr: usize, configLen: usize, logLevel: u32): u32;
// @ts-ignore: decorator
@external("pwas_test", "open_connection")
declare function hostOpenConnection(): u32;
// @ts-ignore: decorator
@external("pwas_test", "new_connection_status")
declare function hostNewConnectionStatus(connection: u32): i32;
// @ts-ignore: decorator
@external("pwas_test", "send_data")
declare function hostSendData(connection: u32, direction: u32, ptr: usize, len: usize, endOfStream: u32): i32;
// @ts-ignore: decorator
@external("pwas_test", "close_downstream")
declare function hostCloseDownstream(connection: u32, peer: u32): void;
// @ts-ignore: decorator
@external("pwas_test", "close_upstream")
declare function hostCloseUpstream(connection: u32): void;
// @ts-ignore: decorator
@external("pwas_test", "connection_data")
declare function hostConnectionData(connection: u32, direction: u32, held: u32, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "close_type")
declare function hostCloseType(connection: u32): i32;
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
@external("pwas_test", "failure_report")
declare function hostFailureReport(ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "last_log")
declare function hostLastLog(level: u32, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "log_count")
declare function hostLogCount(level: u32): u32;
// @ts-ignore: decorator
@external("pwas_test", "clear_logs")
declare function hostClearLogs(): void;
// @ts-ignore: decorator
@external("pwas_test", "host_options")
declare function hostSetOptions(jsonPtr: usize, jsonLen: usize): void;
// @ts-ignore: decorator
@external("pwas_test", "run_posted")
declare function hostRunPosted(): void;
// @ts-ignore: decorator
@external("pwas_test", "shutdown")
declare function hostShutdown(): void;
// @ts-ignore: decorator
@external("pwas_test", "awaiting_done")
declare function hostAwaitingDone(): u32;
// @ts-ignore: decorator
@external("pwas_test", "enqueue")
declare function hostEnqueue(token: u32, ptr: usize, len: usize): u32;
// @ts-ignore: decorator
@external("pwas_test", "queue_depth")
declare function hostQueueDepth(token: u32): i32;
// @ts-ignore: decorator
@external("pwas_test", "shared_data")
declare function hostSharedData(keyPtr: usize, keyLen: usize, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "metric_value")
declare function hostMetricValue(namePtr: usize, nameLen: usize): i64;
// @ts-ignore: decorator
@external("pwas_test", "metric_samples")
declare function hostMetricSamples(namePtr: usize, nameLen: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "invoke_foreign_function")
declare function hostInvokeForeignFunction(functionId: u32, ptr: usize, len: usize): u32;

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
/** TCP directions: the client's bytes (towards the upstream) and the upstream's (towards the client). */
export const DOWNSTREAM: u32 = 0;
export const UPSTREAM: u32 = 1;

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

  /** A TCP connection through the plugin: on_context_create and on_new_connection run now. */
  export function openConnection(): u32 {
    return hostOpenConnection();
  }

  /** What Envoy made of on_new_connection (FilterStatus). */
  export function newConnectionStatus(connection: u32): i32 {
    return hostNewConnectionStatus(connection);
  }

  /** Bytes from the client (DOWNSTREAM) or the upstream (UPSTREAM); returns the FilterStatus. */
  export function sendData(connection: u32, direction: u32, data: string, endOfStream: bool = false): i32 {
    const bytes = String.UTF8.encode(data, false);
    return hostSendData(connection, direction, changetype<usize>(bytes), bytes.byteLength, endOfStream ? 1 : 0);
  }

  /** The client connection closes: PeerType.Remote (2) by the client, Local (1) by Envoy. */
  export function closeDownstream(connection: u32, peer: u32 = 2): void {
    hostCloseDownstream(connection, peer);
  }

  export function closeUpstream(connection: u32): void {
    hostCloseUpstream(connection);
  }

  /** The bytes that went past the filter in a direction. */
  export function forwardedData(connection: u32, direction: u32): string {
    const text = takeOut(hostConnectionData(connection, direction, 0, OUT, OUT + 4));
    return text !== null ? text : "";
  }

  /** The bytes Envoy holds for the filter (after StopIteration) in a direction. */
  export function heldData(connection: u32, direction: u32): string {
    const text = takeOut(hostConnectionData(connection, direction, 1, OUT, OUT + 4));
    return text !== null ? text : "";
  }

  /** The peer type of the client connection's close; -1 while it is open. */
  export function closeType(connection: u32): i32 {
    return hostCloseType(connection);
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

  /** The plugin's failure report (kind, callback, frames); null while it has not failed. */
  export function failureReport(): string | null {
    return takeOut(hostFailureReport(OUT, OUT + 4));
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

  /** HostOptions as JSON (vmId, properties, legacyPropertyNames…) for this and later starts. */
  export function hostOptions(json: string): void {
    const bytes = String.UTF8.encode(json, false);
    hostSetOptions(changetype<usize>(bytes), bytes.byteLength);
  }

  /** Runs the work the plugin posted, e.g. proxy_on_queue_ready for items enqueued. */
  export function runPosted(): void {
    hostRunPosted();
  }

  /** §8.5: streams end, then the root gets onDone (false parks it until `done()`). */
  export function shutdown(): void {
    hostShutdown();
  }

  export function awaitingDone(): bool {
    return hostAwaitingDone() == 1;
  }

  /** Enqueues as another component of the process would; the host's status. */
  export function enqueue(token: u32, data: string): u32 {
    const bytes = String.UTF8.encode(data, false);
    return hostEnqueue(token, changetype<usize>(bytes), bytes.byteLength);
  }

  /** Items waiting in a queue; -1 for an unknown token. */
  export function queueDepth(token: u32): i32 {
    return hostQueueDepth(token);
  }

  /** The shared-data value under `key` (this VM's vm_id) as the host holds it, or null. */
  export function sharedDataText(key: string): string | null {
    const bytes = String.UTF8.encode(key, false);
    return takeOut(hostSharedData(changetype<usize>(bytes), bytes.byteLength, OUT, OUT + 4));
  }

  /** A counter's or gauge's value by name; -1 when never defined. */
  export function metricValue(name: string): i64 {
    const bytes = String.UTF8.encode(name, false);
    return hostMetricValue(changetype<usize>(bytes), bytes.byteLength);
  }

  /** A histogram's number of samples; -1 when never defined. */
  export function metricSamples(name: string): i32 {
    const bytes = String.UTF8.encode(name, false);
    return hostMetricSamples(changetype<usize>(bytes), bytes.byteLength);
  }

  /** The host calls the plugin's onForeignFunction; false when it was not called. */
  export function invokeForeignFunction(functionId: u32, args: string): bool {
    const bytes = String.UTF8.encode(args, false);
    return hostInvokeForeignFunction(functionId, changetype<usize>(bytes), bytes.byteLength) == 1;
  }
}
