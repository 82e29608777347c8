// One HTTP stream through Envoy with this plugin as its (only) Wasm filter, as a test drives
// it: the test plays the client (request) and the upstream (response), and reads what the
// filter let through in each direction. Envoy's side is the filter manager
// (envoy/http/filter-manager.ts); the plugin's is its Wasm filter context
// (vm/http-filter-context.ts). Each frame is one dispatcher event: work posted meanwhile runs
// after it, and a plugin failure during it is thrown to the test (HostOptions.throwOnTrap).
import type { CostReport } from "./vm/cost.js";
import { FilterHeadersStatus, type FilterDataStatus, type FilterTrailersStatus } from "./wasm/types.js";
import { HeaderMap, type HeaderInit } from "./envoy/headers.js";
import type { Direction } from "./envoy/http/direction.js";
import { HttpFilterManager } from "./envoy/http/filter-manager.js";
import type { LocalResponse } from "./envoy/http/local-replies.js";
import { mergePropertyTrees, type PropertyTree } from "./envoy/properties.js";
import { HttpFilterContext } from "./vm/http-filter-context.js";
import type { RootContext } from "./vm/root-context.js";
import type { PluginVm } from "./vm/vm.js";
import { utf8Bytes } from "./wasm/utf8.js";

export type { LocalResponse } from "./envoy/http/local-replies.js";

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

const utf8 = new TextDecoder("utf-8");

export class HttpStream {
  readonly contextId: number;
  /** What the plugin has cost on this stream, by callback (HostOptions.meterCost; all zero without it). */
  readonly cost: CostReport;
  private readonly manager: HttpFilterManager;
  private requestView: HttpMessage | undefined;
  private responseView: HttpMessage | undefined;
  private readonly copyBodyInput: boolean;

  /** @internal Created by `Host.newHttpStream`. */
  constructor(
    private readonly vm: PluginVm,
    root: RootContext,
    connectionId: number,
    options: HttpStreamOptions = {},
    onComplete?: () => void,
  ) {
    const slot = vm.newFilterSlot();
    this.copyBodyInput = options.copyBodyInput ?? true;
    this.manager = new HttpFilterManager({
      bufferLimitBytes: vm.settings.bufferLimitBytes,
      clock: vm.settings.clock,
      properties: mergePropertyTrees(vm.settings.properties, options.properties),
      protocol: options.protocol ?? "HTTP/1.1",
      sourceAddress: options.sourceAddress ?? "127.0.0.1:50000",
      destinationAddress: options.destinationAddress ?? "127.0.0.1:8080",
      connectionId,
      retainForwardedBody: options.retainForwardedBody,
      onComplete,
    });
    this.contextId = slot.contextId;
    this.cost = slot.cost;
    if (slot.mode === "absent") return;
    const filter = new HttpFilterContext(vm, this.contextId, root, this.manager, slot.mode === "plugin");
    this.manager.attachFilter(filter);
    if (slot.mode === "plugin") vm.registerContext(filter);
  }

  private bodyInput(chunk: string | Uint8Array): Uint8Array {
    if (typeof chunk === "string") return utf8Bytes(chunk);
    return this.copyBodyInput ? chunk.slice() : chunk;
  }

  // --- the test's side (each frame is one dispatcher event: posted work runs after it) ---

  /** Request headers from the client. Returns what Envoy made of the plugin's answer. */
  sendRequestHeaders(headers: HeaderInit, endOfStream = false): FilterHeadersStatus {
    if (this.manager.request.headersReceived) throw new Error("the request headers were already sent");
    const map = new HeaderMap("requestHeaders", headers);
    return this.vm.event(() => this.manager.receiveHeaders("request", map, endOfStream));
  }

  /** A request body chunk. While the filter holds the request for all frames, Envoy buffers it (plugin not called). */
  sendRequestBody(chunk: string | Uint8Array, endOfStream = false): FilterDataStatus {
    const dir = this.manager.request;
    this.assertCanSend(dir, "request body");
    return this.vm.event(() => this.manager.receiveData(dir, this.bodyInput(chunk), endOfStream));
  }

