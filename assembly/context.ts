// The contexts a plugin author extends: one RootContext per plugin (configuration,
// factory of streams), one HttpContext per HTTP stream and one TcpContext per TCP
// connection. Every callback has a default, so a filter overrides only what it needs.
// They are one file because they refer to each other (a root makes streams, a stream
// knows its root).
import { proxy_close_stream, proxy_continue_stream, proxy_done, proxy_send_local_response, proxy_set_effective_context } from "./abi/imports";
import { requireLinked, TCP } from "./abi/linked";
import { record } from "./abi/status";
import { Body, downstreamData, requestBody, responseBody, upstreamData } from "./body";
import { toBytes } from "./bytes";
import { CalloutReceiver } from "./callout-receiver";
import { dispatchHttpCall as httpCall } from "./callouts";
import { Configuration, pluginConfiguration, vmConfiguration } from "./configuration";
import {
  dispatchGrpcCall as grpcCall, grpcCancel, grpcClose, grpcSend, openGrpcStream as grpcStream,
} from "./grpc";
import { Header, Headers, requestHeaders, requestTrailers, responseHeaders, responseTrailers } from "./headers";
import { pairsAddress, pairsSize } from "./header-list";
import { utf8Bytes } from "./utf8-cache";
import { setTickPeriod } from "./timers";
import {
  FilterDataStatus, FilterHeadersStatus, FilterStatus, FilterTrailersStatus, GrpcStatus, PeerType, StreamType, WasmResult,
} from "./types";

/** What every context has: its id and the end of its life. */
export class BaseContext extends CalloutReceiver {

  /** The host is done with this context. A root may return false to finish later with `done()`. */
  onDone(): bool { return true; }

  /** Last call for this context; release what it holds. */
  onDelete(): void {}

  /**
   * Makes the host's calls act on this context until the current callback returns (e.g.
   * a root acting on a stream from a callout or queue callback). BadArgument once the host
   * no longer knows the context; if it goes away meanwhile, calls act on the current one.
   */
  setEffective(): WasmResult { return setEffectiveContext(this.contextId); }

  // Callouts: Envoy answers on the root; the SDK hands each answer to the context that made
  // the call, with that context effective (so a stream can continue or reply). A context
  // deleted first never hears it (its gRPC calls and streams are cancelled). Needs the full "exports".

  /**
   * Sends an HTTP request to an Envoy cluster; `headers` need :method, :path and :authority
   * (or host); `timeoutMs` 0 = none. Returns the token, or 0 with the reason in `lastResult()`
   * (BadArgument: unknown cluster, missing header, timeout ≥ 2^31; InternalFailure).
   */
  dispatchHttpCall<T, H = Array<Header>>(cluster: string, headers: H, body: T, timeoutMs: u32 = 0, trailers: Array<Header> = []): u32 {
    return httpCall<T, H>(this, cluster, headers, body, timeoutMs, trailers);
  }

  /** A unary gRPC call (message: serialized protobuf). Returns the token, or 0 (`lastResult()`). */
  dispatchGrpcCall<T>(
    cluster: string, service: string, method: string, message: T, initialMetadata: Array<Header> = [], timeoutMs: u32 = 0,
  ): u32 {
    return grpcCall<T>(this, cluster, service, method, message, initialMetadata, timeoutMs);
  }

  /** Opens a gRPC stream. Returns the token, or 0 (`lastResult()`). */
  openGrpcStream(cluster: string, service: string, method: string, initialMetadata: Array<Header> = []): u32 {
    return grpcStream(this, cluster, service, method, initialMetadata);
  }

  /** Sends on a stream; `endStream` half-closes it. */
  grpcSend<T>(token: u32, message: T, endStream: bool = false): WasmResult { return grpcSend<T>(token, message, endStream); }

  /** A call: cancelled. A stream: half-closed (the server may still send, then close). */
  grpcClose(token: u32): WasmResult { return grpcClose(token); }

  /** Cancels a call or resets a stream: nothing more arrives for it. */
  grpcCancel(token: u32): WasmResult { return grpcCancel(token); }
}

/** proxy_set_effective_context: 0 means back to the context of the current callback. */
export function setEffectiveContext(contextId: u32): WasmResult {
  return record(proxy_set_effective_context(contextId));
}

