// gRPC callouts as the test sees them (the server's side of Envoy's gRPC async client):
// a unary call that is answered, failed or timed out, and a stream whose server sends
// metadata, messages and finally its trailers. What reaches the plugin follows Envoy's
// `Grpc::AsyncStreamImpl`: initial metadata is the response headers (:status and
// content-type included); every remote close brings trailing metadata first (empty after a
// reset); a close without response headers is a trailers-only response.
import { GrpcStatus } from "../../wasm/types.js";
import type { GrpcCallbacks, GrpcCalloutRequest, UpstreamRequest, UpstreamStream } from "./upstreams.js";
import { HeaderMap, type HeaderInit } from "../headers.js";
import { toBytes, type CalloutLoop, type CalloutState } from "./http-call.js";
import type { TimerHandle } from "../scheduler.js";

const utf8 = new TextDecoder("utf-8");
const TIMEOUT_MESSAGE = "upstream request timeout";

/** What the plugin asked for: shared by calls and streams. */
abstract class GrpcExchange {
  constructor(
    readonly token: number,
    readonly rootContextId: number,
    protected readonly request: GrpcCalloutRequest,
    protected readonly callbacks: GrpcCallbacks,
    protected readonly loop: CalloutLoop,
  ) {}

  /** The target cluster; undefined for a google_grpc service. */
  get cluster(): string | undefined {
    return this.request.cluster;
  }
  get serviceName(): string {
    return this.request.serviceName;
  }
  get methodName(): string {
    return this.request.methodName;
  }
  /** The initial metadata (request headers) the plugin sent. */
  get initialMetadata(): HeaderMap {
    return this.request.initialMetadata;
  }
}

export class GrpcCall extends GrpcExchange {
  private stateValue: CalloutState = "pending";
  private readonly timer: TimerHandle | undefined;
  /** @internal What Envoy's Wasm context holds (grpc_close / grpc_cancel / root destruction). */
  readonly handle: UpstreamRequest = { cancel: () => this.end("cancelled") };

  /** @internal Created by MockUpstreams. */
  constructor(token: number, rootContextId: number, request: GrpcCalloutRequest, callbacks: GrpcCallbacks, loop: CalloutLoop) {
    super(token, rootContextId, request, callbacks, loop);
    if (request.timeoutMs !== undefined) this.timer = loop.scheduler.schedule(request.timeoutMs, () => this.timeOut());
  }

  /** The request message (serialized protobuf, without gRPC framing). */
  get message(): Uint8Array {
    return this.request.message ?? new Uint8Array(0);
  }
  get messageText(): string {
    return utf8.decode(this.message);
  }
  get timeoutMs(): number | undefined {
    return this.request.timeoutMs;
  }
  get state(): CalloutState {
    return this.stateValue;
  }

  /** The server answers with status OK: proxy_on_grpc_receive(root, token, size) only. */
  respond(message: string | Uint8Array = new Uint8Array(0)): void {
    this.settle("answered");
    const bytes = toBytes(message);
    this.loop.event(() => this.callbacks.onMessage(bytes));
  }

  /**
   * The call fails: proxy_on_grpc_close(root, token, status), proxy_get_status (status,
   * message). Envoy turns an OK close without a response message into Internal (13) with no message.
   */
  fail(status: number, message = ""): void {
    this.settle("failed");
    const [code, text] = status === GrpcStatus.Ok ? [GrpcStatus.Internal, ""] : [status, message];
    this.loop.event(() => this.callbacks.onRemoteClose(code, text));
  }

  /** Envoy's timeout fires now (by itself when virtual time reaches it): the router's trailers-only reply, Unavailable (14). */
  timeOut(): void {
    this.settle("timedOut");
    this.loop.event(() => this.callbacks.onRemoteClose(GrpcStatus.Unavailable, TIMEOUT_MESSAGE));
  }

  private settle(state: CalloutState): void {
    if (this.stateValue !== "pending") throw new Error(`gRPC call ${this.token} (${this.serviceName}/${this.methodName}) is already ${this.stateValue}`);
    this.end(state);
  }

  private end(state: CalloutState): void {
    if (this.stateValue !== "pending") return;
    this.stateValue = state;
    if (this.timer) this.loop.scheduler.cancel(this.timer);
  }
}

/** open → closed (the server closed it) | reset (the plugin cancelled it, or its root context went away). */
export type GrpcStreamState = "open" | "closed" | "reset";

