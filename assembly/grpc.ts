// gRPC callouts (ABI.md §5.9, §4.6): unary calls and streams to an Envoy cluster,
// answered on the context that made them (as HTTP callouts are, see callouts.ts), and the
// gRPC length-prefixed framing for gRPC bodies seen in HTTP streams. Messages are
// serialized protobuf; protobuf.ts builds and reads them.
import { proxy_grpc_call, proxy_grpc_cancel, proxy_grpc_close, proxy_grpc_send, proxy_grpc_stream } from "./abi/imports-callouts";
import { CALLOUTS, requireLinked } from "./abi/linked";
import { EXTRA_OUT } from "./abi/memory";
import { record } from "./abi/status";
import { toBytes } from "./bytes";
import { addPending, enter, GRPC_CALL, GRPC_STREAM, ignored, pendingContext, readStatus, takePending } from "./callouts";
import { CalloutReceiver } from "./callout-receiver";
import { GrpcCallResponse } from "./callout-responses";
import { Header } from "./headers";
import { encodeHeaders } from "./pairs";
import { ProtoWriter } from "./protobuf";
import { Utf8Cache, utf8Bytes } from "./utf8-cache";
import { GrpcStatus, WasmResult } from "./types";

// Where deep imports ("proxy-wasm-as/assembly/grpc") found them before.
export { GrpcCallResponse, grpcInitialMetadata, grpcMessage, grpcTrailingMetadata } from "./callout-responses";

/**
 * Envoy's GrpcService { envoy_grpc { cluster_name } }: sent instead of the bare name, which
 * Envoy first tries to parse as a GrpcService (a name like "my_cluster" parses, as an empty
 * service, and the call would fail with BadArgument).
 */
// The GrpcService message naming the cluster (envoy_grpc.cluster_name). A plugin calls the
// same configured cluster on every request: made once while the string is the same one.
// @ts-ignore: decorator
@lazy const services = new Utf8Cache();

function grpcService(cluster: string): ArrayBuffer {
  const known = services.find(cluster);
  return known !== null ? known : services.keep(cluster, new ProtoWriter().message(1, new ProtoWriter().string(1, cluster)).finish());
}

/**
 * Unary call `service`/`method` on `cluster`; the answer reaches `context.onGrpcCallResponse`.
 * Returns the token, or 0 (see `lastResult()`: InternalFailure when Envoy could not start it,
 * e.g. an unknown cluster; Unimplemented without the callout callbacks exported).
 */
export function dispatchGrpcCall<T>(
  context: CalloutReceiver, cluster: string, service: string, method: string, message: T,
  initialMetadata: Array<Header>, timeoutMs: u32,
): u32 {
  if (!requireLinked(CALLOUTS, "dispatchGrpcCall")) {
    record(WasmResult.Unimplemented);
    return 0;
  }
  const target = grpcService(cluster);
  const serviceBytes = utf8Bytes(service);
  const methodBytes = utf8Bytes(method);
  const metadata = encodeHeaders(initialMetadata);
  const messageBytes = toBytes<T>(message);
  const result = record(proxy_grpc_call(
    changetype<usize>(target), target.byteLength,
    changetype<usize>(serviceBytes), serviceBytes.byteLength,
    changetype<usize>(methodBytes), methodBytes.byteLength,
    changetype<usize>(metadata), metadata.byteLength,
    changetype<usize>(messageBytes), messageBytes.byteLength,
    timeoutMs, EXTRA_OUT,
  ));
  if (result != WasmResult.Ok) return 0;
  const token = load<u32>(EXTRA_OUT);
  addPending(token, context, GRPC_CALL);
  return token;
}

/** Opens a stream; its events reach `context.onGrpcStream*`. Returns the token, or 0 (see `lastResult()`). */
export function openGrpcStream(context: CalloutReceiver, cluster: string, service: string, method: string, initialMetadata: Array<Header>): u32 {
  if (!requireLinked(CALLOUTS, "openGrpcStream")) {
    record(WasmResult.Unimplemented);
    return 0;
  }
  const target = grpcService(cluster);
  const serviceBytes = utf8Bytes(service);
  const methodBytes = utf8Bytes(method);
  const metadata = encodeHeaders(initialMetadata);
  const result = record(proxy_grpc_stream(
    changetype<usize>(target), target.byteLength,
    changetype<usize>(serviceBytes), serviceBytes.byteLength,
    changetype<usize>(methodBytes), methodBytes.byteLength,
    changetype<usize>(metadata), metadata.byteLength,
    EXTRA_OUT,
  ));
  if (result != WasmResult.Ok) return 0;
  const token = load<u32>(EXTRA_OUT);
  addPending(token, context, GRPC_STREAM);
  return token;
}

