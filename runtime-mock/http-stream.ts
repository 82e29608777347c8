// One HTTP stream through Envoy with this plugin as its (only) Wasm filter, between the
// downstream client and the upstream (ABI.md §3.3, §5.5–§5.7, §8.2; Envoy's filter manager
// and Wasm `Context`). The test plays the client (request) and the upstream (response);
// the stream records what the filter let through in each direction.
//
// Order of events inside one filter callback, as in cpp-host + Envoy: the plugin call; the
// result conversion (a local reply forces "stop"); a VM failure's fail-open/fail-closed
// handling; the actions the plugin deferred (continue, close, local reply — FIFO); and only
// then Envoy's filter manager applies the returned status. Teardown (on_log → on_done →
// on_delete) runs when the response's end of stream goes downstream or the stream resets.
import { emptyCost, type CostReport } from "./cost.js";
import { dataStatus, headersStatus, trailersStatus, type CallOutcome } from "./abi/callbacks.js";
import { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus } from "./abi/types.js";
import { BodyBuffer } from "./buffers.js";
import { HeaderMap, type HeaderInit } from "./headers.js";
import { Direction, type Side } from "./http/direction.js";
import { HttpFilterContext, type FilterCallbacks } from "./http/filter-context.js";
import { buildLocalReply, type LocalReplyRequest } from "./http/local-reply.js";
import { mergePropertyTrees } from "./options.js";
import type { PropertyTree, StreamFacts } from "./properties.js";
import type { RootContext } from "./root-context.js";
import type { PluginVm } from "./vm.js";

export interface HttpStreamOptions {
  /** Property overrides for this stream, merged over the host's. */
  properties?: PropertyTree;
  /** Downstream remote address, "ip:port". Default "127.0.0.1:50000". */
  sourceAddress?: string;
  /** Downstream local address, "ip:port". Default "127.0.0.1:8080". */
  destinationAddress?: string;
  /** "HTTP/1.0", "HTTP/1.1" (default), "HTTP/2", "HTTP/3". */
  protocol?: string;
  /**
   * Keep every forwarded body byte for `request.body` / `response.body` (default). A proxy
   * that passes the body on as it goes (with `bodyFrom`) sets false: each byte is then
   * dropped once `bodyFrom` handed it out, and memory stays bounded for bodies of any size.
   */
  retainForwardedBody?: boolean;
  /**
   * Body chunks given to `sendRequestBody` / `sendResponseBody` are copied (default), so a
   * test may reuse its arrays. A proxy that hands on arrays nobody changes sets false.
   */
  copyBodyInput?: boolean;
}

export interface HttpMessage {
  /** The live map, as the filter has shaped it (an empty map until received). */
  readonly headers: HeaderMap;
  readonly trailers: HeaderMap | undefined;
  /** Body bytes forwarded past the filter (upstream for the request, downstream for the response). */
  readonly body: Uint8Array;
  /** How many body bytes were forwarded (without copying them). */
  readonly bodyLength: number;
  /** The forwarded body from `offset` on: what a proxy still has to pass on (see `retainForwardedBody`). */
  bodyFrom(offset: number): Uint8Array;
  readonly bodyText: string;
  /** Body Envoy holds for the filter (buffering, or stopped). */
  readonly bufferedBody: Uint8Array;
  readonly headersForwarded: boolean;
  /** The trailers went past the filter. */
  readonly trailersForwarded: boolean;
  /** Iteration is stopped at this filter, waiting for a continue. */
  readonly paused: boolean;
  readonly endStreamForwarded: boolean;
}

export interface LocalResponse {
  /** The HTTP status the reply was asked for (a gRPC request gets :status 200 and grpc-status instead). */
  status: number;
  /** The body sent (empty for gRPC trailers-only replies and HEAD requests). */
  body: Uint8Array;
  bodyText: string;
  /** Headers as Envoy generated them, before any encoder callback (a copy: the same shape as `response.headers`). */
  headers: HeaderMap;
  details: string;
  /** The gRPC status asked for (0..16), if any. */
  grpcStatus?: number;
  /** "plugin": proxy_send_local_response; "envoy": 413/500 buffer limit, 503 after a VM failure. */
  generatedBy: "plugin" | "envoy";
}

