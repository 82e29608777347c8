// Envoy's Wasm HTTP filter context (E-CTX `Context` for a stream): the pointers it keeps to
// the stream's headers, bodies and trailers, which decide what the map and buffer calls
// can reach at any moment (ABI.md §3.4, §5.5, §5.6, §10 #9/#20). A pointer is set when a
// callback receives the object and dropped when the callback answers Continue — or, for
// the request side only, by proxy_continue_stream of either direction.
import { BufferType, MapType, StreamType, WasmResult } from "../abi/types.js";
import { MutableBuffer, NO_BUFFER, type BodyBuffer, type BufferView } from "../buffers.js";
import { HostContext } from "../context.js";
import type { HeaderMap } from "../headers.js";
import { streamLogPrefix } from "../logs.js";
import type { PropertyContext, PropertyTree, StreamFacts } from "../properties.js";
import type { RootContext } from "../root-context.js";
import type { PluginVm } from "../vm.js";
import type { Direction, Side } from "./direction.js";
import type { LocalReplyRequest } from "./local-reply.js";

/** What the filter context needs from the stream it belongs to (Envoy's decoder/encoder callbacks). */
export interface FilterCallbacks {
  readonly request: Direction;
  readonly response: Direction;
  continueDirection(side: Side): void;
  resetStream(): void;
  sendLocalReply(reply: LocalReplyRequest): void;
  /** Envoy `addDecodedTrailers`/`addEncodedTrailers`: an empty trailer map for the direction. */
  addTrailers(side: Side): HeaderMap;
  responseCodeDetails(): string | undefined;
  setResponseCodeDetails(details: string): void;
  streamFacts(): StreamFacts;
  readonly properties: PropertyTree;
}

export const CLOSE_STREAM_DETAILS = "wasm_close_stream";

export class HttpFilterContext extends HostContext {
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
    vm: PluginVm,
    id: number,
    private readonly rootContext: RootContext,
    private readonly stream: FilterCallbacks,
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
