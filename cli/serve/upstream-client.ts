// One request to an upstream cluster, in the cluster's protocol, as Envoy's upstream codecs
// send and receive it: HTTP/1.1 (node:http, node:https) or HTTP/2 (one multiplexed session
// per cluster, h2c or h2 over TLS). The caller gives the request as a filter left it and
// gets the response back as Envoy's codec would hand it to the filters: :status first,
// lower-case names, no hop-by-hop headers, the end of stream on the last frame, trailers.
import { connect as connectHttp2, constants as http2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { HeaderMap } from "../../runtime-mock/index.js";
import { rawHeadersOf, responseHasNoBody, responseHeadersOf, trailersOf } from "./http-mapping.js";
import type { UpstreamTarget } from "./upstream-target.js";

/** What the caller hears of the response. */
export interface ResponseHandler {
  headers(headers: HeaderMap, endOfStream: boolean): void;
  data(chunk: Uint8Array, endOfStream: boolean): void;
  trailers(trailers: HeaderMap): void;
  /** The request failed: before any response (`responded` false: Envoy's 503) or after (a reset). */
  failed(error: NodeJS.ErrnoException, responded: boolean): void;
}

/** The request side, as it is being sent. */
export interface UpstreamCall {
  /** False: the upstream takes no more for now; wait for `onDrain`. */
  write(chunk: Uint8Array): boolean;
  end(chunk?: Uint8Array): void;
  sendTrailers(trailers: HeaderMap): void;
  onDrain(listener: () => void): void;
  /** Stop reading the response (the client cannot take more), and go on. */
  pauseResponse(): void;
  resumeResponse(): void;
  destroy(): void;
}

export interface UpstreamClientOptions {
  /** PEM certificates to trust for https:// targets (Envoy's validation_context), besides the system's. */
  ca?: string | undefined;
  /** Http1ProtocolOptions.enable_trailers for HTTP/1 clusters (off: request trailers are not sent, response trailers not read). */
  http1Trailers?: boolean | undefined;
}

/** HTTP/2 sessions, one per origin, reused while they live (Envoy's connection pool keeps one). */
export class UpstreamClient {
  private readonly sessions = new Map<string, ClientHttp2Session>();

  constructor(private readonly options: UpstreamClientOptions = {}) {}

  /** Sends the request; the response arrives through `handler`. */
  start(target: UpstreamTarget, headers: HeaderMap, endOfStream: boolean, handler: ResponseHandler): UpstreamCall {
    return target.http2 ? this.startHttp2(target, headers, endOfStream, handler) : this.startHttp1(target, headers, endOfStream, handler);
  }

  /** The HTTP/2 session to `url`'s origin, opened on first use. */
  session(url: URL): ClientHttp2Session {
    const origin = url.origin;
    const existing = this.sessions.get(origin);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = connectHttp2(origin, this.options.ca ? { ca: this.options.ca } : {});
    this.sessions.set(origin, session);
    const forget = () => {
      if (this.sessions.get(origin) === session) this.sessions.delete(origin);
    };
    session.on("close", forget);
    session.on("goaway", forget);
    // A connection failure fails its streams (each hears it); the session itself must not throw.
    session.on("error", forget);
    // Idle sessions must not keep the process alive.
    session.unref();
    return session;
  }

  close(): void {
    for (const session of this.sessions.values()) session.destroy();
    this.sessions.clear();
  }

  private startHttp1(target: UpstreamTarget, headers: HeaderMap, endOfStream: boolean, handler: ResponseHandler): UpstreamCall {
    const method = headers.get(":method") ?? "GET";
    const raw = rawHeadersOf(headers);
    raw.unshift("host", headers.get(":authority") ?? target.url.host);
    const https = target.url.protocol === "https:";
    const outgoing: ClientRequest = (https ? httpsRequest : httpRequest)({
      hostname: target.url.hostname,
      port: target.url.port,
      method,
      path: headers.get(":path") ?? "/",
      headers: raw,
      setHost: false,
      ...(https && this.options.ca ? { ca: this.options.ca } : {}),
    });
    let response: IncomingMessage | undefined;
    let complete = false;
    outgoing.on("response", (incoming: IncomingMessage) => {
      response = incoming;
      const status = incoming.statusCode ?? 502;
      const noBody = responseHasNoBody(method, status);
      incoming.on("error", (error: NodeJS.ErrnoException) => handler.failed(error, true));
      incoming.on("aborted", () => handler.failed(Object.assign(new Error("upstream reset"), { code: "ECONNRESET" }), true));
      incoming.on("end", () => (complete = true));
      handler.headers(responseHeadersOf(status, incoming.rawHeaders), noBody);
      if (noBody) incoming.resume();
      else forwardBody(incoming, handler, () => (this.options.http1Trailers ? trailersOf("responseTrailers", incoming.rawTrailers) : undefined));
    });
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      if (!complete) handler.failed(error, response !== undefined);
    });
    if (endOfStream) outgoing.end();
    return {
      write: (chunk) => outgoing.write(chunk),
      end: (chunk) => outgoing.end(chunk && chunk.length > 0 ? chunk : undefined),
      sendTrailers: (trailers) => {
        if (this.options.http1Trailers) outgoing.addTrailers(trailers.pairs());
        outgoing.end();
      },
      onDrain: (listener) => void outgoing.once("drain", listener),
      pauseResponse: () => response?.pause(),
      resumeResponse: () => response?.resume(),
      destroy: () => {
        if (!complete) outgoing.destroy();
      },
    };
  }

  private startHttp2(target: UpstreamTarget, headers: HeaderMap, endOfStream: boolean, handler: ResponseHandler): UpstreamCall {
    let stream: ClientHttp2Stream;
    let responded = false;
    let complete = false;
    let failed = false;
    const fail = (error: NodeJS.ErrnoException) => {
      if (failed || complete) return;
      failed = true;
      // Report the connection's own failure (ECONNREFUSED…), not the stream's cancellation.
      const code = connectionFailure(error);
      handler.failed(code !== undefined ? Object.assign(new Error(error.message), { code }) : error, responded);
    };
    let pendingTrailers: HeaderMap | undefined;
    try {
      stream = this.session(target.url).request(http2RequestHeaders(headers, target.url), { endStream: endOfStream, waitForTrailers: !endOfStream });
    } catch (error) {
      // The session is already going away: as a connection failure.
      queueMicrotask(() => fail(error as NodeJS.ErrnoException));
      return inertCall();
    }
    // With waitForTrailers the stream ends only with trailers: none to send is an empty trailers frame (still END_STREAM).
    stream.on("wantTrailers", () => stream.sendTrailers(pendingTrailers ? http2Fields(pendingTrailers) : {}));
    stream.on("response", (incoming: IncomingHttpHeaders, flags: number) => {
      responded = true;
      const status = Number(incoming[":status"] ?? 502);
      const method = headers.get(":method") ?? "GET";
      // END_STREAM on the HEADERS frame (a client stream's endAfterHeaders is not set yet here).
      const endsHere = (flags & http2.NGHTTP2_FLAG_END_STREAM) !== 0 || responseHasNoBody(method, status);
      handler.headers(headerMapOf("responseHeaders", incoming), endsHere);
      if (endsHere) {
        complete = true;
        stream.resume();
        return;
      }
      let trailers: HeaderMap | undefined;
      stream.once("trailers", (fields: IncomingHttpHeaders) => (trailers = headerMapOf("responseTrailers", fields)));
      forwardBody(stream, handler, () => trailers, Number(incoming["content-length"] ?? NaN));
      stream.once("end", () => (complete = true));
    });
    stream.on("error", (error: NodeJS.ErrnoException) => fail(error));
    stream.on("close", () => {
      // RST_STREAM from the peer (or a session that went away) before the end: a reset. An
      // error, if any, came first (setImmediate: after the stream's own error event).
      if (!complete) setImmediate(() => fail(Object.assign(new Error(`upstream reset (HTTP/2 error ${stream.rstCode ?? "none"})`), { code: "ECONNRESET" })));
    });
    return {
      write: (chunk) => stream.write(chunk),
      end: (chunk) => stream.end(chunk && chunk.length > 0 ? chunk : undefined),
      sendTrailers: (trailers) => {
        pendingTrailers = trailers;
        stream.end();
      },
      onDrain: (listener) => void stream.once("drain", listener),
      pauseResponse: () => stream.pause(),
      resumeResponse: () => stream.resume(),
      destroy: () => {
        if (!complete && !stream.destroyed) stream.close(http2.NGHTTP2_CANCEL);
      },
    };
  }
}

