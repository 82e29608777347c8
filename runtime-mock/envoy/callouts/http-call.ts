// An HTTP callout as the test sees it: what the plugin sent (as Envoy forwards it), and the
// ways it can end — the upstream's response, a failure (reset), Envoy's own timeout reply,
// or cancellation when the plugin's root context goes away. Each answer is one event of
// Envoy's dispatcher: delivered at once (or after the plugin call in progress), then the
// work it posted runs.
import type { HttpCallbacks, HttpCalloutRequest, HttpCalloutResponse, UpstreamRequest } from "./upstreams.js";
import { HeaderMap, type HeaderInit } from "../headers.js";
import { buildLocalReply } from "../http/local-reply.js";
import type { Scheduler, TimerHandle } from "../scheduler.js";
import { utf8Bytes } from "../../wasm/utf8.js";

/** pending → answered | failed | timedOut (the test or the clock) | cancelled (the root context went away). */
export type CalloutState = "pending" | "answered" | "failed" | "timedOut" | "cancelled";

export interface HttpResponseInit {
  /** :status; default: the :status in `headers`, else 200. */
  status?: number;
  headers?: HeaderInit;
  body?: string | Uint8Array;
  /** Response trailers; none when absent or empty. */
  trailers?: HeaderInit;
}

/** The VM's event loop as the upstream side needs it. */
export interface CalloutLoop {
  readonly scheduler: Scheduler;
  /** Runs `fn` as one dispatcher event: the work it posts runs when it returns. */
  event<T>(fn: () => T): T;
}

const utf8 = new TextDecoder("utf-8");

export const toBytes = (data: string | Uint8Array | undefined): Uint8Array =>
  data === undefined ? new Uint8Array(0) : typeof data === "string" ? utf8Bytes(data) : data.slice();

/** Envoy's async client when its timeout fires first: the router's local reply (504, or a gRPC trailers-only 14). */
export function timeoutReply(requestHeaders: HeaderMap): HttpCalloutResponse {
  const reply = buildLocalReply(
    { statusCode: 504, body: utf8Bytes("upstream request timeout"), headers: [], grpcStatus: undefined, details: "upstream_response_timeout" },
    requestHeaders,
  );
  return { headers: reply.headers, body: reply.body, trailers: undefined };
}

/** The router's reply when the cluster has no healthy host (sent inside the async client's send). */
export function noHealthyUpstreamReply(requestHeaders: HeaderMap): HttpCalloutResponse {
  const reply = buildLocalReply(
    { statusCode: 503, body: utf8Bytes("no healthy upstream"), headers: [], grpcStatus: undefined, details: "no_healthy_upstream" },
    requestHeaders,
  );
  return { headers: reply.headers, body: reply.body, trailers: undefined };
}

export class HttpCall {
  private stateValue: CalloutState = "pending";
  private readonly timer: TimerHandle | undefined;
  /** @internal What Envoy's Wasm context holds: root destruction cancels through it. */
  readonly handle: UpstreamRequest = { cancel: () => this.end("cancelled") };

  /** @internal Created by MockUpstreams. */
  constructor(
    readonly token: number,
    readonly rootContextId: number,
    private readonly request: HttpCalloutRequest,
    private readonly callbacks: HttpCallbacks,
    private readonly loop: CalloutLoop,
  ) {
    if (request.timeoutMs !== undefined) this.timer = loop.scheduler.schedule(request.timeoutMs, () => this.timeOut());
  }

  get cluster(): string {
    return this.request.cluster;
  }

  /** The request headers as Envoy sends them upstream. */
  get headers(): HeaderMap {
    return this.request.headers;
  }

  get body(): Uint8Array {
    return this.request.body;
  }

  get bodyText(): string {
    return utf8.decode(this.request.body);
  }

  get trailers(): HeaderMap | undefined {
    return this.request.trailers;
  }

  /** undefined: the plugin set no timeout. */
  get timeoutMs(): number | undefined {
    return this.request.timeoutMs;
  }

  get state(): CalloutState {
    return this.stateValue;
  }

  /** The upstream answers: proxy_on_http_call_response(root, token, headers, body, trailers). */
  respond(init: HttpResponseInit = {}): void {
    this.settle("answered");
    const response = httpResponse(init);
    this.loop.event(() => this.callbacks.onSuccess(response));
  }

  /** The call is reset: proxy_on_http_call_response(root, token, 0, 0, 0), proxy_get_status (11, "reset"). */
  fail(): void {
    this.settle("failed");
    this.loop.event(() => this.callbacks.onFailure());
  }

  /** Envoy's timeout fires now (it does by itself when virtual time reaches it): a local 504 response. */
  timeOut(): void {
    this.settle("timedOut");
    const response = timeoutReply(this.request.headers);
    this.loop.event(() => this.callbacks.onSuccess(response));
  }

  private settle(state: CalloutState): void {
    if (this.stateValue !== "pending") throw new Error(`HTTP call ${this.token} to "${this.cluster}" is already ${this.stateValue}`);
    this.end(state);
  }

  private end(state: CalloutState): void {
    if (this.stateValue !== "pending") return;
    this.stateValue = state;
    if (this.timer) this.loop.scheduler.cancel(this.timer);
  }
}

function httpResponse(init: HttpResponseInit): HttpCalloutResponse {
  const headers = new HeaderMap("responseHeaders", init.headers ?? []);
  if (init.status !== undefined || !headers.has(":status")) headers.setInPlace(":status", String(init.status ?? 200));
  const trailers = init.trailers !== undefined ? new HeaderMap("responseTrailers", init.trailers) : undefined;
  return { headers, body: toBytes(init.body), trailers: trailers && trailers.size > 0 ? trailers : undefined };
}
