// Between Node's HTTP/1 and HTTP/2 messages and the header maps a filter sees:
// pseudo-headers, lower-case names, hop-by-hop (connection-specific) headers that Envoy does
// not pass on, the request target as Envoy rewrites it, and the headers Envoy adds to a
// request it accepts (x-request-id, x-forwarded-proto).
import { randomUUID } from "node:crypto";
import { HeaderMap } from "../../runtime-mock/index.js";
import { normalizePath, type PathNormalization } from "./path-normalization.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "trailer", "http2-settings"]);

/** Envoy keeps `te` only as "trailers" (gRPC needs it end to end); any other TE goes. */
function keptTe(value: string): boolean {
  return value.split(",").some((token) => token.trim().toLowerCase() === "trailers");
}

/** Adds a raw header list (name, value, …), lower-case, without hop-by-hop headers, pseudo-headers and `host`. */
function addRaw(map: HeaderMap, rawHeaders: readonly string[]): HeaderMap {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || name === "host" || name.charCodeAt(0) === 58) continue;
    if (name === "te") {
      if (keptTe(rawHeaders[i + 1])) map.add("te", "trailers");
      continue;
    }
    map.add(name, rawHeaders[i + 1]);
  }
  return map;
}

/** What the codec read of a request, whatever the protocol. */
export interface RequestHead {
  method: string;
  /** The request target: origin-form (HTTP/1 may send absolute-form), or HTTP/2's :path. */
  target: string;
  /** Host or :authority, if the client sent one. */
  authority: string | undefined;
  /** HTTP/2's :scheme as the client sent it; HTTP/1 has none. */
  scheme: string | undefined;
  /** The connection's own scheme: "https" on a TLS listener. */
  connectionScheme: "http" | "https";
  /** Every other field, as [name, value, name, value, …] in the order received. */
  rawHeaders: readonly string[];
}

/** Envoy's request, or the 400 its connection manager answers instead. */
export type AcceptedRequest = { headers: HeaderMap; refused?: undefined } | { refused: string; headers?: undefined };

const ABSOLUTE_FORM = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i;

/**
 * The request headers as Envoy's codecs and connection manager hand them to filters: an
 * absolute-form target split into :scheme, :authority and :path (the Host header loses),
 * the path normalized as configured, x-forwarded-proto and x-request-id added.
 */
export function requestHeadersOf(request: RequestHead, fallbackAuthority: string, normalization: PathNormalization): AcceptedRequest {
  let target = request.target || "/";
  let authority = request.authority ?? fallbackAuthority;
  let scheme = request.scheme ?? request.connectionScheme;
  const absolute = request.scheme === undefined ? ABSOLUTE_FORM.exec(target) : null;
  if (absolute) {
    scheme = absolute[1].toLowerCase();
    authority = absolute[2];
    target = absolute[3] || "/";
    if (!authority) return { refused: "absolute-form target without a host" };
  }
  const path = normalizePath(target, normalization);
  if (path === undefined) return { refused: "path_normalization_failed" };
  const map = new HeaderMap("requestHeaders");
  map.add(":authority", authority);
  map.add(":path", path);
  map.add(":method", request.method);
  map.add(":scheme", scheme);
  addRaw(map, request.rawHeaders);
  // The connection's own scheme, whatever an absolute target or :scheme says.
  if (!map.has("x-forwarded-proto")) map.add("x-forwarded-proto", request.connectionScheme);
  if (!map.has("x-request-id")) map.add("x-request-id", randomUUID());
  return { headers: map };
}

/** True when an HTTP/1 request carries no body (so the headers end the stream). */
export function requestHasNoBody(headers: { "content-length"?: string | undefined; "transfer-encoding"?: string | undefined }): boolean {
  const length = headers["content-length"];
  return headers["transfer-encoding"] === undefined && (length === undefined || length === "0");
}

export function responseHeadersOf(statusCode: number, rawHeaders: readonly string[]): HeaderMap {
  const map = new HeaderMap("responseHeaders");
  map.add(":status", String(statusCode));
  return addRaw(map, rawHeaders);
}

/** A filter's headers as Node's flat raw list [name, value, name, value, …], without pseudo-headers. */
export function rawHeadersOf(headers: HeaderMap): string[] {
  const raw: string[] = [];
  headers.forEach((name, value) => {
    if (name.charCodeAt(0) === 58 /* ":" */ || HOP_BY_HOP.has(name)) return;
    if (name === "te" && !keptTe(value)) return;
    raw.push(name, value);
  });
  return raw;
}

/** HTTP/1 trailers (Node's rawTrailers) as a map with lower-case names; undefined when there are none. */
export function trailersOf(kind: "requestTrailers" | "responseTrailers", rawTrailers: readonly string[]): HeaderMap | undefined {
  if (rawTrailers.length === 0) return undefined;
  const pairs: [string, string][] = [];
  for (let i = 0; i < rawTrailers.length; i += 2) pairs.push([rawTrailers[i].toLowerCase(), rawTrailers[i + 1]]);
  return new HeaderMap(kind, pairs);
}

/** The body of Envoy's router reply when an upstream cannot be reached (503, gRPC 14). */
export const upstreamConnectError = (resetReason: string): string => `upstream connect error or disconnect/reset before headers. reset reason: ${resetReason}`;

/** The reset reason of a connection that could not be made (ECONNREFUSED, …). */
export const transportFailure = (cause: string): string => `connection failure, transport failure reason: ${cause}`;

/** A status with no body by definition (or a HEAD response). */
export function responseHasNoBody(method: string, status: number): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

const textEncoder = new TextEncoder();

/** A reply Envoy makes itself (503, 504, 408): a plain-text body with its length. */
export function plainTextReply(status: number, body: string): { headers: HeaderMap; body: Uint8Array } {
  const bytes = textEncoder.encode(body);
  return { headers: new HeaderMap("responseHeaders", [[":status", String(status)], ["content-length", String(bytes.length)], ["content-type", "text/plain"]]), body: bytes };
}
