// Callouts of `pwas serve` go to real upstreams: the clusters named with --cluster
// (name → base URL), reached over HTTP like Envoy's async client would, with the call's
// timeout. What Envoy's router would answer itself, the same here: 504 "upstream request
// timeout", 503 on a connection failure before any response. gRPC callouts are not
// proxied (the dev proxy speaks HTTP/1): they fail as an unavailable cluster would.
import { request as httpRequest } from "node:http";
import type { CalloutLoop } from "../../runtime-mock/envoy/callouts/http-call.js";
import { HeaderMap } from "../../runtime-mock/index.js";
import { plainTextReply } from "./http-mapping.js";
import type {
  GrpcCallbacks, GrpcCalloutRequest, HttpCallbacks, HttpCalloutRequest, HttpCalloutResponse, UpstreamRequest, UpstreamStream, Upstreams,
} from "../../runtime-mock/index.js";


function localReply(status: number, body: string): HttpCalloutResponse {
  return { ...plainTextReply(status, body), trailers: undefined };
}

export class RealUpstreams implements Upstreams {
  private loop: CalloutLoop | undefined;

  constructor(
    private readonly clusters: Record<string, URL>,
    /** Called after each delivery, so requests a plugin resumed move on. */
    private readonly afterDelivery: () => void,
    private readonly onGrpc: (cluster: string | undefined) => void,
  ) {}

  /** The VM whose event loop deliveries run in (known once the host is loaded). */
  attach(loop: CalloutLoop): void {
    this.loop = loop;
  }

  hasCluster(name: string): boolean {
    return Object.hasOwn(this.clusters, name);
  }

  declareClusterHint(name: string): string {
    return `declare it with --cluster ${name}=http://host:port`;
  }

  sendHttp(_token: number, _root: number, call: HttpCalloutRequest, callbacks: HttpCallbacks): UpstreamRequest | undefined {
    const base = this.clusters[call.cluster];
    let settled = false;
    const deliver = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Never inside the plugin call that dispatched it: Envoy answers from its event loop.
      setImmediate(() => {
        this.loop?.event(fn);
        this.afterDelivery();
      });
    };
    const headers: [string, string][] = [];
    let method = "GET";
    let path = "/";
    let authority = base.host;
    for (const [name, value] of call.headers.pairs()) {
      if (name === ":method") method = value;
      else if (name === ":path") path = value;
      else if (name === ":authority") authority = value;
      else if (!name.startsWith(":")) headers.push([name, value]);
    }
    const outgoing = httpRequest({ hostname: base.hostname, port: base.port, method, path, headers: [["host", authority], ...headers].flat(), setHost: false });
    outgoing.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const pairs: [string, string][] = [[":status", String(response.statusCode ?? 502)]];
        for (let i = 0; i < response.rawHeaders.length; i += 2) pairs.push([response.rawHeaders[i].toLowerCase(), response.rawHeaders[i + 1]]);
        const trailerPairs: [string, string][] = [];
        for (let i = 0; i < response.rawTrailers.length; i += 2) trailerPairs.push([response.rawTrailers[i].toLowerCase(), response.rawTrailers[i + 1]]);
        const reply: HttpCalloutResponse = {
          headers: new HeaderMap("responseHeaders", pairs),
          body: new Uint8Array(Buffer.concat(chunks)),
          trailers: trailerPairs.length ? new HeaderMap("responseTrailers", trailerPairs) : undefined,
        };
        deliver(() => callbacks.onSuccess(reply));
      });
      response.on("error", () => deliver(() => callbacks.onFailure()));
    });
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      deliver(() => callbacks.onSuccess(localReply(503, `upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: ${error.code ?? error.message}`)));
    });
    const timer = call.timeoutMs
      ? setTimeout(() => {
          outgoing.destroy();
          deliver(() => callbacks.onSuccess(localReply(504, "upstream request timeout")));
        }, call.timeoutMs)
      : undefined;
    if (call.body.length > 0) outgoing.write(call.body);
    outgoing.end();
    return {
      cancel: () => {
        settled = true;
        clearTimeout(timer);
        outgoing.destroy();
      },
    };
  }

  sendGrpc(_token: number, _root: number, call: GrpcCalloutRequest, _callbacks: GrpcCallbacks): UpstreamRequest | undefined {
    this.onGrpc(call.cluster);
    return undefined;
  }

  startGrpcStream(_token: number, _root: number, call: GrpcCalloutRequest, _callbacks: GrpcCallbacks): UpstreamStream | undefined {
    this.onGrpc(call.cluster);
    return undefined;
  }
}