/** How the filter exists on this stream: the plugin, Envoy's empty context of a failed VM (fail closed), or not at all (fail open). */
type FilterMode = "plugin" | "failedVm" | "absent";

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

const FAIL_STREAM_DETAILS = "wasm_fail_stream";
const GRPC_UNAVAILABLE = 14;

export class HttpStream {
  readonly contextId: number;
  /** What the plugin has cost on this stream, by callback (HostOptions.meterCost; all zero without it). */
  readonly cost: CostReport;
  private readonly mode: FilterMode;
  private readonly filter: HttpFilterContext;
  private readonly callbacksForFilter: FilterCallbacks;
  private requestView: HttpMessage | undefined;
  private responseView: HttpMessage | undefined;
  private readonly req: Direction;
  private readonly res: Direction;
  /** Which direction Envoy's filter manager is processing (filter_call_state_), innermost last. */
  private readonly phases: Side[] = [];
  private details: string | undefined;
  private resetReasonValue: string | undefined;
  private local: LocalResponse | undefined;
  private completedFlag = false;
  private failureReplySent = false;
  private readonly startTimeNs: bigint;
  private readonly startMonotonicNs: bigint;
  private endMonotonicNs: bigint | undefined;
  private readonly properties: PropertyTree;
  private readonly protocol: string;
  private readonly copyBodyInput: boolean;
  private readonly sourceAddress: string;
  private readonly destinationAddress: string;

  /** @internal Created by `Host.newHttpStream`. */
  constructor(
    private readonly vm: PluginVm,
    root: RootContext,
    private readonly connectionId: number,
    options: HttpStreamOptions = {},
    private readonly onComplete?: () => void,
  ) {
    this.mode = vm.failed ? (vm.settings.failOpen ? "absent" : "failedVm") : "plugin";
    this.req = new Direction("request", options.retainForwardedBody);
    this.res = new Direction("response", options.retainForwardedBody);
    this.properties = mergePropertyTrees(vm.settings.properties, options.properties);
    this.protocol = options.protocol ?? "HTTP/1.1";
    this.copyBodyInput = options.copyBodyInput ?? true;
    this.sourceAddress = options.sourceAddress ?? "127.0.0.1:50000";
    this.destinationAddress = options.destinationAddress ?? "127.0.0.1:8080";
    this.startTimeNs = vm.settings.clock.realtimeNs();
    this.startMonotonicNs = vm.settings.clock.monotonicNs();
    this.callbacksForFilter = this.makeFilterCallbacks();
    // A failed VM gives a stream an empty context that is never registered (Envoy: wasm == nullptr, id 0).
    this.contextId = this.mode === "plugin" ? vm.allocateContextId() : 0;
    this.cost = this.mode === "plugin" ? vm.costs.of(this.contextId) : emptyCost();
    this.filter = new HttpFilterContext(vm, this.contextId, root, this.callbacksForFilter);
    if (this.mode === "plugin") vm.registerContext(this.filter);
  }

  private bodyInput(chunk: string | Uint8Array): Uint8Array {
    if (typeof chunk === "string") return encoder.encode(chunk);
    return this.copyBodyInput ? chunk.slice() : chunk;
  }

  // --- the test's side (each frame is one dispatcher event: posted work runs after it) ---

  /** Request headers from the client. Returns what Envoy made of the plugin's answer. */
  sendRequestHeaders(headers: HeaderInit, endOfStream = false): FilterHeadersStatus {
    if (this.req.headersReceived) throw new Error("the request headers were already sent");
    this.req.headers = new HeaderMap("requestHeaders", headers);
    this.req.headersReceived = true;
    this.req.endStreamReceived = endOfStream;
    return this.vm.event(() => this.processHeaders(this.req, endOfStream));
  }

