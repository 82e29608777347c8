// gRPC callouts of `pwas serve` to real gRPC services, as Envoy's `envoy_grpc` async client
// makes them: HTTP/2 to the cluster, POST /<service>/<method>, content-type
// application/grpc, te: trailers, the plugin's initial metadata, grpc-timeout for the call's
// timeout, length-prefixed messages. What comes back reaches the Wasm context's callbacks in
// the order Envoy's `Grpc::AsyncStreamImpl` produces (the same order the mock host's
// GrpcCall and GrpcStream use): the response headers as initial metadata, each message as
// it is complete, then trailing metadata and the close. A trailers-only answer (Envoy's own
// replies among them) brings empty initial metadata and its headers as trailers.
import { constants as http2, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { GrpcStatus, HeaderMap } from "../../runtime-mock/index.js";
import { grpcStatusOf } from "../../runtime-mock/envoy/callouts/grpc-call.js";
import { buildLocalReply, httpToGrpcStatus } from "../../runtime-mock/envoy/http/local-reply.js";
import type { GrpcCallbacks, GrpcCalloutRequest, UpstreamRequest, UpstreamStream } from "../../runtime-mock/index.js";
import { transportFailure, upstreamConnectError } from "./http-mapping.js";
import { connectionFailure, headerMapOf, http2Fields, type UpstreamClient } from "./upstream-client.js";
import type { UpstreamTarget } from "./upstream-target.js";

/** Envoy's router reply when a call's timeout fires (a 504, as gRPC: Unavailable). */
const TIMEOUT_MESSAGE = "upstream request timeout";
const encoder = new TextEncoder();
/** What makes Envoy's local reply a gRPC one: the request was gRPC. */
const GRPC_REQUEST = new HeaderMap("requestHeaders", [[":path", "/"], ["content-type", "application/grpc"]]);

/** Runs callbacks on the plugin's VM, outside any plugin call and in the order they were queued. */
export type Deliver = (callback: () => void) => void;

/** One gRPC call or stream on an HTTP/2 stream. */
class GrpcExchange {
  private readonly stream: ClientHttp2Stream | undefined;
  private readonly unary: boolean;
  private buffered = new Uint8Array(0);
  private readonly messages: Uint8Array[] = [];
  private responseHeaders: HeaderMap | undefined;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    client: UpstreamClient,
    target: UpstreamTarget,
    request: GrpcCalloutRequest,
    private readonly callbacks: GrpcCallbacks,
    private readonly deliver: Deliver,
  ) {
    this.unary = request.message !== undefined;
    const headers: OutgoingHttpHeaders = {
      [http2.HTTP2_HEADER_METHOD]: "POST",
      [http2.HTTP2_HEADER_SCHEME]: target.url.protocol === "https:" ? "https" : "http",
      [http2.HTTP2_HEADER_AUTHORITY]: target.url.host,
      [http2.HTTP2_HEADER_PATH]: `/${request.serviceName}/${request.methodName}`,
      ...http2Fields(request.initialMetadata),
      "content-type": "application/grpc",
      te: "trailers",
      ...(request.timeoutMs !== undefined ? { "grpc-timeout": `${request.timeoutMs}m` } : {}),
    };
    try {
      this.stream = client.session(target.url).request(headers);
    } catch (error) {
      this.stream = undefined;
      this.unavailable((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      return;
    }
    const stream = this.stream;
    stream.on("response", (fields: IncomingHttpHeaders, flags: number) => this.onHeaders(fields, (flags & http2.NGHTTP2_FLAG_END_STREAM) !== 0));
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("trailers", (fields: IncomingHttpHeaders) => this.close(headerMapOf("responseTrailers", fields)));
    stream.on("end", () => this.close(undefined));
    stream.on("error", (error: NodeJS.ErrnoException) => this.onError(error));
    // A close without an error event first (setImmediate: the error, if any, comes first).
    stream.on("close", () => setImmediate(() => this.onError(undefined)));
    if (request.timeoutMs !== undefined) {
      this.timer = setTimeout(() => this.timeOut(), request.timeoutMs);
      this.timer.unref();
    }
    if (request.message !== undefined) {
      stream.end(frame(request.message));
    }
  }

  /** What Envoy's Wasm context holds of a unary call. */
  get request(): UpstreamRequest {
    return { cancel: () => this.cancel() };
  }

  /** What Envoy's Wasm context holds of a stream. */
  get upstreamStream(): UpstreamStream {
    return {
      send: (message, endStream) => {
        if (!this.stream || this.stream.destroyed || this.finished) return;
        if (endStream) this.stream.end(frame(message));
        else this.stream.write(frame(message));
      },
      closeStream: () => {
        if (this.stream && !this.stream.destroyed && !this.finished) this.stream.end();
      },
      resetStream: () => this.cancel(),
    };
  }

  private onHeaders(fields: IncomingHttpHeaders, endsHere: boolean): void {
    const headers = headerMapOf("responseHeaders", fields);
    const status = Number(headers.get(":status") ?? 0);
    if (endsHere) {
      // Trailers-only: the headers carry grpc-status (a non-200 status is mapped, as Envoy does).
      if (status !== 200 && !headers.has("grpc-status")) headers.setInPlace("grpc-status", String(httpToGrpcStatus(status)));
      this.close(headers, true);
      return;
    }
    if (status !== 200) {
      // Envoy: a non-200 response is a stream error with the status mapped from HTTP.
      this.finishWith(new HeaderMap("responseTrailers", [["grpc-status", String(httpToGrpcStatus(status))]]), false);
      this.stream?.close(http2.NGHTTP2_CANCEL);
      return;
    }
    this.responseHeaders = headers;
    if (!this.unary) this.deliver(() => this.callbacks.onInitialMetadata(headers));
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    const joined = new Uint8Array(this.buffered.length + chunk.length);
    joined.set(this.buffered);
    joined.set(chunk, this.buffered.length);
    let at = 0;
    while (joined.length - at >= 5) {
      const length = new DataView(joined.buffer, joined.byteOffset + at + 1, 4).getUint32(0);
      if (joined.length - at - 5 < length) break;
      const message = joined.slice(at + 5, at + 5 + length);
      at += 5 + length;
      if (this.unary) this.messages.push(message);
      else this.deliver(() => this.callbacks.onMessage(message));
    }
    this.buffered = joined.slice(at);
  }

  /** The server's trailers (or the end of the stream without any: grpc-status missing, Unknown). */
  private close(trailers: HeaderMap | undefined, trailersOnly = false): void {
    if (this.finished) return;
    this.finishWith(trailers ?? new HeaderMap("responseTrailers"), trailersOnly);
  }

  private finishWith(trailers: HeaderMap, trailersOnly: boolean): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    const status = grpcStatusOf(trailers);
    const message = decodeGrpcMessage(trailers.get("grpc-message") ?? "");
    if (this.unary) {
      // Envoy's unary client: OK with a message → the message; OK without → Internal; else the status.
      const response = this.messages[0];
      if (status === GrpcStatus.Ok && response !== undefined) this.deliver(() => this.callbacks.onMessage(response));
      else if (status === GrpcStatus.Ok) this.deliver(() => this.callbacks.onRemoteClose(GrpcStatus.Internal, ""));
      else this.deliver(() => this.callbacks.onRemoteClose(status, message));
      return;
    }
    let reported = trailers;
    if (trailersOnly || this.responseHeaders === undefined) {
      this.deliver(() => this.callbacks.onInitialMetadata(new HeaderMap("responseHeaders")));
      reported = new HeaderMap("responseTrailers", trailers.pairs());
    }
    this.deliver(() => {
      this.callbacks.onTrailingMetadata(reported);
      this.callbacks.onRemoteClose(status, message);
    });
  }

  /** A reset by the server, or a connection that failed. */
  private onError(error: NodeJS.ErrnoException | undefined): void {
    if (this.finished) return;
    const failure = connectionFailure(error);
    if (this.responseHeaders === undefined && failure !== undefined) {
      this.unavailable(failure);
      return;
    }
    // The HTTP/2 stream was reset: empty trailing metadata, then Internal (the mock host's GrpcStream.reset()).
    this.finished = true;
    clearTimeout(this.timer);
    if (this.unary) this.deliver(() => this.callbacks.onRemoteClose(GrpcStatus.Internal, ""));
    else
      this.deliver(() => {
        this.callbacks.onTrailingMetadata(new HeaderMap("responseTrailers"));
        this.callbacks.onRemoteClose(GrpcStatus.Internal, "");
      });
  }

  /** Envoy's router could not reach the cluster: its 503, which a gRPC request gets as Unavailable. */
  private unavailable(reason: string): void {
    this.routerReply(503, upstreamConnectError(transportFailure(reason)));
  }

  /** Envoy's timer for the call: the router's 504, which a gRPC request gets as Unavailable. */
  private timeOut(): void {
    if (this.finished) return;
    this.stream?.close(http2.NGHTTP2_CANCEL);
    this.routerReply(504, TIMEOUT_MESSAGE);
  }

  /** A local reply of Envoy's router, built as the mock host builds one for a gRPC request: trailers-only. */
  private routerReply(status: number, body: string): void {
    const reply = buildLocalReply({ statusCode: status, body: encoder.encode(body), headers: [], grpcStatus: undefined, details: "" }, GRPC_REQUEST);
    this.finishWith(reply.headers, true);
  }

  /** grpc_cancel, grpc_close of a call, or the root going away: nothing more is delivered. */
  private cancel(): void {
    this.finished = true;
    clearTimeout(this.timer);
    if (this.stream && !this.stream.destroyed) this.stream.close(http2.NGHTTP2_CANCEL);
  }

}

export function startGrpcCall(client: UpstreamClient, target: UpstreamTarget, request: GrpcCalloutRequest, callbacks: GrpcCallbacks, deliver: Deliver): UpstreamRequest {
  return new GrpcExchange(client, target, request, callbacks, deliver).request;
}

export function startGrpcStream(client: UpstreamClient, target: UpstreamTarget, request: GrpcCalloutRequest, callbacks: GrpcCallbacks, deliver: Deliver): UpstreamStream {
  return new GrpcExchange(client, target, request, callbacks, deliver).upstreamStream;
}

/** A message as gRPC frames it: flag 0 (not compressed), 4 bytes big-endian length, the bytes. */
function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** grpc-message is percent-encoded on the wire (gRPC's PROTOCOL-HTTP2); Envoy hands the plugin the decoded text. */
export function decodeGrpcMessage(text: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
