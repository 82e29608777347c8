// The response Envoy generates for a local reply (ABI.md §5.7; Envoy
// `Http::Utility::sendLocalReply`, default local-reply config): ":status", then the
// plugin's extra headers (addCopy rules), then content-length / content-type: text/plain
// when there is a body (both removed when there is none). A gRPC request gets a
// trailers-only response instead: 200, application/grpc, grpc-status, grpc-message.
import { HeaderMap } from "../headers.js";

export interface LocalReplyRequest {
  statusCode: number;
  body: Uint8Array;
  /** Extra headers, added in order with Envoy's addCopy (keys lower-cased, inline headers coalesced). */
  headers: readonly (readonly [string, string])[];
  /** gRPC status 0..16, or undefined for "none" (the SDKs pass -1). */
  grpcStatus: number | undefined;
  /** Response code details, whitespace already replaced by "_". */
  details: string;
}

export interface BuiltLocalReply {
  headers: HeaderMap;
  /** Body to encode after the headers; empty = the headers end the stream. */
  body: Uint8Array;
}

const utf8 = new TextDecoder("utf-8");

export function buildLocalReply(request: LocalReplyRequest, requestHeaders: HeaderMap | undefined): BuiltLocalReply {
  const isGrpc = requestHeaders !== undefined && isGrpcRequest(requestHeaders);
  const isHead = requestHeaders?.get(":method") === "HEAD";
  const headers = new HeaderMap("responseHeaders");
  headers.add(":status", String(request.statusCode));
  for (const [k, v] of request.headers) headers.add(k, v);

  if (isGrpc) {
    headers.setInPlace(":status", "200");
    headers.setInPlace("content-type", "application/grpc");
    if (!headers.get("grpc-status")) {
      headers.setInPlace("grpc-status", String(request.grpcStatus ?? httpToGrpcStatus(request.statusCode)));
    }
    if (request.body.length > 0 && !isHead) headers.setInPlace("grpc-message", percentEncode(request.body));
    headers.remove("content-length"); // modify_headers may have added one
    return { headers, body: new Uint8Array(0) };
  }

  if (request.body.length > 0) {
    headers.setInPlace("content-length", String(request.body.length));
    if (!headers.has("content-type")) headers.setInPlace("content-type", "text/plain");
  } else {
    headers.remove("content-length");
    headers.remove("content-type");
  }
  return { headers, body: isHead ? new Uint8Array(0) : request.body.slice() };
}

/** Envoy `Grpc::Common::isGrpcRequestHeaders`: a :path and content-type application/grpc[+…]. */
export function isGrpcRequest(headers: HeaderMap): boolean {
  if (headers.get(":path") === undefined) return false;
  const contentType = headers.get("content-type") ?? "";
  return contentType === "application/grpc" || contentType.startsWith("application/grpc+");
}

/** Envoy `Grpc::Utility::httpToGrpcStatus`. */
export function httpToGrpcStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return 13; // Internal
    case 401:
      return 16; // Unauthenticated
    case 403:
      return 7; // PermissionDenied
    case 404:
      return 12; // Unimplemented
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // Unavailable
    default:
      return 2; // Unknown
  }
}

/** Envoy `PercentEncoding::encode` for grpc-message: bytes < 0x20, ≥ 0x7e and '%' become %XX. */
export function percentEncode(bytes: Uint8Array): string {
  let out = "";
  let plain = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20 || b >= 0x7e || b === 0x25) {
      out += utf8.decode(bytes.subarray(plain, i)) + `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
      plain = i + 1;
    }
  }
  return out + utf8.decode(bytes.subarray(plain));
}

/** Envoy `StringUtil::replaceAllEmptySpace` on the details string. */
export function sanitizeDetails(details: string): string {
  return details.replace(/[ \t\f\v\n\r]/g, "_");
}