  /** A request body chunk. While the filter holds the request for all frames, Envoy buffers it (plugin not called). */
  sendRequestBody(chunk: string | Uint8Array, endOfStream = false): FilterDataStatus {
    this.assertCanSend(this.req, "request body");
    return this.vm.event(() => this.receiveData(this.req, this.bodyInput(chunk), endOfStream));
  }

  sendRequestTrailers(trailers: HeaderInit): FilterTrailersStatus {
    this.assertCanSend(this.req, "request trailers");
    return this.vm.event(() => this.receiveTrailers(this.req, new HeaderMap("requestTrailers", trailers)));
  }

  /** Response headers from the upstream. */
  sendResponseHeaders(headers: HeaderInit, endOfStream = false): FilterHeadersStatus {
    if (!this.req.headersReceived) throw new Error("send the request headers before the response");
    if (this.res.headersReceived) {
      if (this.completedFlag) return FilterHeadersStatus.StopAllIterationAndWatermark; // the stream is gone
      throw new Error(this.local ? "the response is a local reply: no upstream response can follow" : "the response headers were already sent");
    }
    if (this.completedFlag) return FilterHeadersStatus.StopAllIterationAndWatermark;
    this.res.headers = new HeaderMap("responseHeaders", headers);
    this.res.headersReceived = true;
    this.res.endStreamReceived = endOfStream;
    this.details ??= "via_upstream";
    return this.vm.event(() => this.processHeaders(this.res, endOfStream));
  }

  sendResponseBody(chunk: string | Uint8Array, endOfStream = false): FilterDataStatus {
    this.assertCanSend(this.res, "response body");
    return this.vm.event(() => this.receiveData(this.res, this.bodyInput(chunk), endOfStream));
  }

  sendResponseTrailers(trailers: HeaderInit): FilterTrailersStatus {
    this.assertCanSend(this.res, "response trailers");
    return this.vm.event(() => this.receiveTrailers(this.res, new HeaderMap("responseTrailers", trailers)));
  }

  /** The client went away / the test is done: on_log → on_done → on_delete if they have not run. */
  end(): void {
    this.vm.event(() => this.complete());
  }

  get request(): HttpMessage {
    return (this.requestView ??= this.message(this.req));
  }

  get response(): HttpMessage {
    return (this.responseView ??= this.message(this.res));
  }

  /**
   * The (last) local reply Envoy generated for this stream, if any. Whether it reached the
   * client shows in `response` (headersForwarded / endStreamForwarded) and `resetReason`.
   */
  get localResponse(): LocalResponse | undefined {
    return this.local;
  }

  /** on_log, on_done and on_delete have run (or would have, on a failed VM). */
  get completed(): boolean {
    return this.completedFlag;
  }

  /** Set when the stream was reset (proxy_close_stream, a local reply after the response headers went out…). */
  get resetReason(): string | undefined {
    return this.resetReasonValue;
  }

  /** Envoy's response code details (e.g. "via_upstream", "wasm_close_stream", a local reply's details). */
  get responseCodeDetails(): string | undefined {
    return this.details;
  }

  /** Envoy stopped reading from the source because the watermark buffer passed the limit. */
  get flowControlled(): { request: boolean; response: boolean } {
    return { request: this.req.readDisabled, response: this.res.readDisabled };
  }

  // --- frames into the filter (Envoy's filter manager) --------------------------------

  private assertCanSend(dir: Direction, what: string): void {
    if (!dir.headersReceived) throw new Error(`send the ${dir.side} headers before the ${what}`);
    if (this.completedFlag) return; // the stream is gone: the frame is dropped
    if (dir === this.res && this.local) throw new Error("the response is a local reply: no upstream response can follow");
    if (dir.endStreamReceived) throw new Error(`the ${dir.side} has already ended`);
  }

