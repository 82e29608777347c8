// Envoy's HTTP header map (ABI.md §5.5, §10 #19/#21; Envoy `header_map_impl.cc`,
// `envoy/http/header_map.h`). What a plugin sees through the header calls depends on
// these rules, so they are modelled exactly:
//   * keys are lower-cased (ASCII only, like Envoy's LowerCaseString);
//   * pseudo-headers (":x") are kept in front of all other entries;
//   * duplicates of ordinary keys are separate entries, in insertion order;
//   * Envoy's inline (O(1)) headers exist at most once: adding one that is present appends
//     ",value" to the existing entry (nothing when the added value is empty);
//   * in request header maps, "host" is Envoy's legacy alias of ":authority".

export type HeaderMapKind = "requestHeaders" | "requestTrailers" | "responseHeaders" | "responseTrailers";

export type HeaderInit = HeaderMap | Record<string, string | readonly string[]> | Iterable<readonly [string, string]>;

// INLINE_REQ_HEADERS (string + numeric).
const REQUEST_ONLY = [
  "x-client-trace-id", "x-envoy-downstream-service-cluster", "x-envoy-downstream-service-node",
  "x-envoy-external-address", "x-envoy-force-trace", "x-envoy-hedge-on-per-try-timeout", "x-envoy-internal",
  "x-envoy-ip-tags", "x-envoy-retry-on", "x-envoy-retry-grpc-on", "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names", "x-envoy-is-timeout-retry", "x-envoy-original-path", "x-envoy-original-url",
  "x-envoy-upstream-alt-stat-name", "x-envoy-upstream-rq-timeout-alt-response", "expect", "x-forwarded-client-cert",
  "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "grpc-timeout", ":authority", ":method", ":path",
  ":protocol", ":scheme", "te", "user-agent",
  "x-envoy-expected-rq-timeout-ms", "x-envoy-max-retries", "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-upstream-stream-duration-ms", "x-forwarded-port",
];
// INLINE_REQ_RESP_HEADERS.
const REQUEST_AND_RESPONSE = [
  "connection", "content-type", "x-envoy-decorator-operation", "keep-alive", "proxy-connection", "proxy-status",
  "x-request-id", "transfer-encoding", "upgrade", "via", "content-length", "x-envoy-attempt-count",
];
// INLINE_RESP_HEADERS.
const RESPONSE_ONLY = [
  "date", "x-envoy-degraded", "x-envoy-immediate-health-check-fail", "x-envoy-ratelimited", "x-envoy-upstream-canary",
  "x-envoy-upstream-healthchecked-cluster", "location", "server", "x-envoy-upstream-service-time", ":status",
];
// INLINE_RESP_HEADERS_TRAILERS.
const RESPONSE_HEADERS_AND_TRAILERS = ["grpc-message", "grpc-status"];

/** The inline header keys of each map type (Envoy's default build; custom inline headers of extensions are not modelled). */
export const INLINE_HEADERS: Readonly<Record<HeaderMapKind, ReadonlySet<string>>> = {
  requestHeaders: new Set([...REQUEST_ONLY, ...REQUEST_AND_RESPONSE]),
  requestTrailers: new Set(),
  responseHeaders: new Set([...RESPONSE_ONLY, ...REQUEST_AND_RESPONSE, ...RESPONSE_HEADERS_AND_TRAILERS]),
  responseTrailers: new Set(RESPONSE_HEADERS_AND_TRAILERS),
};


/** Envoy's LowerCaseString: ASCII letters only. */
const UPPER = /[A-Z]/;

/** Envoy lower-cases ASCII letters only (not Unicode case mapping). */
export function lowerCaseKey(key: string): string {
  return UPPER.test(key) ? key.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : key;
}

const isPseudo = (key: string) => key.startsWith(":");

export class HeaderMap {
  readonly kind: HeaderMapKind;
  private entries: [string, string][] = [];
  /** Entries [0, pseudoCount) are the pseudo-headers. */
  private pseudoCount = 0;

  constructor(kind: HeaderMapKind, init?: HeaderInit) {
    this.kind = kind;
    if (init !== undefined) this.addAll(init);
  }

  /** First value of `key`, or undefined. */
  get(key: string): string | undefined {
    return this.find(this.normalize(key))?.[1];
  }