/**
 * The connection failure behind an HTTP/2 stream error (a stream opened on a session that
 * could not connect is cancelled, the cause attached), or undefined for a stream-level error.
 */
export function connectionFailure(error: NodeJS.ErrnoException | undefined): string | undefined {
  if (!error) return undefined;
  const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
  if (cause?.syscall !== undefined) return cause.code ?? cause.message;
  if (error.syscall !== undefined) return error.code ?? error.message;
  return undefined;
}

function inertCall(): UpstreamCall {
  return { write: () => true, end: () => {}, sendTrailers: () => {}, onDrain: () => {}, pauseResponse: () => {}, resumeResponse: () => {}, destroy: () => {} };
}

/** HTTP/2 connection-specific headers (RFC 9113 §8.2.2), which Envoy's HTTP/2 codec never sends; `te` only as "trailers". */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "http2-settings"]);

/** A filter's request headers as HTTP/2 fields: pseudo-headers first, repeated names as lists. */
export function http2RequestHeaders(headers: HeaderMap, url: URL): OutgoingHttpHeaders {
  const fields: OutgoingHttpHeaders = {
    [http2.HTTP2_HEADER_METHOD]: headers.get(":method") ?? "GET",
    [http2.HTTP2_HEADER_SCHEME]: url.protocol === "https:" ? "https" : "http",
    [http2.HTTP2_HEADER_AUTHORITY]: headers.get(":authority") ?? url.host,
    [http2.HTTP2_HEADER_PATH]: headers.get(":path") ?? "/",
  };
  return Object.assign(fields, http2Fields(headers));
}

