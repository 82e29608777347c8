// Between Node's HTTP/1 messages and the header maps a filter sees: pseudo-headers,
// lower-case names, hop-by-hop headers that Envoy does not pass on, and the headers
// Envoy adds to a request it accepts (x-request-id, x-forwarded-proto).
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Pairs } from "./request-chain.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "http2-settings"]);

/** Node's raw header list as lower-case pairs, without hop-by-hop headers and without `host`. */
function pairsOf(rawHeaders: string[]): Pairs {
  const pairs: Pairs = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || name === "host") continue;
    pairs.push([name, rawHeaders[i + 1]]);
  }
  return pairs;
}

/** The request headers as Envoy's HTTP/1 codec and connection manager hand them to filters. */
export function requestHeadersOf(request: IncomingMessage, fallbackAuthority: string): Pairs {
  const pairs: Pairs = [
    [":authority", request.headers.host ?? fallbackAuthority],
    [":path", request.url ?? "/"],
    [":method", request.method ?? "GET"],
    [":scheme", "http"],
    ...pairsOf(request.rawHeaders),
  ];
  if (!pairs.some(([name]) => name === "x-forwarded-proto")) pairs.push(["x-forwarded-proto", "http"]);
  if (!pairs.some(([name]) => name === "x-request-id")) pairs.push(["x-request-id", randomUUID()]);
  return pairs;
}

/** True when an HTTP/1 request carries no body (so the headers end the stream). */
export function requestHasNoBody(request: IncomingMessage): boolean {
  const length = request.headers["content-length"];
  return request.headers["transfer-encoding"] === undefined && (length === undefined || length === "0");
}

export function responseHeadersOf(statusCode: number, rawHeaders: string[]): Pairs {
  return [[":status", String(statusCode)], ...pairsOf(rawHeaders)];
}

/**
 * Splits filter headers into what Node's HTTP API takes: pseudo-headers apart, the rest
 * as Node's flat raw list [name, value, name, value, …].
 */
export function splitPseudo(headers: Pairs): { pseudo: Map<string, string>; raw: string[] } {
  const pseudo = new Map<string, string>();
  const raw: string[] = [];
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];
    if (name.charCodeAt(0) === 58 /* ":" */) pseudo.set(name, value);
    else if (!HOP_BY_HOP.has(name)) raw.push(name, value);
  }
  return { pseudo, raw };
}

/** A status with no body by definition (or a HEAD response). */
export function responseHasNoBody(method: string, status: number): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}