export class GrpcStream extends GrpcExchange {
  /** Messages the plugin sent (proxy_grpc_send), in order. */
  readonly messages: Uint8Array[] = [];
  private stateValue: GrpcStreamState = "open";
  private halfClosedValue = false;
  private headersSent = false;
  /** @internal What Envoy's Wasm context holds (grpc_send / grpc_close / grpc_cancel / root destruction). */
  readonly handle: UpstreamStream = {
    send: (message, endStream) => {
      if (this.stateValue !== "open" || this.halfClosedValue) return;
      this.messages.push(message);
      if (endStream) this.halfClosedValue = true;
    },
    closeStream: () => {
      this.halfClosedValue = true;
    },
    resetStream: () => {
      if (this.stateValue === "open") this.stateValue = "reset";
    },
  };

  get state(): GrpcStreamState {
    return this.stateValue;
  }

  /** The plugin has half-closed its side (grpc_close, or a send with end_stream). */
  get halfClosed(): boolean {
    return this.halfClosedValue;
  }

  get messageTexts(): string[] {
    return this.messages.map((m) => utf8.decode(m));
  }

  /**
   * The server's response headers: proxy_on_grpc_receive_initial_metadata(root, token, n).
   * `:status: 200` and `content-type: application/grpc` are added unless given, as a server sends them.
   */
  sendInitialMetadata(metadata: HeaderInit = {}): void {
    this.assertOpen();
    if (this.headersSent) throw new Error(`gRPC stream ${this.token}: the initial metadata was already sent`);
    this.headersSent = true;
    const headers = new HeaderMap("responseHeaders", metadata);
    if (!headers.has(":status")) headers.setInPlace(":status", "200");
    if (!headers.has("content-type")) headers.setInPlace("content-type", "application/grpc");
    this.loop.event(() => this.callbacks.onInitialMetadata(headers));
  }

  /** A message from the server: proxy_on_grpc_receive(root, token, size); the initial metadata goes first if not sent yet. */
  sendMessage(message: string | Uint8Array): void {
    this.assertOpen();
    const bytes = toBytes(message);
    this.loop.event(() => {
      if (!this.headersSent) this.sendInitialMetadata();
      this.callbacks.onMessage(bytes);
    });
  }

  /**
   * The server's trailers end the stream: proxy_on_grpc_receive_trailing_metadata, then
   * proxy_on_grpc_close with their grpc-status (Unknown, 2, when absent) and grpc-message.
   */
  sendTrailingMetadata(trailers: HeaderInit): void {
    this.assertOpen();
    const map = new HeaderMap("responseTrailers", trailers);
    this.finish(map);
  }

  /** Closes with a status: trailers `grpc-status` (+ `grpc-message`), plus any given. */
  close(status: number = GrpcStatus.Ok, message = "", trailers: HeaderInit = {}): void {
    this.assertOpen();
    const map = new HeaderMap("responseTrailers", trailers);
    map.setInPlace("grpc-status", String(status));
    if (message !== "") map.setInPlace("grpc-message", message);
    this.finish(map);
  }

  /** The HTTP/2 stream is reset by the peer: empty trailing metadata, then a close with Internal (13). */
  reset(): void {
    this.assertOpen();
    this.stateValue = "closed";
    this.loop.event(() => {
      this.callbacks.onTrailingMetadata(new HeaderMap("responseTrailers"));
      this.callbacks.onRemoteClose(GrpcStatus.Internal, "");
    });
  }

  private finish(trailers: HeaderMap): void {
    this.stateValue = "closed";
    const status = grpcStatusOf(trailers);
    const message = trailers.get("grpc-message") ?? "";
    this.loop.event(() => {
      if (!this.headersSent) {
        // Trailers-only: the headers end the stream; Envoy reports empty initial metadata and the headers as trailers.
        this.headersSent = true;
        this.callbacks.onInitialMetadata(new HeaderMap("responseHeaders"));
        const all = new HeaderMap("responseTrailers", [[":status", "200"], ["content-type", "application/grpc"]]);
        for (const [k, v] of trailers) all.add(k, v);
        trailers = all;
      }
      this.callbacks.onTrailingMetadata(trailers);
      this.callbacks.onRemoteClose(status, message);
    });
  }

  private assertOpen(): void {
    if (this.stateValue === "closed") throw new Error(`gRPC stream ${this.token}: the server already closed it`);
    if (this.stateValue === "reset") throw new Error(`gRPC stream ${this.token} was reset by the plugin (grpc_cancel) or its root context went away`);
  }
}

/** Envoy `Grpc::Common::getGrpcStatus`: absent → Unknown (2); not a number, or above 16 → InvalidCode (-1). */
export function grpcStatusOf(trailers: HeaderMap): number {
  const text = trailers.get("grpc-status");
  if (text === undefined || text === "") return GrpcStatus.Unknown;
  if (!/^\d+$/.test(text) || Number(text) > GrpcStatus.Unauthenticated) return -1;
  return Number(text);
}