/** Sends a message on a stream; `endStream` half-closes it. NotFound for an unknown stream, BadArgument for a call token. */
export function grpcSend<T>(token: u32, message: T, endStream: bool): WasmResult {
  const bytes = toBytes<T>(message);
  return record(proxy_grpc_send(token, changetype<usize>(bytes), bytes.byteLength, endStream ? 1 : 0));
}

/** A call: cancelled (no answer follows). A stream: half-closed; the server may still send and close it. */
export function grpcClose(token: u32): WasmResult {
  const result = record(proxy_grpc_close(token));
  if (result == WasmResult.Ok) takePending(token, GRPC_CALL);
  return result;
}

/** Cancels a call or resets a stream: nothing more arrives for it. */
export function grpcCancel(token: u32): WasmResult {
  const result = record(proxy_grpc_cancel(token));
  if (result == WasmResult.Ok && takePending(token, GRPC_CALL) === null) takePending(token, GRPC_STREAM);
  return result;
}

// --- deliveries (from the callout exports) ---------------------------------------------

export function deliverGrpcInitialMetadata(rootContextId: u32, token: u32, headerCount: u32): void {
  const context = pendingContext(token, GRPC_STREAM);
  if (context === null) return ignored("gRPC stream", token);
  enter(context, rootContextId);
  context.onGrpcStreamInitialMetadata(token, headerCount);
}

/** A unary call's response (then the call is over), or a stream's next message. */
export function deliverGrpcMessage(rootContextId: u32, token: u32, messageSize: u32): void {
  let context = takePending(token, GRPC_CALL);
  if (context !== null) {
    enter(context, rootContextId);
    context.onGrpcCallResponse(new GrpcCallResponse(token, GrpcStatus.Ok, "", messageSize));
    return;
  }
  context = pendingContext(token, GRPC_STREAM);
  if (context === null) return ignored("gRPC message for", token);
  enter(context, rootContextId);
  context.onGrpcStreamMessage(token, messageSize);
}

export function deliverGrpcTrailingMetadata(rootContextId: u32, token: u32, trailerCount: u32): void {
  const context = pendingContext(token, GRPC_STREAM);
  if (context === null) return ignored("gRPC stream", token);
  enter(context, rootContextId);
  context.onGrpcStreamTrailingMetadata(token, trailerCount);
}

/** A unary call failed, or the server closed a stream; the message comes from proxy_get_status. */
export function deliverGrpcClose(rootContextId: u32, token: u32, status: u32): void {
  let context = takePending(token, GRPC_CALL);
  const isCall = context !== null;
  if (!isCall) context = takePending(token, GRPC_STREAM);
  if (context === null) return ignored("gRPC close for", token);
  const message = readStatus().message;
  enter(context, rootContextId);
  if (isCall) {
    context.onGrpcCallResponse(new GrpcCallResponse(token, <GrpcStatus><i32>status, message, 0));
  } else {
    context.onGrpcStreamClose(token, <GrpcStatus><i32>status, message);
    // Envoy keeps a stream the server closed until the plugin closes it too: release it now.
    proxy_grpc_close(token);
  }
}

// --- gRPC framing (application/grpc bodies) ----------------------------------------------

/** One length-prefixed message of a gRPC body. */
export class GrpcFrame {
  constructor(public compressed: bool, public message: ArrayBuffer) {}
}

/** A message as gRPC frames it on the wire: 1 flag byte (compressed), 4 bytes big-endian length, the message. */
export function encodeGrpcFrame<T>(message: T, compressed: bool = false): ArrayBuffer {
  const bytes = toBytes<T>(message);
  const out = new ArrayBuffer(5 + bytes.byteLength);
  const base = changetype<usize>(out);
  store<u8>(base, compressed ? 1 : 0);
  store<u32>(base + 1, bswap<u32>(<u32>bytes.byteLength));
  memory.copy(base + 5, changetype<usize>(bytes), <usize>bytes.byteLength);
  return out;
}

/** Splits a gRPC body into its messages; null when it ends inside a frame or a flag byte is not 0/1. */
export function decodeGrpcFrames(body: ArrayBuffer): Array<GrpcFrame> | null {
  const frames = new Array<GrpcFrame>();
  const base = changetype<usize>(body);
  const size = <usize>body.byteLength;
  let at: usize = 0;
  while (at < size) {
    if (size - at < 5) return null;
    const flag = load<u8>(base + at);
    if (flag > 1) return null;
    const length = <usize>bswap<u32>(load<u32>(base + at + 1));
    if (size - at - 5 < length) return null;
    frames.push(new GrpcFrame(flag == 1, body.slice(<i32>(at + 5), <i32>(at + 5 + length))));
    at += 5 + length;
  }
  return frames;
}