  private processHeaders(dir: Direction, endOfStream: boolean): FilterHeadersStatus {
    if (this.completedFlag) return FilterHeadersStatus.StopAllIterationAndWatermark;
    if (this.mode === "absent") {
      this.forwardHeaders(dir, endOfStream);
      return FilterHeadersStatus.Continue;
    }
    return this.within(dir.side, () => {
      const status = this.filterHeaders(dir, endOfStream);
      if (this.filterGone(dir)) return status;
      switch (status) {
        case FilterHeadersStatus.StopIteration:
          dir.iteration = "stopSingle";
          break;
        case FilterHeadersStatus.StopAllIterationAndBuffer:
          dir.iteration = "stopAllBuffer";
          break;
        case FilterHeadersStatus.StopAllIterationAndWatermark:
          dir.iteration = "stopAllWatermark";
          break;
        default:
          dir.headersContinued = true;
          this.forwardHeaders(dir, endOfStream);
      }
      return status;
    });
  }

  private receiveData(dir: Direction, bytes: Uint8Array, endOfStream: boolean): FilterDataStatus {
    dir.receivedBytes += bytes.length;
    if (endOfStream) dir.endStreamReceived = true;
    if (this.completedFlag || dir.aborted) return FilterDataStatus.StopIterationNoBuffer; // nobody processes it any more
    if (this.mode === "absent") {
      this.forwardData(dir, bytes, endOfStream);
      return FilterDataStatus.Continue;
    }
    return this.within(dir.side, () => {
      if (dir.stoppedAll) {
        // handleDataIfStopAll: Envoy buffers on the filter's behalf; the plugin sees it after the continue.
        const watermark = dir.iteration === "stopAllWatermark";
        this.bufferInto(dir, bytes, watermark);
        return watermark ? FilterDataStatus.StopIterationAndWatermark : FilterDataStatus.StopIterationAndBuffer;
      }
      return this.deliverData(dir, new BodyBuffer(bytes), endOfStream, false);
    });
  }

  private receiveTrailers(dir: Direction, trailers: HeaderMap): FilterTrailersStatus {
    dir.trailers = trailers;
    dir.endStreamReceived = true;
    if (this.completedFlag || dir.aborted) return FilterTrailersStatus.StopIteration;
    if (this.mode === "absent") {
      this.forwardTrailers(dir);
      return FilterTrailersStatus.Continue;
    }
    return this.within(dir.side, () => {
      if (dir.stoppedAll) {
        dir.trailersAwaitPlugin = true;
        return FilterTrailersStatus.StopIteration;
      }
      return this.deliverTrailers(dir);
    });
  }

  /** Envoy Context::decodeHeaders/encodeHeaders (the request one creates the context). */
  private filterHeaders(dir: Direction, endOfStream: boolean): FilterHeadersStatus {
    const ctx = this.filter;
    if (dir.side === "request") ctx.onCreate();
    if (this.completedFlag || dir.aborted) return FilterHeadersStatus.StopAllIterationAndWatermark;
    this.setHeadersPointer(dir.side, dir.headers);
    ctx.endOfStream = endOfStream;
    const status = this.invoke(
      () => this.vm.callbacks.headers(dir.side, ctx.id, dir.headers!.size, endOfStream),
      (raw, stop) => headersStatus(raw, stop, this.vm.settings.allowOnHeadersStopIteration),
      FilterHeadersStatus.StopAllIterationAndWatermark,
    );
    if (status === FilterHeadersStatus.Continue) this.setHeadersPointer(dir.side, undefined);
    return status;
  }

