// Callouts of `pwas serve` go to real upstreams: the clusters named with --cluster, in each
// cluster's protocol, with the call's timeout. HTTP calls as Envoy's async client makes them
// (504 "upstream request timeout" at the timeout, 503 on a connection failure before any
// response, a reset after it); gRPC calls and streams over HTTP/2 as its envoy_grpc client
// makes them (grpc-client.ts). Answers are delivered from the event loop, never inside the
// plugin call that dispatched them, and each delivery moves the requests a plugin resumed.
import type { CalloutLoop } from "../../runtime-mock/envoy/callouts/http-call.js";
import type {
  GrpcCallbacks, GrpcCalloutRequest, HttpCallbacks, HttpCalloutRequest, HttpCalloutResponse, UpstreamRequest, UpstreamStream, Upstreams,
} from "../../runtime-mock/index.js";
import { HeaderMap } from "../../runtime-mock/index.js";
import { startGrpcCall, startGrpcStream, type Deliver } from "./grpc-client.js";
import { plainTextReply, transportFailure, upstreamConnectError } from "./http-mapping.js";
import type { UpstreamClient } from "./upstream-client.js";
import type { UpstreamTarget } from "./upstream-target.js";

function localReply(status: number, body: string): HttpCalloutResponse {
  return { ...plainTextReply(status, body), trailers: undefined };
}

export class RealUpstreams implements Upstreams {
  private loop: CalloutLoop | undefined;

  constructor(
    private readonly clusters: Record<string, UpstreamTarget>,
    private readonly client: UpstreamClient,
    /** Called after each delivery, so requests a plugin resumed move on. */
    private readonly afterDelivery: () => void,
    /** A gRPC callout pwas serve cannot make (a google_grpc target). */
    private readonly onUnsupported: (what: string) => void,
  ) {}

  /** The VM whose event loop deliveries run in (known once the host is loaded). */
  attach(loop: CalloutLoop): void {
    this.loop = loop;
  }

  hasCluster(name: string): boolean {
    return Object.hasOwn(this.clusters, name);
  }

  declareClusterHint(name: string): string {
    return `declare it with --cluster ${name}=http://host:port (",http2" for an HTTP/2 or gRPC service)`;
  }

  /** Deliveries in order, each in its own turn of the event loop (Envoy answers from its dispatcher). */
  private readonly deliver: Deliver = (callback) => {
    setImmediate(() => {
      this.loop?.event(callback);
      this.afterDelivery();
    });
  };

  sendHttp(_token: number, _root: number, call: HttpCalloutRequest, callbacks: HttpCallbacks): UpstreamRequest | undefined {
    const target = this.clusters[call.cluster]!;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.deliver(fn);
    };
    let responseHeaders: HeaderMap | undefined;
    const chunks: Uint8Array[] = [];
    const finish = (trailers: HeaderMap | undefined) => {
      const body = new Uint8Array(Buffer.concat(chunks));
      settle(() => callbacks.onSuccess({ headers: responseHeaders!, body, trailers }));
    };
    const outgoing = this.client.start(target, call.headers, false, {
      headers: (headers, endOfStream) => {
        responseHeaders = headers;
        if (endOfStream) finish(undefined);
      },
      data: (chunk, endOfStream) => {
        chunks.push(chunk.slice());
        if (endOfStream) finish(undefined);
      },
      trailers: (trailers) => finish(trailers),
      failed: (error, responded) => {
        if (responded) settle(() => callbacks.onFailure());
        else settle(() => callbacks.onSuccess(localReply(503, upstreamConnectError(transportFailure(error.code ?? error.message)))));
      },
    });
    const timer = call.timeoutMs
      ? setTimeout(() => {
          outgoing.destroy();
          settle(() => callbacks.onSuccess(localReply(504, "upstream request timeout")));
        }, call.timeoutMs)
      : undefined;
    if (call.trailers && call.trailers.size > 0) {
      if (call.body.length > 0) outgoing.write(call.body);
      outgoing.sendTrailers(call.trailers);
    } else {
      outgoing.end(call.body);
    }
    return {
      cancel: () => {
        settled = true;
        clearTimeout(timer);
        outgoing.destroy();
      },
    };
  }

  sendGrpc(_token: number, _root: number, call: GrpcCalloutRequest, callbacks: GrpcCallbacks): UpstreamRequest | undefined {
    const target = this.grpcTarget(call);
    return target && startGrpcCall(this.client, target, call, callbacks, this.deliver);
  }

  startGrpcStream(_token: number, _root: number, call: GrpcCalloutRequest, callbacks: GrpcCallbacks): UpstreamStream | undefined {
    const target = this.grpcTarget(call);
    return target && startGrpcStream(this.client, target, call, callbacks, this.deliver);
  }

  /** gRPC always goes over HTTP/2 (in Envoy a gRPC cluster needs http2_protocol_options). */
  private grpcTarget(call: GrpcCalloutRequest): UpstreamTarget | undefined {
    if (call.cluster === undefined) {
      this.onUnsupported(`gRPC callout to a google_grpc target (${call.serviceName}/${call.methodName}) failed: pwas serve calls envoy_grpc clusters only`);
      return undefined;
    }
    const target = this.clusters[call.cluster];
    if (!target) return undefined;
    return target.http2 ? target : { url: target.url, http2: true };
  }
}
