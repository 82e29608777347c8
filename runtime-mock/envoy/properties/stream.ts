// Attributes Envoy derives from a stream (E-EXPR RequestWrapper, ResponseWrapper,
// ConnectionWrapper, PeerWrapper, HeadersWrapper), as lazily computed fields.
import { TypedValue, type PropertyValue } from "./values.js";
import { utf8Bytes } from "../../wasm/utf8.js";

/** Minimal read-only view of a header map the model needs (the host's HeaderMap satisfies it). */
export interface HeaderView {
  get(key: string): string | undefined;
  getAll(key: string): string[];
  pairs(): [string, string][];
}

/** Live facts of an HTTP or TCP stream (Envoy's StreamInfo plus the header maps in view). */
export interface StreamFacts {
  /** Pass only the maps Envoy still holds at this point of the stream. */
  requestHeaders?: HeaderView;
  responseHeaders?: HeaderView;
  responseTrailers?: HeaderView;
  /** request.protocol: "HTTP/1.0", "HTTP/1.1" (usual default), "HTTP/2", "HTTP/3"; unused for TCP */
  protocol: string;
  /** request.time, ns since the Unix epoch */
  startTimeNs: bigint;
  /** bytes received / sent (request.size fallback, response.size, *.total_size) */
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** e.g. "via_upstream", "wasm_close_stream" */
  responseCodeDetails?: string;
  connectionId: number;
  /** "ip:port", "[ip]:port" for IPv6 */
  sourceAddress: string;
  destinationAddress: string;
  mtls: boolean;
  requestedServerName: string;
  requestComplete: boolean;
  durationNs?: bigint;
}

/** A host object CEL can index but not list (Envoy's BaseWrapper): whole → SerializationFailure. */
export class Wrapper {
  constructor(private readonly lookup: (key: string) => Resolved | undefined) {}
  get(key: string): Resolved | undefined {
    return this.lookup(key);
  }
}

/** `request.headers` & co. (E-EXPR HeadersWrapper): listable, lower-cased lookups, repeats comma-joined. */
export class HeaderMapNode {
  constructor(private readonly view: HeaderView | undefined) {}

  get(key: string): string | undefined {
    if (this.view === undefined || !isValidHeaderName(key)) return undefined;
    const values = this.view.getAll(key.toLowerCase());
    return values.length === 0 ? undefined : values.join(",");
  }

  entries(): [string, string][] {
    if (this.view === undefined) return [];
    const keys = new Set(this.view.pairs().map(([k]) => k));
    return [...keys].map((k) => [k, this.view!.getAll(k).join(",")]);
  }
}

export type Resolved = PropertyValue | Wrapper | HeaderMapNode;
export type Fields = ReadonlyMap<string, () => Resolved | undefined>;

// Envoy's HeaderUtility::headerNameIsValid: RFC 7230 token; pseudo-headers with HTTP/2 rules (no upper case).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PSEUDO = /^:[!#$%&'*+\-.^_`|~0-9a-z]+$/;
function isValidHeaderName(key: string): boolean {
  return key.startsWith(":") ? PSEUDO.test(key) : TOKEN.test(key);
}

/** Envoy's HeaderMap::byteSize(): Σ key + value bytes. */
function byteSize(view: HeaderView | undefined): number {
  let n = 0;
  for (const [k, v] of view?.pairs() ?? []) n += utf8Bytes(k).length + utf8Bytes(v).length;
  return n;
}

/** absl::SimpleAtoi: surrounding ASCII whitespace allowed, optional sign (none for unsigned), range-checked. */
export function parseAbslInt(text: string, min: bigint, max: bigint): bigint | undefined {
  const m = /^[\t\n\v\f\r ]*([+-]?)([0-9]+)[\t\n\v\f\r ]*$/.exec(text);
  if (m === null || (min >= 0n && m[1] === "-")) return undefined;
  const v = m[1] === "-" ? -BigInt(m[2]!) : BigInt(m[2]!);
  return v < min || v > max ? undefined : v;
}

export const INT32 = [-(1n << 31n), (1n << 31n) - 1n] as const;
const INT64 = [-(1n << 63n), (1n << 63n) - 1n] as const;
const UINT64 = [0n, (1n << 64n) - 1n] as const;

/** The integer behind an int-like value, whatever form a test gave it in. */
function integerOf(v: Resolved | undefined): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (v instanceof TypedValue && typeof v.value === "bigint") return v.value;
  return undefined;
}

/** Port of "ip:port" / "[ip]:port"; none for addresses without one (pipes). */
function portOf(address: Resolved | undefined): number | undefined {
  if (typeof address !== "string") return undefined;
  const m = /^(?:\[[^\]]*\]|[^:[\]]*):([0-9]{1,5})$/.exec(address);
  return m ? Number(m[1]) : undefined;
}

