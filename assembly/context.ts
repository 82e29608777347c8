// The contexts a plugin author extends: one RootContext per plugin (configuration,
// factory of streams) and one HttpContext per HTTP stream. Every callback has a
// default, so a filter overrides only what it needs.
import { proxy_close_stream, proxy_continue_stream, proxy_done, proxy_send_local_response } from "./abi/imports";
import { record } from "./abi/status";
import { Body, requestBody, responseBody } from "./body";
import { toBytes } from "./bytes";
import { Configuration, pluginConfiguration, vmConfiguration } from "./configuration";
import { Header, Headers, requestHeaders, requestTrailers, responseHeaders, responseTrailers } from "./headers";
import { encodeHeaders } from "./pairs";
import {
  FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, GrpcStatus, StreamType, WasmResult,
} from "./types";

/** What every context has: its id and the end of its life. */
export class BaseContext {
  constructor(public readonly contextId: u32) {}

  /** The host is done with this context. A root may return false to finish later with `done()`. */
  onDone(): bool { return true; }

  /** Last call for this context; release what it holds. */
  onDelete(): void {}
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

  /** The plugin configuration; readable during onConfigure. */
  get pluginConfiguration(): Configuration { return pluginConfiguration(); }

  /** The VM configuration; readable any time. */
  get vmConfiguration(): Configuration { return vmConfiguration(); }

  /** Finishes a root whose onDone returned false (onDelete follows). */
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
   * `body` is a string, ArrayBuffer or Uint8Array; `grpcStatus` None adds no grpc-status.
   */
  sendLocalResponse<T>(
    statusCode: u32,
    body: T,
    headers: Array<Header> = [],
    details: string = "",
    grpcStatus: GrpcStatus = GrpcStatus.None,
  ): WasmResult {
    const bodyBytes = toBytes<T>(body);
    const headerBytes = encodeHeaders(headers);
    const detailBytes = String.UTF8.encode(details, false);
    return record(proxy_send_local_response(
      statusCode,
      changetype<usize>(detailBytes), detailBytes.byteLength,
      changetype<usize>(bodyBytes), bodyBytes.byteLength,
      changetype<usize>(headerBytes), headerBytes.byteLength,
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
