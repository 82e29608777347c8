// Envoy's Wasm HTTP filter context (E-CTX `Context` for a stream): the pointers it keeps to
// the stream's headers, bodies and trailers, which decide what the map and buffer calls
// can reach at any moment (ABI.md §3.4, §5.5, §5.6, §10 #9/#20). A pointer is set when a
// callback receives the object and dropped when the callback answers Continue — or, for
// the request side only, by proxy_continue_stream of either direction. It is the stream's
// filter too (Envoy's Context is a StreamFilter): each frame the filter manager delivers
// becomes the plugin callback, run the way cpp-host's ContextBase::on* runs it.
import { dataStatus, headersStatus, trailersStatus, type CallOutcome } from "../wasm/callbacks.js";
import { BufferType, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, MapType, StreamType, WasmResult } from "../wasm/types.js";
import { MutableBuffer, NO_BUFFER, type BodyBuffer, type BufferView } from "../envoy/buffers.js";
import { HostContext, type ContextVm } from "./context.js";
import type { HeaderMap } from "../envoy/headers.js";
import { streamLogPrefix } from "../envoy/logs.js";
import type { PropertyContext, StreamFacts } from "../envoy/properties.js";
import type { RootContext } from "./root-context.js";
import type { Direction, Side } from "../envoy/http/direction.js";
import type { LocalReplyRequest } from "../envoy/http/local-reply.js";
import type { StreamFilter, StreamFilterCallbacks } from "../envoy/http/stream-filter.js";

export const CLOSE_STREAM_DETAILS = "wasm_close_stream";

export class HttpFilterContext extends HostContext implements StreamFilter {
  readonly kind = "http";
  /** `in_vm_context_created_` */
  created = false;
  /** `destroyed_`: on_done/on_delete have run. */
  destroyed = false;
  accessLogPhase = false;
  /** CHECK_FAIL: the failure local reply was already sent for this stream. */
  streamFailed = false;

  requestHeaders: HeaderMap | undefined;
  requestBody: BodyBuffer | undefined;
  requestTrailers: HeaderMap | undefined;
  responseHeaders: HeaderMap | undefined;
  responseBody: BodyBuffer | undefined;
  responseTrailers: HeaderMap | undefined;
  bufferingRequestBody = false;
  bufferingResponseBody = false;
  /** `end_of_stream_`: the last end_of_stream flag delivered, shared by both directions. */
  endOfStream = false;

  /** `wasm.*` filter state written by proxy_set_property (made on first use: most streams never touch it). */
  private filterState: Map<string, Uint8Array> | undefined;

  constructor(
    vm: ContextVm,
    id: number,
    private readonly rootContext: RootContext,
    private readonly stream: StreamFilterCallbacks,
    /** false: Envoy's empty context of a failed VM (fail closed): never called, never registered. */
    private readonly live = true,
  ) {
    super(vm, id);
  }

  get root(): RootContext {
    return this.rootContext;
  }

  override get inAccessLogPhase(): boolean {
    return this.accessLogPhase;
  }

  logPrefix(): string {
    return streamLogPrefix(this.vm.settings.plugin);
  }

  /** cpp-host `onCreate`: on_context_create(stream, root) once, unless the VM has failed. */
  onCreate(): void {
    if (!this.created) this.vm.callback(() => this.vm.callbacks.contextCreate(this.id, this.rootContext.id));
    this.created = true;
  }


  // --- the filter (what the filter manager calls) ---------------------------------------

  /** Envoy Context::decodeHeaders/encodeHeaders (the request one creates the context). */
  headers(dir: Direction, endOfStream: boolean): FilterHeadersStatus {
    if (dir.side === "request") this.onCreate();
    if (this.stream.completed || dir.aborted) return FilterHeadersStatus.StopAllIterationAndWatermark;
    this.setHeadersPointer(dir.side, dir.headers);
    this.endOfStream = endOfStream;
    const status = this.invoke(
      () => this.vm.callbacks.headers(dir.side, this.id, dir.headers!.size, endOfStream),
      (raw, stop) => headersStatus(raw, stop, this.vm.settings.allowOnHeadersStopIteration),
      FilterHeadersStatus.StopAllIterationAndWatermark,
    );
    if (status === FilterHeadersStatus.Continue) this.setHeadersPointer(dir.side, undefined);
    return status;
  }