  getAll(key: string): string[] {
    const k = this.normalize(key);
    return this.entries.filter(([name]) => name === k).map(([, value]) => value);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Envoy `addCopy`: a new entry, or ",value" appended to a present inline header. */
  add(key: string, value: string): void {
    const k = this.normalize(key);
    if (this.isInline(k)) {
      const existing = this.find(k);
      if (existing) {
        if (value !== "") existing[1] = existing[1] === "" ? value : `${existing[1]},${value}`;
        return;
      }
    }
    this.insert(k, value);
  }

  /** Envoy `setCopy`: removes every entry of `key`, then adds one (at the end, or at the end of the pseudo block). */
  replace(key: string, value: string): void {
    this.remove(key);
    this.add(key, value);
  }

  /**
   * Envoy's `setInline`/`setContentLength`-style setter: an inline header that is present keeps
   * its position and gets the new value; anything else behaves like `replace`.
   */
  setInPlace(key: string, value: string): void {
    const k = this.normalize(key);
    const existing = this.isInline(k) ? this.find(k) : undefined;
    if (existing) existing[1] = value;
    else this.replace(k, value);
  }

  /** Removes every entry of `key`; returns how many were removed. */
  remove(key: string): number {
    const k = this.normalize(key);
    const before = this.entries.length;
    const removedPseudo = this.entries.slice(0, this.pseudoCount).filter(([name]) => name === k).length;
    this.entries = this.entries.filter(([name]) => name !== k);
    this.pseudoCount -= removedPseudo;
    return before - this.entries.length;
  }

  /** What `proxy_set_header_map_pairs` does: every key removed, then each pair added with `add`'s rules. */
  setPairs(pairs: Iterable<readonly [string, string]>): void {
    const list = [...pairs]; // the argument may be this map's own pairs
    this.clear();
    for (const [k, v] of list) this.add(k, v);
  }

  clear(): void {
    this.entries = [];
    this.pseudoCount = 0;
  }

  /** A copy of the entries in map order. */
  pairs(): [string, string][] {
    return this.entries.map(([k, v]) => [k, v]);
  }

  /** Number of entries (what the header callbacks receive as `num_headers`). */
  get size(): number {
    return this.entries.length;
  }

  /** Envoy `byteSize()`: Σ len(key) + len(value) in UTF-8 bytes (what `proxy_get_header_map_size` answers). */
  byteSize(): number {
    let total = 0;
    for (const [k, v] of this.entries) total += Buffer.byteLength(k, "utf8") + Buffer.byteLength(v, "utf8");
    return total;
  }

  clone(kind: HeaderMapKind = this.kind): HeaderMap {
    const copy = new HeaderMap(kind);
    if (kind === this.kind) {
      copy.entries = this.pairs();
      copy.pseudoCount = this.pseudoCount;
    } else {
      copy.addAll(this);
    }
    return copy;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.pairs()[Symbol.iterator]();
  }

  /** `{ key: value }`, repeated keys joined with "," (handy in assertions). */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.entries) out[k] = k in out ? `${out[k]},${v}` : v;
    return out;
  }

  private addAll(init: HeaderInit): void {
    if (Array.isArray(init)) {
      for (let i = 0; i < init.length; i++) this.add(init[i][0], init[i][1]);
      return;
    }
    if (init instanceof HeaderMap || isIterable(init)) {
      for (const [k, v] of init as Iterable<readonly [string, string]>) this.add(k, v);
      return;
    }
    for (const [k, v] of Object.entries(init)) {
      if (typeof v === "string") this.add(k, v);
      else for (const item of v) this.add(k, item);
    }
  }

  private normalize(key: string): string {
    const k = lowerCaseKey(key);
    // StaticLookupTable<RequestHeaderMap> maps the legacy "host" key onto the :authority slot.
    return k === "host" && this.kind === "requestHeaders" ? ":authority" : k;
  }

  /** The first entry of a normalized key (a plain loop: this runs for every header of every stream). */
  private find(key: string): [string, string] | undefined {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) if (entries[i][0] === key) return entries[i];
    return undefined;
  }

  private isInline(key: string): boolean {
    return INLINE_HEADERS[this.kind].has(key);
  }

  /** HeaderList::insert: pseudo-headers go to the end of the pseudo block, the rest to the end. */
  private insert(key: string, value: string): void {
    if (isPseudo(key)) {
      this.entries.splice(this.pseudoCount, 0, [key, value]);
      this.pseudoCount++;
    } else {
      this.entries.push([key, value]);
    }
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === "object" && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}