  /**
   * A body frame for the filter (Envoy Context::decodeData/encodeData, then the filter
   * manager's commonHandleAfterDataCallback). `data` is Envoy's buffered body itself when
   * the filter resumes after stopping all frames (`isBuffered`).
   */
  private deliverData(dir: Direction, data: BodyBuffer, endOfStream: boolean, isBuffered: boolean): FilterDataStatus {
    const ctx = this.filter;
    const side = dir.side;
    const trailersAtStart = dir.trailers !== undefined;
    let status: FilterDataStatus = FilterDataStatus.Continue;
    if (ctx.created) {
      if (this.isBuffering(side) && !isBuffered) {
        this.bufferInto(dir, data.take(), false); // addDecodedData: may trip the limit (413/500)
        if (this.completedFlag || ctx.destroyed) return FilterDataStatus.StopIterationAndBuffer;
      }
      this.setBodyPointer(side, data);
      ctx.endOfStream = endOfStream;
      const size = this.isBuffering(side) ? (dir.buffered?.length ?? 0) : data.length;
      status = this.invoke(
        () => this.vm.callbacks.body(side, ctx.id, size, endOfStream),
        dataStatus,
        FilterDataStatus.StopIterationNoBuffer,
      );
      this.setBuffering(side, status === FilterDataStatus.StopIterationAndBuffer);
      if (status === FilterDataStatus.Continue) this.setBodyPointer(side, undefined);
    }
    // Trailers the plugin added during this (last) frame: the data goes on without end of stream.
    const trailersAdded = !trailersAtStart && dir.trailers !== undefined;
    if (!this.filterGone(dir)) this.afterData(dir, data, endOfStream && !trailersAdded, status, isBuffered, trailersAdded);
    if (!isBuffered) data.take(); // the codec drains whatever was neither forwarded nor buffered
    return status;
  }

  /** The filter manager's handling of a data callback's status. */
  private afterData(dir: Direction, data: BodyBuffer, endOfStream: boolean, status: FilterDataStatus, isBuffered: boolean, trailersAdded: boolean): void {
    if (status === FilterDataStatus.Continue) {
      if (dir.iteration === "stopSingle") {
        if (!isBuffered) this.bufferInto(dir, data.take(), dir.streaming);
        this.commonContinue(dir);
        return;
      }
      this.forwardData(dir, data.take(), endOfStream);
      if (trailersAdded && !this.completedFlag) this.forwardTrailers(dir); // added trailers go on from the next filter
      return;
    }
    dir.iteration = "stopSingle";
    if (status === FilterDataStatus.StopIterationAndBuffer || status === FilterDataStatus.StopIterationAndWatermark) {
      if (!isBuffered) this.bufferInto(dir, data.take(), status === FilterDataStatus.StopIterationAndWatermark);
    } else if (dir.endStreamReceived && !dir.trailers && !dir.buffered) {
      // StopIterationNoBuffer on the last frame: an empty buffer so a later continue ends the stream.
      dir.buffered = new BodyBuffer();
    }
  }

  /** Envoy Context::decodeTrailers/encodeTrailers + commonHandleAfterTrailersCallback. */
  private deliverTrailers(dir: Direction): FilterTrailersStatus {
    const ctx = this.filter;
    dir.trailersAwaitPlugin = false;
    let status: FilterTrailersStatus = FilterTrailersStatus.Continue;
    if (ctx.created) {
      this.setTrailersPointer(dir.side, dir.trailers);
      status = this.invoke(
        () => this.vm.callbacks.trailers(dir.side, ctx.id, dir.trailers!.size),
        trailersStatus,
        FilterTrailersStatus.StopIteration,
      );
      if (status === FilterTrailersStatus.Continue) this.setTrailersPointer(dir.side, undefined);
    }
    if (this.filterGone(dir)) return status;
    if (status === FilterTrailersStatus.Continue) {
      if (dir.iteration === "stopSingle") this.commonContinue(dir);
      else this.forwardTrailers(dir);
    } else {
      dir.iteration = "stopSingle";
    }
    return status;
  }

  /**
   * Runs one plugin callback the way cpp-host's `ContextBase::on*` does: CHECK_FAIL before and
   * after (fail open → Continue; fail closed → the stop value, and a 503 once per stream), a
   * missing export → Continue, then the deferred actions.
   */
  private invoke<T extends number>(call: () => CallOutcome, convert: (raw: number, stop: boolean) => T, closed: T): T {
    const open = 0 as T; // Continue in every status enum
    if (this.vmFailed) return this.whenFailed(open, closed);
    const outcome = call();
    if (outcome.kind === "missing") return open; // no call, no deferred actions
    const status = outcome.kind === "ok" && !this.vmFailed ? convert(outcome.value, outcome.stopIteration) : this.whenFailed(open, closed);
    this.vm.runDeferredActions();
    return status;
  }

