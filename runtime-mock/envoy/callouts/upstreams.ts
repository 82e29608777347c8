// What Envoy's Wasm context asks of its cluster manager and async clients for callouts,
// and the callbacks it gives them (Envoy `AsyncClient::Callbacks`, `RawAsyncStreamCallbacks`).
// Answered by the test (mock-upstreams.ts) or by real clusters (pwas serve).
import type { HeaderMap } from "../headers.js";

export interface HttpCalloutRequest {
  cluster: string;
  /** The request headers as Envoy sends them (keys lower-cased, `host` as :authority, content-length set for a body). */
  headers: HeaderMap;
  body: Uint8Array;
  /** undefined when the plugin sent none. */
  trailers: HeaderMap | undefined;
  /** undefined = no timeout. */
  timeoutMs: number | undefined;
}

export interface HttpCalloutResponse {
  headers: HeaderMap;
  body: Uint8Array;
  trailers: HeaderMap | undefined;
}

export interface GrpcCalloutRequest {
  /** envoy_grpc.cluster_name, or the plain cluster name the plugin passed; undefined for a google_grpc target. */
  cluster: string | undefined;
  serviceName: string;
  methodName: string;
  initialMetadata: HeaderMap;
  /** The unary request message; undefined for a stream. */
  message: Uint8Array | undefined;
  /** undefined = no timeout (always for streams). */
  timeoutMs: number | undefined;
}

/** Envoy's `AsyncClient::Callbacks` for one HTTP call; they may fire inside the send itself. */
export interface HttpCallbacks {
  onSuccess(response: HttpCalloutResponse): void;
  /** Reset, or the response exceeded the buffer limit. */
  onFailure(): void;
}

/** Envoy's gRPC callbacks. A unary call uses only onMessage (success) and onRemoteClose (failure). */
export interface GrpcCallbacks {
  onInitialMetadata(metadata: HeaderMap): void;
  onMessage(message: Uint8Array): void;
  onTrailingMetadata(metadata: HeaderMap): void;
  onRemoteClose(status: number, message: string): void;
}

/** An HTTP call or unary gRPC call in flight, as Envoy's Wasm context holds it. */
export interface UpstreamRequest {
  cancel(): void;
}

/** A gRPC stream in flight (Envoy `RawAsyncStream`). */
export interface UpstreamStream {
  send(message: Uint8Array, endStream: boolean): void;
  /** Half-close: the peer may still send. */
  closeStream(): void;
  /** Reset: nothing more either way. */
  resetStream(): void;
}

/** Envoy's cluster manager and async clients, as far as the Wasm context uses them. */
export interface Upstreams {
  hasCluster(name: string): boolean;
  /** How to declare a cluster a plugin called but nobody declared (the host's warning ends with it). */
  declareClusterHint?(name: string): string;
  /** undefined: the async client failed the request at once (the plugin gets INTERNAL_FAILURE). */
  sendHttp(token: number, rootContextId: number, request: HttpCalloutRequest, callbacks: HttpCallbacks): UpstreamRequest | undefined;
  sendGrpc(token: number, rootContextId: number, request: GrpcCalloutRequest, callbacks: GrpcCallbacks): UpstreamRequest | undefined;
  startGrpcStream(token: number, rootContextId: number, request: GrpcCalloutRequest, callbacks: GrpcCallbacks): UpstreamStream | undefined;
}