/** Grpc::Common::getGrpcStatus on one map: absent/empty → none, unparsable or > 16 → InvalidCode (-1). */
function grpcStatusIn(view: HeaderView | undefined): bigint | undefined {
  const text = view?.get("grpc-status");
  if (text === undefined || text === "") return undefined;
  const code = parseAbslInt(text, ...UINT64);
  return code === undefined || code > 16n ? -1n : code;
}

/** Grpc::Utility::httpToGrpcStatus. */
function httpToGrpcStatus(code: bigint): bigint {
  switch (code) {
    case 400n:
      return 13n; // Internal
    case 401n:
      return 16n; // Unauthenticated
    case 403n:
      return 7n; // PermissionDenied
    case 404n:
      return 12n; // Unimplemented
    case 429n:
    case 502n:
    case 503n:
    case 504n:
      return 14n; // Unavailable
    default:
      return 2n; // Unknown
  }
}

export function requestFields(http: boolean, s: StreamFacts): Fields {
  const h = s.requestHeaders;
  const header = (name: string) => () => h?.get(name);
  // getPathValue() is "" when :path is missing; without a header map at all these are absent
  const path = () => (h === undefined ? undefined : (h.get(":path") ?? ""));
  return new Map<string, () => Resolved | undefined>([
    ["path", header(":path")],
    ["url_path", () => path()?.split("?", 1)[0]],
    ["host", header(":authority")],
    ["scheme", header(":scheme")],
    ["method", header(":method")],
    ["referer", header("referer")],
    ["useragent", header("user-agent")],
    ["id", header("x-request-id")],
    ["headers", () => new HeaderMapNode(h)],
    ["headers_bytes", () => byteSize(h)],
    ["time", () => TypedValue.timestamp(s.startTimeNs)],
    [
      "size",
      () => {
        const length = h?.get("content-length");
        if (length === undefined) return s.requestBodyBytes;
        const n = parseAbslInt(length, ...INT64);
        return n === undefined ? undefined : TypedValue.int(n); // invalid content-length → absent
      },
    ],
    ["total_size", () => s.requestBodyBytes + byteSize(h)],
    ["duration", () => (s.requestComplete && s.durationNs !== undefined ? TypedValue.duration(s.durationNs) : undefined)],
    ["protocol", () => (http ? s.protocol : undefined)], // a TCP connection's info has no HTTP protocol
    [
      "query",
      () => {
        const p = path();
        if (p === undefined) return undefined;
        const q = p.indexOf("?");
        return q < 0 ? "" : p.slice(q + 1).split("#", 1)[0];
      },
    ],
  ]);
}

export function responseFields(s: StreamFacts, sibling: (key: string) => Resolved | undefined): Fields {
  const h = s.responseHeaders;
  const t = s.responseTrailers;
  const status = () => {
    const text = h?.get(":status");
    return text === undefined ? undefined : parseAbslInt(text, ...UINT64);
  };
  return new Map<string, () => Resolved | undefined>([
    [
      "code",
      () => {
        const code = status();
        return code === undefined ? undefined : TypedValue.int(code);
      },
    ],
    ["code_details", () => s.responseCodeDetails],
    ["headers", () => new HeaderMapNode(h)],
    ["headers_bytes", () => byteSize(h)],
    ["trailers", () => new HeaderMapNode(t)],
    ["size", () => s.responseBodyBytes],
    ["total_size", () => s.responseBodyBytes + byteSize(h) + byteSize(t)],
    ["flags", () => 0],
    [
      "grpc_status",
      // trailers, then headers, then inferred from the HTTP status (Grpc::Common::getGrpcStatus)
      () => {
        const code = grpcStatusIn(t) ?? grpcStatusIn(h);
        if (code !== undefined) return TypedValue.int(code);
        const http = integerOf(sibling("code"));
        return http === undefined ? undefined : TypedValue.int(httpToGrpcStatus(http));
      },
    ],
  ]);
}

export function connectionFields(s: StreamFacts): Fields {
  return new Map<string, () => Resolved | undefined>([
    ["id", () => TypedValue.uint(s.connectionId)],
    ["mtls", () => s.mtls],
    ["requested_server_name", () => s.requestedServerName],
  ]);
}

export function peerFields(address: string, sibling: (key: string) => Resolved | undefined): Fields {
  return new Map<string, () => Resolved | undefined>([
    ["address", () => address],
    ["port", () => portOf(sibling("address"))],
  ]);
}

// attemptCount().value_or(0): always there; the port follows the (overridden) upstream address like
// Envoy's UpstreamWrapper; everything else about the upstream comes from overrides
export const upstreamFields = (sibling: (key: string) => Resolved | undefined): Fields =>
  new Map<string, () => Resolved | undefined>([
    ["request_attempt_count", () => TypedValue.uint(0)],
    ["port", () => portOf(sibling("address"))],
  ]);