/** Regular fields of a map for an HTTP/2 HEADERS frame (no pseudo-headers, no connection-specific ones). */
export function http2Fields(headers: HeaderMap): OutgoingHttpHeaders {
  const fields: OutgoingHttpHeaders = {};
  headers.forEach((name, value) => {
    if (name.charCodeAt(0) === 58 /* ":" */ || CONNECTION_SPECIFIC.has(name)) return;
    if (name === "te" && value.trim().toLowerCase() !== "trailers") return;
    const previous = fields[name];
    fields[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [String(previous), value];
  });
  return fields;
}

/** Node's HTTP/2 header object as Envoy's codec lists it: pseudo-headers first, in the frame's order. */
export function headerMapOf(kind: "requestHeaders" | "responseHeaders" | "responseTrailers" | "requestTrailers", fields: IncomingHttpHeaders): HeaderMap {
  const map = new HeaderMap(kind);
  const names = Object.keys(fields);
  for (const pseudo of [true, false]) {
    for (const name of names) {
      if ((name.charCodeAt(0) === 58) !== pseudo) continue;
      const value = fields[name];
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) map.add(name, v);
      else map.add(name, String(value));
    }
  }
  return map;
}

/**
 * Passes a body on chunk by chunk. The chunk that completes a declared content-length
 * carries the end of stream itself, as in Envoy's codecs; otherwise the end comes with the
 * trailers, or as an empty last chunk.
 */
export function forwardBody(
  source: NodeJS.ReadableStream & { headers?: IncomingMessage["headers"] },
  handler: Pick<ResponseHandler, "data" | "trailers">,
  trailersAtEnd: () => HeaderMap | undefined,
  declaredLength = lengthOf(source.headers),
  onChunk?: () => void,
): void {
  let received = 0;
  let ended = false;
  source.on("data", (chunk: Buffer) => {
    received += chunk.length;
    ended = received === declaredLength;
    onChunk?.();
    handler.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), ended);
  });
  source.on("end", () => {
    if (ended) return;
    const trailers = trailersAtEnd();
    if (trailers) handler.trailers(trailers);
    else handler.data(new Uint8Array(0), true);
  });
}

function lengthOf(headers: IncomingMessage["headers"] | undefined): number {
  if (!headers) return NaN;
  const declared = headers["content-length"];
  return declared !== undefined && headers["transfer-encoding"] === undefined ? Number(declared) : NaN;
}