  private get vmFailed(): boolean {
    return this.mode === "failedVm" || this.vm.failed;
  }

  private whenFailed<T>(open: T, closed: T): T {
    if (this.vm.settings.failOpen) return open;
    if (!this.filter.streamFailed) {
      this.filter.streamFailed = true;
      this.failStream();
    }
    return closed;
  }

  /** Envoy `Context::failStream`: one 503 (gRPC 14), details wasm_fail_stream, bypassing the failed filter. */
  private failStream(): void {
    if (this.failureReplySent) return;
    this.failureReplySent = true;
    this.deliverLocalReply(
      { statusCode: 503, body: new Uint8Array(0), headers: [], grpcStatus: GRPC_UNAVAILABLE, details: FAIL_STREAM_DETAILS },
      "envoy",
      false,
    );
  }

  // --- resuming and forwarding ----------------------------------------------------------

  /** Deferred continueDecoding/continueEncoding. */
  private continueDirection(side: Side): void {
    const dir = side === "request" ? this.req : this.res;
    if (!this.canContinue(dir)) return;
    this.within(side, () => this.commonContinue(dir));
  }

  private canContinue(dir: Direction): boolean {
    return !this.completedFlag && !this.filter.destroyed && !dir.aborted && !this.res.endStreamForwarded;
  }

  /**
   * Envoy `commonContinue`: headers (if still held), then the buffered body, then trailers.
   * After "stop all" the filter itself has not seen that body and those trailers: they go to
   * its callbacks first (cumulative body, then trailers); otherwise they are forwarded.
   */
  private commonContinue(dir: Direction): void {
    const fromCurrent = dir.stoppedAll;
    dir.iteration = "continue";
    if (!dir.headersContinued) {
      dir.headersContinued = true;
      this.forwardHeaders(dir, dir.endStreamReceived && !dir.buffered && !dir.trailers);
      if (this.filterGone(dir)) return;
    }
    const hadTrailers = dir.trailers !== undefined;
    if (dir.buffered) {
      const endOfStream = dir.endStreamReceived && !hadTrailers;
      if (fromCurrent) this.deliverData(dir, dir.buffered, endOfStream, true);
      else this.forwardData(dir, dir.buffered.take(), endOfStream);
      if (this.filterGone(dir)) return;
    }
    if (hadTrailers && !dir.trailersForwarded) {
      if (dir.trailersAwaitPlugin) this.deliverTrailers(dir);
      else this.forwardTrailers(dir);
    }
  }

  private forwardHeaders(dir: Direction, endOfStream: boolean): void {
    dir.headersForwarded = true;
    if (endOfStream) this.forwardEnd(dir);
  }

  private forwardData(dir: Direction, bytes: Uint8Array, endOfStream: boolean): void {
    dir.forwardedBody.append(bytes);
    if (endOfStream) this.forwardEnd(dir);
  }

  private forwardTrailers(dir: Direction): void {
    dir.trailersForwarded = true;
    this.forwardEnd(dir);
  }

  /** The response's end going downstream ends the stream (Envoy doEndStream → log, destroy filters). */
  private forwardEnd(dir: Direction): void {
    if (dir.endStreamForwarded) return;
    dir.endStreamForwarded = true;
    if (dir.side === "response") this.complete();
  }

  /** Envoy's buffering for the filter, with the buffer limit (watermark) check. */
  private bufferInto(dir: Direction, bytes: Uint8Array, streaming: boolean): void {
    dir.streaming = streaming;
    dir.buffered ??= new BodyBuffer();
    dir.buffered.append(bytes);
    if (dir.overLimit || dir.buffered.length <= this.vm.settings.bufferLimitBytes) return;
    dir.overLimit = true;
    if (dir.streaming) {
      dir.readDisabled = true; // flow control only
    } else if (dir.side === "request") {
      this.sendEnvoyReply(413, "Payload Too Large", "request_payload_too_large");
    } else {
      this.sendEnvoyReply(500, "Internal Server Error", "response_payload_too_large");
    }
  }

