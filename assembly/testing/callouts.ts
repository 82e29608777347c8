// The spec side of the callout and clock controls in aspect/host.mjs (proxy-wasm-as/aspect): answer
// HTTP and gRPC callouts as the upstream, drive gRPC streams as the server, move the
// virtual clock. Calls are found by the token the plugin got.
import { Header, encodeHeaders } from "../pairs";

// @ts-ignore: decorator
@external("pwas_test", "advance_time")
declare function hostAdvanceTime(ms: u32): void;
// @ts-ignore: decorator
@external("pwas_test", "current_time_ms")
declare function hostCurrentTimeMs(): i64;
// @ts-ignore: decorator
@external("pwas_test", "http_call_count")
declare function hostHttpCallCount(): u32;
// @ts-ignore: decorator
@external("pwas_test", "http_call_header")
declare function hostHttpCallHeader(token: u32, namePtr: usize, nameLen: usize, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "http_call_body")
declare function hostHttpCallBody(token: u32, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "respond_http_call")
declare function hostRespondHttpCall(token: u32, status: u32, bodyPtr: usize, bodyLen: usize, headersPtr: usize, headersLen: usize): void;
// @ts-ignore: decorator
@external("pwas_test", "fail_http_call")
declare function hostFailHttpCall(token: u32): void;
// @ts-ignore: decorator
@external("pwas_test", "grpc_call_count")
declare function hostGrpcCallCount(): u32;
// @ts-ignore: decorator
@external("pwas_test", "grpc_call_message")
declare function hostGrpcCallMessage(token: u32, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "respond_grpc_call")
declare function hostRespondGrpcCall(token: u32, ptr: usize, len: usize): void;
// @ts-ignore: decorator
@external("pwas_test", "fail_grpc_call")
declare function hostFailGrpcCall(token: u32, status: u32, messagePtr: usize, messageLen: usize): void;
// @ts-ignore: decorator
@external("pwas_test", "grpc_stream_headers")
declare function hostGrpcStreamHeaders(token: u32, pairsPtr: usize, pairsLen: usize): void;
// @ts-ignore: decorator
@external("pwas_test", "grpc_stream_message")
declare function hostGrpcStreamMessage(token: u32, ptr: usize, len: usize): void;
// @ts-ignore: decorator
@external("pwas_test", "grpc_stream_close")
declare function hostGrpcStreamClose(token: u32, status: u32, messagePtr: usize, messageLen: usize): void;
// @ts-ignore: decorator
@external("pwas_test", "grpc_stream_sent")
declare function hostGrpcStreamSent(token: u32, index: u32, ptrOut: usize, sizeOut: usize): i32;
// @ts-ignore: decorator
@external("pwas_test", "grpc_stream_state")
declare function hostGrpcStreamState(token: u32): u32;
// @ts-ignore: decorator
@external("pwas_test", "callouts_in_flight")
declare function hostCalloutsInFlight(): u32;

const OUT = memory.data(8, 8);

function takeBytes(length: i32): ArrayBuffer | null {
  if (length < 0) return null;
  const ptr = load<usize>(OUT);
  const out = new ArrayBuffer(length);
  if (length > 0) memory.copy(changetype<usize>(out), ptr, <usize>length);
  if (ptr != 0) heap.free(ptr);
  return out;
}

function takeText(length: i32): string | null {
  const bytes = takeBytes(length);
  return bytes !== null ? String.UTF8.decode(bytes) : null;
}

/** gRPC stream states as grpcStreamState reports them. */
export const STREAM_OPEN: u32 = 0;
export const STREAM_HALF_CLOSED: u32 = 1;
export const STREAM_CLOSED: u32 = 2;
export const STREAM_RESET: u32 = 3;

export namespace mockUpstream {
  export function advanceTime(ms: u32): void {
    hostAdvanceTime(ms);
  }

  export function currentTimeMs(): i64 {
    return hostCurrentTimeMs();
  }

  export function httpCallCount(): u32 {
    return hostHttpCallCount();
  }

  export function httpCallHeader(token: u32, name: string): string | null {
    const key = String.UTF8.encode(name, false);
    return takeText(hostHttpCallHeader(token, changetype<usize>(key), key.byteLength, OUT, OUT + 4));
  }

  export function httpCallBody(token: u32): string {
    const text = takeText(hostHttpCallBody(token, OUT, OUT + 4));
    return text !== null ? text : "";
  }

  export function respondHttpCall(token: u32, status: u32, body: string = "", headers: Array<Header> = []): void {
    const data = String.UTF8.encode(body, false);
    const pairs = encodeHeaders(headers);
    hostRespondHttpCall(token, status, changetype<usize>(data), data.byteLength, changetype<usize>(pairs), pairs.byteLength);
  }

  export function failHttpCall(token: u32): void {
    hostFailHttpCall(token);
  }

  export function grpcCallCount(): u32 {
    return hostGrpcCallCount();
  }

  /** The request message of unary call `token`. */
  export function grpcCallMessage(token: u32): ArrayBuffer {
    const bytes = takeBytes(hostGrpcCallMessage(token, OUT, OUT + 4));
    return bytes !== null ? bytes : new ArrayBuffer(0);
  }

  export function respondGrpcCall(token: u32, message: ArrayBuffer): void {
    hostRespondGrpcCall(token, changetype<usize>(message), message.byteLength);
  }

  export function failGrpcCall(token: u32, status: u32, message: string = ""): void {
    const text = String.UTF8.encode(message, false);
    hostFailGrpcCall(token, status, changetype<usize>(text), text.byteLength);
  }

  export function grpcStreamHeaders(token: u32, headers: Array<Header>): void {
    const pairs = encodeHeaders(headers);
    hostGrpcStreamHeaders(token, changetype<usize>(pairs), pairs.byteLength);
  }

  export function grpcStreamMessage(token: u32, message: string): void {
    const data = String.UTF8.encode(message, false);
    hostGrpcStreamMessage(token, changetype<usize>(data), data.byteLength);
  }

  export function grpcStreamClose(token: u32, status: u32, message: string = ""): void {
    const text = String.UTF8.encode(message, false);
    hostGrpcStreamClose(token, status, changetype<usize>(text), text.byteLength);
  }

  /** Message `index` the plugin sent on stream `token`, or null. */
  export function grpcStreamSent(token: u32, index: u32): string | null {
    return takeText(hostGrpcStreamSent(token, index, OUT, OUT + 4));
  }

  export function grpcStreamState(token: u32): u32 {
    return hostGrpcStreamState(token);
  }

  export function calloutsInFlight(): u32 {
    return hostCalloutsInFlight();
  }
}
