// Between Node's HTTP/1 messages and the header maps a filter sees: pseudo-headers,
// lower-case names, hop-by-hop headers that Envoy does not pass on, the request target as
// Envoy rewrites it, and the headers Envoy adds to a request it accepts (x-request-id,
// x-forwarded-proto).
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HeaderMap } from "../../runtime-mock/index.js";
import { normalizePath, type PathNormalization } from "./path-normalization.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "http2-settings"]);

/** Adds Node's raw header list, lower-case, without hop-by-hop headers and without `host`. */
function addRaw(map: HeaderMap, rawHeaders: string[]): HeaderMap {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || name === "host") continue;
    map.add(name, rawHeaders[i + 1]);
  }
  return map;
}

/** Envoy's request, or the 400 its connection manager answers instead. */
export type AcceptedRequest = { headers: HeaderMap; refused?: undefined } | { refused: string; headers?: undefined };

const ABSOLUTE_FORM = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i;

/**
 * The request headers as Envoy's HTTP/1 codec and connection manager hand them to filters:
 * an absolute-form target split into :scheme, :authority and :path (the Host header loses),
 * the path normalized as configured, x-forwarded-proto and x-request-id added.
 */
export function requestHeadersOf(request: IncomingMessage, fallbackAuthority: string, normalization: PathNormalization): AcceptedRequest {
  let target = request.url ?? "/";
  let authority = request.headers.host ?? fallbackAuthority;
  let scheme = "http";
  const absolute = ABSOLUTE_FORM.exec(target);
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
  map.add(":method", request.method ?? "GET");
  map.add(":scheme", scheme);
  addRaw(map, request.rawHeaders);
  // The connection's own scheme (this listener is plaintext), whatever an absolute target says.
  if (!map.has("x-forwarded-proto")) map.add("x-forwarded-proto", "http");
  if (!map.has("x-request-id")) map.add("x-request-id", randomUUID());
  return { headers: map };
}

/** True when an HTTP/1 request carries no body (so the headers end the stream). */
export function requestHasNoBody(request: IncomingMessage): boolean {
  const length = request.headers["content-length"];
  return request.headers["transfer-encoding"] === undefined && (length === undefined || length === "0");
}

export function responseHeadersOf(statusCode: number, rawHeaders: string[]): HeaderMap {
  const map = new HeaderMap("responseHeaders");
  map.add(":status", String(statusCode));
  return addRaw(map, rawHeaders);
}

/** A filter's headers as Node's flat raw list [name, value, name, value, …], without pseudo-headers. */
export function rawHeadersOf(headers: HeaderMap): string[] {
  const raw: string[] = [];
  headers.forEach((name, value) => {
    if (name.charCodeAt(0) !== 58 /* ":" */ && !HOP_BY_HOP.has(name)) raw.push(name, value);
  });
  return raw;
}

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
