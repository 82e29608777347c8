// HTTP callouts (ABI.md §5.8, §8.4) and the token bookkeeping gRPC shares. Envoy issues
// every callout on the root context and answers it there; the SDK remembers which
// context dispatched each token, makes that context the effective one (so continueRequest,
// sendLocalResponse and the stream's headers act on its stream) and calls its handler.
// A context deleted before its answer loses its tokens (its gRPC calls and streams are
// cancelled); a late answer is then ignored, never a trap.
import { proxy_set_effective_context } from "./abi/imports";
import { proxy_get_status, proxy_grpc_cancel, proxy_http_call } from "./abi/imports-callouts";
import { CALLOUTS, requireLinked } from "./abi/linked";
import { clearOut, EXTRA_OUT, PTR_OUT, SIZE_OUT, takeString } from "./abi/memory";
import { record } from "./abi/status";
import { toBytes } from "./bytes";
import { CalloutReceiver } from "./callout-receiver";
import { HttpCallResponse } from "./callout-responses";
import { Header } from "./headers";
import { pairsAddress, pairsSize } from "./header-list";
import { log } from "./log";
import { utf8Bytes } from "./utf8-cache";
import { ForgetListener, listenForForgottenContexts } from "./forgotten-contexts";
import { LogLevel, WasmResult } from "./types";

// Where deep imports ("proxy-wasm-as/assembly/callouts") found it before.
export { HttpCallResponse };

// --- tokens in flight ----------------------------------------------------------------

export const HTTP_CALL: u8 = 0;
export const GRPC_CALL: u8 = 1;
export const GRPC_STREAM: u8 = 2;

class Pending {
  constructor(public context: CalloutReceiver, public kind: u8) {}
}

// @ts-ignore: decorator
@lazy const pending = new Map<u32, Pending>();
// How many tokens each context has in flight: deleting a context without any costs nothing.
// @ts-ignore: decorator
@lazy const pendingPerContext = new Map<u32, i32>();

/** Remembers that `context` waits for `token`. */
export function addPending(token: u32, context: CalloutReceiver, kind: u8): void {
  if (pending.size == 0) listenForForgottenContexts(forgetPending);
  pending.set(token, new Pending(context, kind));
  const id = context.contextId;
  pendingPerContext.set(id, pendingPerContext.has(id) ? pendingPerContext.get(id) + 1 : 1);
}

/** The context waiting for `token` (of this kind), or null. */
export function pendingContext(token: u32, kind: u8): CalloutReceiver | null {
  if (!pending.has(token)) return null;
  const entry = pending.get(token);
  return entry.kind == kind ? entry.context : null;
}

/** Forgets `token`; the context that waited for it, or null. */
export function takePending(token: u32, kind: u8): CalloutReceiver | null {
  const context = pendingContext(token, kind);
  if (context === null) return null;
  pending.delete(token);
  const id = context.contextId;
  const left = pendingPerContext.get(id) - 1;
  if (left > 0) pendingPerContext.set(id, left);
  else pendingPerContext.delete(id);
  return context;
}

/** A context was deleted: its tokens go; its gRPC calls and streams are cancelled, since nobody would hear them. */
class ForgetPending extends ForgetListener {
  forgotten(contextId: u32): void {
    forgetContextCallouts(contextId);
  }
}
// @ts-ignore: decorator
@lazy const forgetPending = new ForgetPending();

function forgetContextCallouts(contextId: u32): void {
  // Most contexts never made a call: no lookup for them while none is in flight.
  if (pendingPerContext.size == 0 || !pendingPerContext.has(contextId)) return;
  pendingPerContext.delete(contextId);
  const tokens = pending.keys();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const entry = pending.get(token);
    if (entry.context.contextId != contextId) continue;
    pending.delete(token);
    if (entry.kind != HTTP_CALL) proxy_grpc_cancel(token);
  }
}

/** Makes a stream context the effective one for its handler (the callback itself runs on the root). */
export function enter(context: CalloutReceiver, rootContextId: u32): void {
  if (context.contextId != rootContextId) record(proxy_set_effective_context(context.contextId));
}

/** An answer for a token nobody waits for: its context was deleted, or it was cancelled. */
export function ignored(what: string, token: u32): void {
  if (log.enabled(LogLevel.Debug)) log.debug(what + " " + token.toString() + ": no context waits for it any more; ignored");
}

// --- HTTP calls ----------------------------------------------------------------------


/**
 * Sends an HTTP request to an Envoy cluster. `headers` (an Array<Header> or a HeaderList)
 * must hold :method, :path and :authority (or host); `timeoutMs` 0 means none. Returns the call's token, or 0 when the
 * host refused (see `lastResult()`: BadArgument for an unknown cluster, missing headers or
 * a timeout ≥ 2^31; InternalFailure when Envoy could not start it; Unimplemented when the
 * plugin does not export the callout callbacks).
 */
export function dispatchHttpCall<T, H>(
  context: CalloutReceiver, cluster: string, headers: H, body: T, timeoutMs: u32, trailers: Array<Header>,
): u32 {
  if (!requireLinked(CALLOUTS, "dispatchHttpCall")) {
    record(WasmResult.Unimplemented);
    return 0;
  }
  // The cluster is mostly the same configured string on every request: encoded once.
  const clusterBytes = utf8Bytes(cluster);
  const headerAddress = pairsAddress<H>(headers);
  const headerSize = pairsSize();
  const bodyBytes = toBytes<T>(body);
  const trailerAddress = pairsAddress<Array<Header>>(trailers);
  const result = record(proxy_http_call(
    changetype<usize>(clusterBytes), clusterBytes.byteLength,
    headerAddress, headerSize,
    changetype<usize>(bodyBytes), bodyBytes.byteLength,
    trailerAddress, pairsSize(),
    timeoutMs, EXTRA_OUT,
  ));
  if (result != WasmResult.Ok) return 0;
  const token = load<u32>(EXTRA_OUT);
  addPending(token, context, HTTP_CALL);
  return token;
}

/** proxy_on_http_call_response: to the dispatching context, as the effective context. */
export function deliverHttpCallResponse(rootContextId: u32, token: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {
  const context = takePending(token, HTTP_CALL);
  if (context === null) return ignored("HTTP call", token);
  const response = new HttpCallResponse(token, headerCount, bodySize, trailerCount);
  if (response.failed) {
    const status = readStatus();
    response.failureStatus = <WasmResult>status.code;
    response.failureMessage = status.message;
  }
  enter(context, rootContextId);
  context.onHttpCallResponse(response);
}

/** The root's last callout status (proxy_get_status): Envoy keeps the code, and clears the message after each callout callback. */
export class CalloutStatus {
  constructor(public code: u32, public message: string) {}
}

export function readStatus(): CalloutStatus {
  clearOut();
  store<u32>(EXTRA_OUT, 0);
  if (record(proxy_get_status(EXTRA_OUT, PTR_OUT, SIZE_OUT)) != WasmResult.Ok) return new CalloutStatus(0, "");
  const message = takeString();
  return new CalloutStatus(load<u32>(EXTRA_OUT), message);
}