/** One per plugin: reads configuration and creates a context for each HTTP stream. */
export class RootContext extends BaseContext {
  /** The root id this context was registered under (a WasmPlugin's `pluginName`). */
  rootId: string = "";

  /** The VM started; return false to fail the plugin. `vmConfigurationSize` is in bytes. */
  onVmStart(vmConfigurationSize: u32): bool { return true; }

  /** New plugin configuration; return false to reject it (Envoy reports the plugin failed). */
  onConfigure(pluginConfigurationSize: u32): bool { return true; }

  /** Creates the context of a new HTTP stream; null lets the stream pass untouched. */
  createHttpContext(contextId: u32): HttpContext | null { return null; }

  /**
   * Creates the context of a new TCP connection (network filter); null lets the connection
   * pass untouched. Needs the full "exports" (a build with "exports-http" never gets TCP callbacks).
   */
  createTcpContext(contextId: u32): TcpContext | null { return null; }

  /** The plugin configuration; readable during onConfigure. */
  get pluginConfiguration(): Configuration { return pluginConfiguration(); }

  /** The VM configuration; readable any time. */
  get vmConfiguration(): Configuration { return vmConfiguration(); }

  /**
   * An item was enqueued on a queue this root registered last (`SharedQueue.register`);
   * once per enqueue, from the host's event loop. Needs the full "exports".
   */
  onQueueReady(queueToken: u32): void {}

  /**
   * A host extension called the plugin (0.2.x `proxy_on_foreign_function`); the arguments
   * are readable with `foreignFunctionArguments()` during this call. Needs the full "exports".
   */
  onForeignFunction(functionId: u32, argumentsSize: u32): void {}

  /**
   * Arms this root's tick timer: `onTick` every `periodMs` from now (calling again restarts
   * it), 0 stops it. Needs the full "exports" (Unimplemented otherwise).
   */
  setTickPeriod(periodMs: u32): WasmResult { return setTickPeriod(periodMs); }

  /** The tick timer fired. */
  onTick(): void {}

  /**
   * Finishes a root whose onDone returned false: onDelete follows once the current
   * callback returns. NotFound when the root is not waiting for it.
   */
  done(): WasmResult { return record(proxy_done()); }
}

/** One per HTTP stream. The header, trailer and body accessors act on this stream. */
export class HttpContext extends BaseContext {
  constructor(contextId: u32, public readonly root: RootContext) {
    super(contextId);
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus { return FilterHeadersStatus.Continue; }
  /** `bodySize` is the size readable now: cumulative while an earlier call returned StopIterationAndBuffer. */
  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus { return FilterDataStatus.Continue; }
  onRequestTrailers(trailerCount: u32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }
  onResponseHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus { return FilterHeadersStatus.Continue; }
  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus { return FilterDataStatus.Continue; }
  onResponseTrailers(trailerCount: u32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }
  /** Access-log time, before onDone; request and response headers are readable (not writable). */
  onLog(): void {}

  get requestHeaders(): Headers { return requestHeaders; }
  get requestTrailers(): Headers { return requestTrailers; }
  get responseHeaders(): Headers { return responseHeaders; }
  get responseTrailers(): Headers { return responseTrailers; }
  get requestBody(): Body { return requestBody; }
  get responseBody(): Body { return responseBody; }

  /**
   * Answers the request without the upstream. Envoy sends it when the current callback
   * returns (which then counts as a stop), and runs it through this plugin's own
   * onResponseHeaders/onResponseBody when sent from a request callback.
   * `body` is a string, ArrayBuffer or Uint8Array; `headers` an Array<Header> or a
   * HeaderList; `grpcStatus` None adds no grpc-status.
   */
  sendLocalResponse<T, H = Array<Header>>(
    statusCode: u32,
    body: T,
    headers: H = changetype<H>(0), // none: a default of [] would not type as a HeaderList
    details: string = "",
    grpcStatus: GrpcStatus = GrpcStatus.None,
  ): WasmResult {
    const bodyBytes = toBytes<T>(body);
    const headerAddress = pairsAddress<H>(headers);
    const detailBytes = utf8Bytes(details);
    return record(proxy_send_local_response(
      statusCode,
      changetype<usize>(detailBytes), detailBytes.byteLength,
      changetype<usize>(bodyBytes), bodyBytes.byteLength,
      headerAddress, pairsSize(),
      <i32>grpcStatus,
    ));
  }

  /** Resumes a request paused by an earlier callback (after the current callback returns). */
  continueRequest(): WasmResult { return record(proxy_continue_stream(StreamType.HttpRequest)); }

  /** Resumes a paused response. */
  continueResponse(): WasmResult { return record(proxy_continue_stream(StreamType.HttpResponse)); }

  /** Resets the stream (Envoy records response details `wasm_close_stream`). */
  closeStream(): WasmResult { return record(proxy_close_stream(StreamType.HttpRequest)); }
}

/** The context of a stream whose root created none: every callback continues. */
export class PassThroughHttpContext extends HttpContext {}

// --- TCP (ABI.md §4.5, §8.3): one context per downstream connection, shared by both
// directions. "Downstream data" is what the client sends towards the upstream; "upstream
// data" is what the upstream sends back.

/** One per TCP connection. Every callback has a default that lets the data through. */
export class TcpContext extends BaseContext {
  constructor(contextId: u32, public readonly root: RootContext) {
    super(contextId);
    // Only the TCP exports create these contexts; one made by hand in a module without them never gets a callback.
    requireLinked(TCP, "TcpContext");
  }