  // --- local replies, reset, teardown ---------------------------------------------------

  private sendEnvoyReply(statusCode: number, body: string, details: string): void {
    this.deliverLocalReply({ statusCode, body: encoder.encode(body), headers: [], grpcStatus: undefined, details }, "envoy", true);
  }

  /**
   * Envoy's sendLocalReply (E-FM): (a) no response headers in the filter chain yet → encoded
   * through the encoder chain, this plugin's response callbacks included; (b) response headers
   * in the chain but not sent → straight to the client; (c) headers already sent → reset.
   */
  private deliverLocalReply(reply: LocalReplyRequest, generatedBy: "plugin" | "envoy", throughFilterChain: boolean): void {
    if (this.completedFlag) return;
    const phase = this.phases[this.phases.length - 1];
    if (phase) (phase === "request" ? this.req : this.res).aborted = true; // the running chain stops here
    this.details = reply.details;
    const built = buildLocalReply(reply, this.req.headers);
    const record: LocalResponse = {
      status: reply.statusCode,
      body: built.body,
      bodyText: utf8.decode(built.body),
      headers: new HeaderMap("responseHeaders", built.headers.pairs()),
      details: reply.details,
      generatedBy,
      ...(reply.grpcStatus !== undefined ? { grpcStatus: reply.grpcStatus } : {}),
    };

    if (!this.res.headersReceived && throughFilterChain) {
      this.local = record;
      const endsWithHeaders = built.body.length === 0;
      this.res.headers = built.headers;
      this.res.headersReceived = true;
      this.res.endStreamReceived = endsWithHeaders;
      this.processHeaders(this.res, endsWithHeaders);
      if (!endsWithHeaders && !this.completedFlag) this.receiveData(this.res, built.body, true);
    } else if (!this.res.headersForwarded) {
      this.local = record;
      this.sendDirectReply(built.headers, built.body);
    } else {
      this.resetStream();
    }
  }

  /** Branch (b): the reply replaces whatever response was in the chain and goes out as is. */
  private sendDirectReply(headers: HeaderMap, body: Uint8Array): void {
    const res = this.res;
    res.aborted = true;
    res.headers = headers;
    res.trailers = undefined;
    res.headersReceived = true;
    res.endStreamReceived = true;
    this.filter.responseHeaders = undefined;
    this.filter.responseBody = undefined;
    this.filter.responseTrailers = undefined;
    res.headersForwarded = true;
    this.forwardData(res, body, true);
  }

  private resetStream(): void {
    if (this.completedFlag) return;
    this.resetReasonValue = "local reset";
    this.complete();
  }

  /**
   * Stream end (Envoy doDeferredStreamDestroy): access log — Context::log creates the context
   * if needed, then on_log in the access-log phase — then the filter's onDestroy: on_done
   * (answer ignored) and on_delete. Never into a failed VM.
   */
  private complete(): void {
    if (this.completedFlag) return;
    this.completedFlag = true;
    this.onComplete?.();
    this.endMonotonicNs = this.vm.settings.clock.monotonicNs();
    const ctx = this.filter;
    if (this.mode === "absent" || !this.req.headersReceived) {
      this.vm.unregisterContext(ctx);
      return;
    }
    if (!ctx.created) ctx.onCreate();
    ctx.accessLogPhase = true;
    try {
      this.vm.callback(() => this.vm.callbacks.log(ctx.id));
    } finally {
      ctx.accessLogPhase = false;
    }
    if (!ctx.destroyed) {
      ctx.destroyed = true;
      if (this.mode === "plugin") {
        this.vm.callback(() => this.vm.callbacks.done(ctx.id));
        this.vm.callback(() => this.vm.callbacks.delete(ctx.id));
      }
    }
    this.vm.unregisterContext(ctx);
  }

  /** The filter is not called for this direction any more, or the stream is over. */
  private filterGone(dir: Direction): boolean {
    return this.completedFlag || this.filter.destroyed || dir.aborted;
  }

  private within<T>(side: Side, fn: () => T): T {
    this.phases.push(side);
    try {
      return fn();
    } finally {
      this.phases.pop();
    }
  }

