// Envoy's side of HTTP and gRPC callouts (ABI.md §5.8, §5.9) as far as the argument checks
// need it. The host has no cluster registry yet: `NoClusters` knows no cluster and starts
// nothing, so every call ends in the status Envoy gives for an unknown cluster. A later
// callout implementation plugs in here (a CalloutDispatcher that knows clusters, starts
// calls and later delivers their results to the root context).
import { WasmResult } from "./abi/types.js";
import type { HeaderMap } from "./headers.js";

export interface HttpCalloutRequest {
  cluster: string;
  headers: HeaderMap;
  body: Uint8Array;
  trailers?: HeaderMap;
  /** undefined = no timeout */
  timeoutMs?: number;
}

export interface GrpcCalloutRequest {
  /** envoy_grpc.cluster_name, or the plain cluster name the plugin passed */
  cluster: string | undefined;
  serviceName: string;
  methodName: string;
  initialMetadata: [string, string][];
  /** The unary request message; undefined for a stream. */
  message?: Uint8Array;
  timeoutMs?: number;
}

export interface CalloutDispatcher {
  /** Envoy `ClusterManager::getThreadLocalCluster(name) != nullptr`. */
  hasCluster(name: string): boolean;
  /** Hands the request to the async client; false = it refused to start (INTERNAL_FAILURE). */
  startHttpCall(token: number, rootContextId: number, request: HttpCalloutRequest): boolean;
  /** Same for a unary gRPC call or a gRPC stream. */
  startGrpc(token: number, rootContextId: number, request: GrpcCalloutRequest): boolean;
  /** proxy_grpc_send on a stream token; NOT_FOUND for an unknown stream. */
  grpcSend(token: number, message: Uint8Array, endStream: boolean): WasmResult;
  /** proxy_grpc_close (call: cancel; stream: half-close); NOT_FOUND for an unknown token. */
  grpcClose(token: number): WasmResult;
  /** proxy_grpc_cancel (call: cancel; stream: reset); NOT_FOUND for an unknown token. */
  grpcCancel(token: number): WasmResult;
}

/** No cluster is configured: Envoy's answers for an unknown cluster. */
export class NoClusters implements CalloutDispatcher {
  hasCluster(): boolean {
    return false;
  }
  startHttpCall(): boolean {
    return false;
  }
  // For an envoy_grpc service Envoy skips the cluster check when creating the client; the
  // send then fails synchronously for a missing cluster and the call returns INTERNAL_FAILURE.
  startGrpc(): boolean {
    return false;
  }
  grpcSend(): WasmResult {
    return WasmResult.NotFound;
  }
  grpcClose(): WasmResult {
    return WasmResult.NotFound;
  }
  grpcCancel(): WasmResult {
    return WasmResult.NotFound;
  }
}

/** Per-VM callout token sequences (ABI.md §3.10): HTTP 4, 8…; gRPC calls 5, 9…; gRPC streams 6, 10…; DNS 1, 2…. */
export class CalloutTokens {
  private http = 0;
  private grpcCall = 1;
  private grpcStream = 2;
  private dns = 0;

  nextHttpCall(): number {
    return (this.http = (this.http + 4) >>> 0);
  }
  nextGrpcCall(): number {
    return (this.grpcCall = (this.grpcCall + 4) >>> 0);
  }
  nextGrpcStream(): number {
    return (this.grpcStream = (this.grpcStream + 4) >>> 0);
  }
  nextDns(): number {
    do this.dns = (this.dns + 1) >>> 0;
    while (this.dns === 0);
    return this.dns;
  }
}

export const isGrpcCallToken = (token: number) => (token & 3) === 1;
export const isGrpcStreamToken = (token: number) => (token & 3) === 2;
