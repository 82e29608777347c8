// The clusters a test configures and the callouts they receive: Envoy's cluster manager
// for the mock host. By default the test answers each call itself (host.httpCalls,
// grpcCalls, grpcStreams) in any order; a cluster may instead answer on its own, like a
// real upstream, one event after the call (or `delayMs` of virtual time later).
import type { GrpcCallbacks, GrpcCalloutRequest, HttpCallbacks, HttpCalloutRequest, UpstreamRequest, UpstreamStream, Upstreams } from "./upstreams.js";
import { GrpcCall, GrpcStream } from "./grpc-call.js";
import { HttpCall, noHealthyUpstreamReply, type CalloutLoop, type HttpResponseInit } from "./http-call.js";

/** An automatic answer to an HTTP call: a response, or `{ fail: true }` (a reset). */
export type HttpAnswer = (HttpResponseInit | { fail: true }) & { delayMs?: number };

/** An automatic answer to a unary gRPC call: the response message, or a failure status. */
export type GrpcAnswer = ({ message: string | Uint8Array } | { status: number; statusMessage?: string }) & { delayMs?: number };

export interface ClusterOptions {
  /** Answers HTTP calls to this cluster; return undefined to leave a call to the test. */
  http?: (call: HttpCall) => HttpAnswer | undefined;
  /** Answers unary gRPC calls to this cluster; return undefined to leave a call to the test. */
  grpc?: (call: GrpcCall) => GrpcAnswer | undefined;
  /**
   * The cluster has no healthy host: Envoy's router answers an HTTP call with a local 503
   * inside the async client's send, so proxy_http_call fails with INTERNAL_FAILURE and no
   * callback follows.
   */
  noHealthyUpstream?: boolean;
}

/** `clusters` in HostOptions: names, or name → options. */
export type ClusterConfig = readonly string[] | Readonly<Record<string, ClusterOptions>>;

export function clusterMap(config: ClusterConfig | undefined): Map<string, ClusterOptions> {
  if (config === undefined) return new Map();
  if (Array.isArray(config)) return new Map((config as readonly string[]).map((name) => [name, {}]));
  return new Map(Object.entries(config as Record<string, ClusterOptions>));
}

export class MockUpstreams implements Upstreams {
  /** Every call and stream, in the order the plugin made them. */
  readonly httpCallHistory: HttpCall[] = [];
  readonly grpcCallHistory: GrpcCall[] = [];
  readonly grpcStreamHistory: GrpcStream[] = [];

  constructor(
    private readonly clusters: Map<string, ClusterOptions>,
    private readonly loop: CalloutLoop,
  ) {}

  /** Adds (or reconfigures) a cluster, like a CDS update. */
  addCluster(name: string, options: ClusterOptions = {}): void {
    this.clusters.set(name, options);
  }

  removeCluster(name: string): void {
    this.clusters.delete(name);
  }

  hasCluster(name: string): boolean {
    return this.clusters.has(name);
  }

  declareClusterHint(name: string): string {
    return `declare it with HostOptions.clusters (e.g. { clusters: [${JSON.stringify(name)}] }) or host.addCluster(${JSON.stringify(name)})`;
  }

  /** HTTP calls waiting for an answer. */
  get httpCalls(): HttpCall[] {
    return this.httpCallHistory.filter((c) => c.state === "pending");
  }

  /** Unary gRPC calls waiting for an answer. */
  get grpcCalls(): GrpcCall[] {
    return this.grpcCallHistory.filter((c) => c.state === "pending");
  }

  /** gRPC streams neither closed by the server nor reset. */
  get grpcStreams(): GrpcStream[] {
    return this.grpcStreamHistory.filter((s) => s.state === "open");
  }

  sendHttp(token: number, rootContextId: number, request: HttpCalloutRequest, callbacks: HttpCallbacks): UpstreamRequest | undefined {
    const cluster = this.clusters.get(request.cluster);
    if (cluster?.noHealthyUpstream) {
      callbacks.onSuccess(noHealthyUpstreamReply(request.headers)); // inline: the Wasm context defers it and then drops it
      return undefined;
    }
    const call = new HttpCall(token, rootContextId, request, callbacks, this.loop);
    this.httpCallHistory.push(call);
    const responder = cluster?.http;
    if (responder) {
      this.later(() => {
        if (call.state !== "pending") return undefined;
        const answer = responder(call);
        return answer && { delayMs: answer.delayMs, apply: () => ("fail" in answer ? call.fail() : call.respond(answer)) };
      }, () => call.state === "pending");
    }
    return call.handle;
  }

  sendGrpc(token: number, rootContextId: number, request: GrpcCalloutRequest, callbacks: GrpcCallbacks): UpstreamRequest | undefined {
    if (!this.reachable(request, callbacks)) return undefined;
    const call = new GrpcCall(token, rootContextId, request, callbacks, this.loop);
    this.grpcCallHistory.push(call);
    const responder = this.clusters.get(request.cluster!)?.grpc;
    if (responder) {
      this.later(() => {
        if (call.state !== "pending") return undefined;
        const answer = responder(call);
        return answer && { delayMs: answer.delayMs, apply: () => ("message" in answer ? call.respond(answer.message) : call.fail(answer.status, answer.statusMessage)) };
      }, () => call.state === "pending");
    }
    return call.handle;
  }

  startGrpcStream(token: number, rootContextId: number, request: GrpcCalloutRequest, callbacks: GrpcCallbacks): UpstreamStream | undefined {
    if (!this.reachable(request, callbacks)) return undefined;
    const stream = new GrpcStream(token, rootContextId, request, callbacks, this.loop);
    this.grpcStreamHistory.push(stream);
    return stream.handle;
  }

  /**
   * Envoy's gRPC client is created without a cluster check; starting the call then finds no
   * cluster and closes it at once with Unavailable, "Cluster not available" (the Wasm context
   * defers that close until the plugin call returns, and the call itself fails).
   */
  private reachable(request: GrpcCalloutRequest, callbacks: GrpcCallbacks): boolean {
    if (request.cluster === undefined) return false; // google_grpc: no Google gRPC client in the mock
    if (this.clusters.has(request.cluster)) return true;
    callbacks.onRemoteClose(14, "Cluster not available");
    return false;
  }

  /** An automatic answer: decided one event later, applied then or `delayMs` of virtual time later. */
  private later(decide: () => { delayMs: number | undefined; apply: () => void } | undefined, stillPending: () => boolean): void {
    this.loop.scheduler.post(() => {
      const answer = decide();
      if (!answer) return;
      const apply = () => {
        if (stillPending()) answer.apply();
      };
      if (answer.delayMs !== undefined && answer.delayMs > 0) this.loop.scheduler.schedule(answer.delayMs, apply);
      else apply();
    });
  }
}
