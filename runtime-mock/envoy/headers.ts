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
  // Names and values in two parallel arrays rather than a tuple per entry: every stream
  // builds several maps, and a map handed on to the next filter is copied with two slices.
  private names: string[] = [];
  private values: string[] = [];
  /** Entries [0, pseudoCount) are the pseudo-headers. */
  private pseudoCount = 0;

  constructor(kind: HeaderMapKind, init?: HeaderInit) {
    this.kind = kind;
    if (init !== undefined) this.addAll(init);
  }

  /** First value of `key`, or undefined. */
  get(key: string): string | undefined {
    const index = this.indexOf(this.normalize(key));
    return index < 0 ? undefined : this.values[index];
  }

  getAll(key: string): string[] {
    const k = this.normalize(key);
    const out: string[] = [];
    for (let i = 0; i < this.names.length; i++) if (this.names[i] === k) out.push(this.values[i]);
    return out;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Envoy `addCopy`: a new entry, or ",value" appended to a present inline header. */
  add(key: string, value: string): void {
    const k = this.normalize(key);
    if (this.isInline(k)) {
      const index = this.indexOf(k);
      if (index >= 0) {
        const existing = this.values[index];
        if (value !== "") this.values[index] = existing === "" ? value : `${existing},${value}`;
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
    const index = this.isInline(k) ? this.indexOf(k) : -1;
    if (index >= 0) this.values[index] = value;
    else this.replace(k, value);
  }

  /** Removes every entry of `key`; returns how many were removed. */
  remove(key: string): number {
    const k = this.normalize(key);
    let kept = 0;
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] === k) {
        if (i < this.pseudoCount) this.pseudoCount--;
        continue;
      }
      this.names[kept] = this.names[i];
      this.values[kept] = this.values[i];
      kept++;
    }
    const removed = this.names.length - kept;
    this.names.length = kept;
    this.values.length = kept;
    return removed;
  }

  /** What `proxy_set_header_map_pairs` does: every key removed, then each pair added with `add`'s rules. */
  setPairs(pairs: Iterable<readonly [string, string]>): void {
    const list = [...pairs]; // the argument may be this map's own pairs
    this.clear();
    for (const [k, v] of list) this.add(k, v);
  }

  clear(): void {
    this.names = [];
    this.values = [];
    this.pseudoCount = 0;
  }

  /** A copy of the entries in map order. */
  pairs(): [string, string][] {
    const out: [string, string][] = new Array(this.names.length);
    for (let i = 0; i < this.names.length; i++) out[i] = [this.names[i], this.values[i]];
    return out;
  }

  /** Visits the entries in map order without copying them. */
  forEach(visit: (name: string, value: string) => void): void {
    for (let i = 0; i < this.names.length; i++) visit(this.names[i], this.values[i]);
  }

  /** Number of entries (what the header callbacks receive as `num_headers`). */
  get size(): number {
    return this.names.length;
  }

  /** Envoy `byteSize()`: Σ len(key) + len(value) in UTF-8 bytes (what `proxy_get_header_map_size` answers). */
  byteSize(): number {
    let total = 0;
    for (let i = 0; i < this.names.length; i++) total += Buffer.byteLength(this.names[i], "utf8") + Buffer.byteLength(this.values[i], "utf8");
    return total;
  }

  clone(kind: HeaderMapKind = this.kind): HeaderMap {
    return new HeaderMap(kind, this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.pairs()[Symbol.iterator]();
  }

  /** `{ key: value }`, repeated keys joined with "," (handy in assertions). */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    this.forEach((k, v) => (out[k] = k in out ? `${out[k]},${v}` : v));
    return out;
  }

  private addAll(init: HeaderInit): void {
    if (init instanceof HeaderMap) {
      // A map of the same kind is already in this kind's normal form: a copy is what adding its entries one by one gives.
      if (init.kind === this.kind && this.names.length === 0) {
        this.names = init.names.slice();
        this.values = init.values.slice();
        this.pseudoCount = init.pseudoCount;
      } else {
        init.forEach((k, v) => this.add(k, v));
      }
      return;
    }
    if (Array.isArray(init)) {
      for (let i = 0; i < init.length; i++) this.add(init[i][0], init[i][1]);
      return;
    }
    if (isIterable(init)) {
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

  /** Index of the first entry of a normalized key, or -1 (a plain loop: this runs for every header of every stream). */
  private indexOf(key: string): number {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === key) return i;
    return -1;
  }

  private isInline(key: string): boolean {
    return INLINE_HEADERS[this.kind].has(key);
  }

  /** HeaderList::insert: pseudo-headers go to the end of the pseudo block, the rest to the end. */
  private insert(key: string, value: string): void {
    if (!isPseudo(key) || this.pseudoCount === this.names.length) {
      this.names.push(key);
      this.values.push(value);
    } else {
      this.names.splice(this.pseudoCount, 0, key);
      this.values.splice(this.pseudoCount, 0, value);
    }
    if (isPseudo(key)) this.pseudoCount++;
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === "object" && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}