  sendRequestTrailers(trailers: HeaderInit): FilterTrailersStatus {
    const dir = this.manager.request;
    this.assertCanSend(dir, "request trailers");
    return this.vm.event(() => this.manager.receiveTrailers(dir, new HeaderMap("requestTrailers", trailers)));
  }

  /** Response headers from the upstream. */
  sendResponseHeaders(headers: HeaderInit, endOfStream = false): FilterHeadersStatus {
    const manager = this.manager;
    if (!manager.request.headersReceived) throw new Error("send the request headers before the response");
    if (manager.response.headersReceived) {
      if (manager.completed) return FilterHeadersStatus.StopAllIterationAndWatermark; // the stream is gone
      throw new Error(this.localResponse ? "the response is a local reply: no upstream response can follow" : "the response headers were already sent");
    }
    if (manager.completed) return FilterHeadersStatus.StopAllIterationAndWatermark;
    const map = new HeaderMap("responseHeaders", headers);
    return this.vm.event(() => manager.receiveHeaders("response", map, endOfStream));
  }

  sendResponseBody(chunk: string | Uint8Array, endOfStream = false): FilterDataStatus {
    const dir = this.manager.response;
    this.assertCanSend(dir, "response body");
    return this.vm.event(() => this.manager.receiveData(dir, this.bodyInput(chunk), endOfStream));
  }

  sendResponseTrailers(trailers: HeaderInit): FilterTrailersStatus {
    const dir = this.manager.response;
    this.assertCanSend(dir, "response trailers");
    return this.vm.event(() => this.manager.receiveTrailers(dir, new HeaderMap("responseTrailers", trailers)));
  }

  /** The client went away / the test is done: on_log → on_done → on_delete if they have not run. */
  end(): void {
    this.vm.event(() => this.manager.complete());
  }

  get request(): HttpMessage {
    return (this.requestView ??= new MessageView(this.manager.request, this.manager));
  }

  get response(): HttpMessage {
    return (this.responseView ??= new MessageView(this.manager.response, this.manager));
  }

  /**
   * The (last) local reply Envoy generated for this stream, if any. Whether it reached the
   * client shows in `response` (headersForwarded / endStreamForwarded) and `resetReason`.
   */
  get localResponse(): LocalResponse | undefined {
    return this.manager.replies.sent;
  }

  /** on_log, on_done and on_delete have run (or would have, on a failed VM). */
  get completed(): boolean {
    return this.manager.completed;
  }

  /** Set when the stream was reset (proxy_close_stream, a local reply after the response headers went out…). */
  get resetReason(): string | undefined {
    return this.manager.resetReason;
  }

  /** Envoy's response code details (e.g. "via_upstream", "wasm_close_stream", a local reply's details). */
  get responseCodeDetails(): string | undefined {
    return this.manager.responseCodeDetails();
  }

  /** Envoy stopped reading from the source because the watermark buffer passed the limit. */
  get flowControlled(): { request: boolean; response: boolean } {
    return { request: this.manager.request.readDisabled, response: this.manager.response.readDisabled };
  }

  private assertCanSend(dir: Direction, what: string): void {
    if (!dir.headersReceived) throw new Error(`send the ${dir.side} headers before the ${what}`);
    if (this.manager.completed) return; // the stream is gone: the frame is dropped
    if (dir.side === "response" && this.localResponse) throw new Error("the response is a local reply: no upstream response can follow");
    if (dir.endStreamReceived) throw new Error(`the ${dir.side} has already ended`);
  }
}

/** The live view of one direction (a class: prototype getters cost nothing per stream). */
class MessageView implements HttpMessage {
  constructor(
    private readonly dir: Direction,
    private readonly stream: { readonly completed: boolean },
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
    return this.dir.iteration !== "continue" && !this.stream.completed;
  }
  get endStreamForwarded(): boolean {
    return this.dir.endStreamForwarded;
  }
}