  /** Envoy Context::decodeData/encodeData: while buffering, the chunk joins Envoy's buffer first. */
  data(dir: Direction, data: BodyBuffer, endOfStream: boolean, isBuffered: boolean): FilterDataStatus {
    if (!this.created) return FilterDataStatus.Continue;
    const side = dir.side;
    if (this.isBuffering(side) && !isBuffered) {
      this.stream.addBufferedData(dir, data.take()); // addDecodedData: may trip the limit (413/500)
      if (this.stream.completed || this.destroyed) return FilterDataStatus.StopIterationAndBuffer;
    }
    this.setBodyPointer(side, data);
    this.endOfStream = endOfStream;
    const size = this.isBuffering(side) ? (dir.buffered?.length ?? 0) : data.length;
    const status = this.invoke(() => this.vm.callbacks.body(side, this.id, size, endOfStream), dataStatus, FilterDataStatus.StopIterationNoBuffer);
    this.setBuffering(side, status === FilterDataStatus.StopIterationAndBuffer);
    if (status === FilterDataStatus.Continue) this.setBodyPointer(side, undefined);
    return status;
  }

  /** Envoy Context::decodeTrailers/encodeTrailers. */
  trailers(dir: Direction): FilterTrailersStatus {
    if (!this.created) return FilterTrailersStatus.Continue;
    this.setTrailersPointer(dir.side, dir.trailers);
    const status = this.invoke(() => this.vm.callbacks.trailers(dir.side, this.id, dir.trailers!.size), trailersStatus, FilterTrailersStatus.StopIteration);
    if (status === FilterTrailersStatus.Continue) this.setTrailersPointer(dir.side, undefined);
    return status;
  }

  responseReplaced(): void {
    this.responseHeaders = undefined;
    this.responseBody = undefined;
    this.responseTrailers = undefined;
  }

  /**
   * Stream end: access log — Context::log creates the context if needed, then on_log in the
   * access-log phase — then onDestroy: on_done (answer ignored) and on_delete. Never into a failed VM.
   */
  streamComplete(requestSeen: boolean): void {
    if (requestSeen) {
      if (!this.created) this.onCreate();
      this.accessLogPhase = true;
      try {
        this.vm.callback(() => this.vm.callbacks.log(this.id));
      } finally {
        this.accessLogPhase = false;
      }
      if (!this.destroyed) {
        this.destroyed = true;
        if (this.live) {
          this.vm.callback(() => this.vm.callbacks.done(this.id));
          this.vm.callback(() => this.vm.callbacks.delete(this.id));
        }
      }
    }
    this.vm.unregisterContext(this);
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
    return !this.live || this.vm.failed;
  }

  private whenFailed<T>(open: T, closed: T): T {
    if (this.vm.settings.failOpen) return open;
    if (!this.streamFailed) {
      this.streamFailed = true;
      this.stream.failStream();
    }
    return closed;
  }

  private setHeadersPointer(side: Side, map: HeaderMap | undefined): void {
    if (side === "request") this.requestHeaders = map;
    else this.responseHeaders = map;
  }

  private setBodyPointer(side: Side, body: BodyBuffer | undefined): void {
    if (side === "request") this.requestBody = body;
    else this.responseBody = body;
  }

  private setTrailersPointer(side: Side, map: HeaderMap | undefined): void {
    if (side === "request") this.requestTrailers = map;
    else this.responseTrailers = map;
  }

  private isBuffering(side: Side): boolean {
    return side === "request" ? this.bufferingRequestBody : this.bufferingResponseBody;
  }

  private setBuffering(side: Side, buffering: boolean): void {
    if (side === "request") this.bufferingRequestBody = buffering;
    else this.bufferingResponseBody = buffering;
  }

  // --- the host context (what host calls reach) ------------------------------------------

  /** Envoy `getConstMap`: in proxy_on_log the access-log view (request trailers never). */
  override readableMap(type: MapType): HeaderMap | undefined {
    const { request, response } = this.stream;
    switch (type) {
      case MapType.HttpRequestHeaders:
        return this.accessLogPhase ? request.headers : this.requestHeaders;
      case MapType.HttpRequestTrailers:
        return this.accessLogPhase ? undefined : this.requestTrailers;
      case MapType.HttpResponseHeaders:
        return this.accessLogPhase ? response.headers : this.responseHeaders;
      case MapType.HttpResponseTrailers:
        return this.accessLogPhase ? response.trailers : this.responseTrailers;
      default:
        return super.readableMap(type);
    }
  }