  // --- the filter context's pointers ----------------------------------------------------

  private setHeadersPointer(side: Side, map: HeaderMap | undefined): void {
    if (side === "request") this.filter.requestHeaders = map;
    else this.filter.responseHeaders = map;
  }

  private setBodyPointer(side: Side, body: BodyBuffer | undefined): void {
    if (side === "request") this.filter.requestBody = body;
    else this.filter.responseBody = body;
  }

  private setTrailersPointer(side: Side, map: HeaderMap | undefined): void {
    if (side === "request") this.filter.requestTrailers = map;
    else this.filter.responseTrailers = map;
  }

  private isBuffering(side: Side): boolean {
    return side === "request" ? this.filter.bufferingRequestBody : this.filter.bufferingResponseBody;
  }

  private setBuffering(side: Side, buffering: boolean): void {
    if (side === "request") this.filter.bufferingRequestBody = buffering;
    else this.filter.bufferingResponseBody = buffering;
  }

  private makeFilterCallbacks(): FilterCallbacks {
    const stream = this;
    return {
      request: this.req,
      response: this.res,
      continueDirection: (side) => stream.continueDirection(side),
      resetStream: () => stream.resetStream(),
      sendLocalReply: (reply) => stream.deliverLocalReply(reply, "plugin", true),
      addTrailers: (side) => {
        const dir = side === "request" ? stream.req : stream.res;
        dir.trailers = new HeaderMap(side === "request" ? "requestTrailers" : "responseTrailers");
        return dir.trailers;
      },
      responseCodeDetails: () => stream.details,
      setResponseCodeDetails: (details) => {
        stream.details = details;
      },
      streamFacts: () => stream.streamFacts(),
      properties: this.properties,
    };
  }

  private streamFacts(): StreamFacts {
    const facts: StreamFacts = {
      ...this.filter.activationMaps(),
      protocol: this.protocol,
      startTimeNs: this.startTimeNs,
      requestBodyBytes: this.req.receivedBytes,
      responseBodyBytes: this.res.forwardedBody.length,
      connectionId: this.connectionId,
      sourceAddress: this.sourceAddress,
      destinationAddress: this.destinationAddress,
      mtls: false,
      requestedServerName: "",
      requestComplete: this.completedFlag,
    };
    if (this.details !== undefined) facts.responseCodeDetails = this.details;
    if (this.endMonotonicNs !== undefined) facts.durationNs = this.endMonotonicNs - this.startMonotonicNs;
    return facts;
  }

  private message(dir: Direction): HttpMessage {
    return new MessageView(dir, () => this.completedFlag);
  }
}

/** The live view of one direction (a class: prototype getters cost nothing per stream). */
class MessageView implements HttpMessage {
  constructor(
    private readonly dir: Direction,
    private readonly streamCompleted: () => boolean,
  ) {}

  get headers(): HeaderMap {
    return this.dir.headers ?? new HeaderMap(this.dir.side === "request" ? "requestHeaders" : "responseHeaders");
  }
  get trailers(): HeaderMap | undefined {
    return this.dir.trailers;
  }
  get body(): Uint8Array {
    return this.dir.forwardedBody.bytes;
  }
  get bodyLength(): number {
    return this.dir.forwardedBody.length;
  }
  bodyFrom(offset: number): Uint8Array {
    return this.dir.forwardedBody.from(offset);
  }
  get bodyText(): string {
    return utf8.decode(this.dir.forwardedBody.bytes);
  }
  get bufferedBody(): Uint8Array {
    return this.dir.buffered?.bytes ?? new Uint8Array(0);
  }
  get headersForwarded(): boolean {
    return this.dir.headersForwarded;
  }
  get trailersForwarded(): boolean {
    return this.dir.trailersForwarded;
  }
  get paused(): boolean {
    return this.dir.iteration !== "continue" && !this.streamCompleted();
  }
  get endStreamForwarded(): boolean {
    return this.dir.endStreamForwarded;
  }
}