  /**
   * The client connected; the upstream connection does not exist yet. StopIteration keeps
   * Envoy from going on to the next filters (tcp_proxy connects the upstream) until data
   * arrives or `continueDownstream()`.
   */
  onNewConnection(): FilterStatus { return FilterStatus.Continue; }

  /**
   * Bytes from the client. `dataSize` is what `downstreamData` holds now: after an earlier
   * StopIteration, Envoy presents the held bytes again together with the new ones.
   * `endOfStream`: the client half-closed. StopIteration holds the bytes in Envoy.
   */
  onDownstreamData(dataSize: u32, endOfStream: bool): FilterStatus { return FilterStatus.Continue; }

  /**
   * Bytes from the upstream on their way to the client; the same rules as onDownstreamData.
   * Held upstream bytes can only be released by a later chunk (Envoy cannot resume the
   * write path: `continueUpstream()` is Unimplemented).
   */
  onUpstreamData(dataSize: u32, endOfStream: bool): FilterStatus { return FilterStatus.Continue; }

  /** The client connection closed: Remote (the client) or Local (Envoy, the plugin, the upstream's close). onDone, onLog and onDelete follow. */
  onDownstreamConnectionClose(peerType: PeerType): void {}

  /** Envoy calls this when the upstream's end of stream passes the filter (after onUpstreamData), always with Unknown. */
  onUpstreamConnectionClose(peerType: PeerType): void {}

  /** After onDone (TCP order: onDone, onLog, onDelete); properties of the connection are readable. */
  onLog(): void {}

  get downstreamData(): Body { return downstreamData; }
  get upstreamData(): Body { return upstreamData; }

  /**
   * Passes the client's bytes held by StopIteration on to the upstream, once the current
   * callback returns (onDownstreamData is not called again for them).
   */
  continueDownstream(): WasmResult { return record(proxy_continue_stream(StreamType.Downstream)); }

  /** Envoy answers Unimplemented: held upstream bytes go on only with a later chunk that returns Continue. */
  continueUpstream(): WasmResult { return record(proxy_continue_stream(StreamType.Upstream)); }

  /**
   * Closes the client connection once the current callback returns (what was already
   * forwarded is flushed, held bytes are dropped): onDownstreamConnectionClose(Local), onDone,
   * onLog, onDelete follow.
   */
  closeDownstream(): WasmResult { return record(proxy_close_stream(StreamType.Downstream)); }

  /**
   * The same as closeDownstream in Envoy: its write-filter callbacks close the connection the
   * filter sits on, which is the client's; tcp_proxy then closes the upstream.
   */
  closeUpstream(): WasmResult { return record(proxy_close_stream(StreamType.Upstream)); }
}

/** The context of a connection whose root created none: every callback continues. */
export class PassThroughTcpContext extends TcpContext {}