  /**
   * Envoy `getMap`: the filter's own pointers (no access-log view). Writing trailers during
   * the last body chunk of a direction without trailers creates them.
   */
  override writableMap(type: MapType): HeaderMap | undefined {
    switch (type) {
      case MapType.HttpRequestHeaders:
        return this.requestHeaders;
      case MapType.HttpRequestTrailers:
        if (!this.requestTrailers && this.requestBody && this.endOfStream) this.requestTrailers = this.stream.addTrailers("request");
        return this.requestTrailers;
      case MapType.HttpResponseHeaders:
        return this.responseHeaders;
      case MapType.HttpResponseTrailers:
        if (!this.responseTrailers && this.responseBody && this.endOfStream) this.responseTrailers = this.stream.addTrailers("response");
        return this.responseTrailers;
      default:
        return undefined;
    }
  }

  /** While buffering, the whole body Envoy holds; otherwise the chunk of the callback (or nothing). */
  protected override streamBuffer(type: BufferType): BufferView {
    if (type === BufferType.HttpRequestBody) return this.bodyView("request");
    if (type === BufferType.HttpResponseBody) return this.bodyView("response");
    return NO_BUFFER;
  }

  private bodyView(side: Side): BufferView {
    const buffering = side === "request" ? this.bufferingRequestBody : this.bufferingResponseBody;
    const body = buffering ? this.stream[side].buffered : side === "request" ? this.requestBody : this.responseBody;
    return body ? new MutableBuffer(body) : NO_BUFFER;
  }

  /**
   * Deferred continueDecoding/continueEncoding. ⚠ For both directions Envoy drops only the
   * request-side pointers (§10 #20); DOWNSTREAM has no network callbacks here (OK, nothing dropped).
   */
  override continueStream(type: StreamType): WasmResult {
    switch (type) {
      case StreamType.HttpRequest:
      case StreamType.HttpResponse: {
        const side: Side = type === StreamType.HttpRequest ? "request" : "response";
        this.vm.defer(() => this.stream.continueDirection(side));
        this.requestHeaders = undefined;
        this.requestBody = undefined;
        this.requestTrailers = undefined;
        return WasmResult.Ok;
      }
      case StreamType.Downstream:
        return WasmResult.Ok;
      default:
        return WasmResult.Unimplemented;
    }
  }

  /** Deferred stream reset; response code details "wasm_close_stream" unless some are set. */
  override closeStream(type: StreamType): WasmResult {
    if (type === StreamType.HttpRequest || type === StreamType.HttpResponse) {
      if (this.stream.responseCodeDetails() === undefined) this.stream.setResponseCodeDetails(CLOSE_STREAM_DETAILS);
      this.vm.defer(() => this.stream.resetStream());
    }
    return WasmResult.Ok;
  }

  override sendLocalResponse(reply: LocalReplyRequest): void {
    this.vm.defer(() => this.stream.sendLocalReply(reply));
  }

  propertyContext(): PropertyContext {
    return {
      kind: "http",
      plugin: this.vm.settings.plugin,
      overrides: this.stream.properties,
      stream: this.stream.streamFacts(),
      filterState: (this.filterState ??= new Map()),
    };
  }

  /** The maps Envoy's CEL activation sees: the filter's pointers, else in on_log the access-log ones. */
  activationMaps(): Pick<StreamFacts, "requestHeaders" | "responseHeaders" | "responseTrailers"> {
    const { request, response } = this.stream;
    const pick = (pointer: HeaderMap | undefined, logged: HeaderMap | undefined) => pointer ?? (this.accessLogPhase ? logged : undefined);
    const maps: Pick<StreamFacts, "requestHeaders" | "responseHeaders" | "responseTrailers"> = {};
    const requestHeaders = pick(this.requestHeaders, request.headers);
    const responseHeaders = pick(this.responseHeaders, response.headers);
    const responseTrailers = pick(this.responseTrailers, response.trailers);
    if (requestHeaders) maps.requestHeaders = requestHeaders;
    if (responseHeaders) maps.responseHeaders = responseHeaders;
    if (responseTrailers) maps.responseTrailers = responseTrailers;
    return maps;
  }
}
