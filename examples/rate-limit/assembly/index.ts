// rate-limit: a token bucket per client, shared by every worker VM of the proxy through
// shared data. The key is a configured request header (e.g. one an authentication filter
// set) or, without it, the client's address. Each request takes a token; an empty bucket
// gets 429 with `retry-after`. Ticks refill the buckets: `tokens_per_fill` every
// `fill_interval_ms`, up to `max_tokens` (Envoy's local rate limit, across workers).
//   {"max_tokens": 100, "tokens_per_fill": 100, "fill_interval_ms": 60000, "key_header": "x-auth-user"}
//
// Each bucket is one shared-data entry "<tokens> <fill>": `fill` is the start of the fill
// period the tokens were counted for (ms since the epoch, a multiple of the interval). A
// request refills it lazily to the worker's current period, takes a token and writes it
// back with compare-and-swap, so workers that race never lose or double a refill; on
// CasMismatch it reads again.
import {
  asciiLowerCase, ByteBuffer, ConfigReader, Counter, currentTimeMilliseconds, FilterHeadersStatus, HeaderList, HttpContext, log, LogLevel,
  properties, registerRootContext, RootContext, sharedData, WasmResult, resultName,
} from "proxy-wasm-as/assembly";
export * from "proxy-wasm-as/assembly/exports";

const allowedCount = new Counter("rate_limit.allowed");
const limitedCount = new Counter("rate_limit.limited");
const casRetryCount = new Counter("rate_limit.cas_retries");

/** Read-modify-write attempts per request before giving up (and letting the request through). */
const MAX_ATTEMPTS = 16;

class Settings {
  maxTokens: u64 = 0;
  tokensPerFill: u64 = 0;
  fillIntervalMs: u32 = 0;
  /** The key header's lower-case name as UTF-8, made once (empty: key by address). */
  keyHeader: ArrayBuffer = new ArrayBuffer(0);
}

class RateLimitRoot extends RootContext {
  settings: Settings = new Settings();
  /** Shared-data keys are "<plugin name>/<client key>": two rate-limit plugins in one proxy keep their own buckets. */
  keyPrefix: ArrayBuffer = new ArrayBuffer(0);
  /**
   * The start of the fill period this worker has reached (advanced by ticks), in ms since
   * the epoch: milliseconds, not a period number, so buckets stay comparable when a new
   * configuration changes the interval.
   */
  fill: u64 = 0;
  /** When this worker's next tick refills, in ms since the epoch (for retry-after). */
  nextFillMs: u64 = 0;

  onConfigure(pluginConfigurationSize: u32): bool {
    const config = new ConfigReader(this.pluginConfiguration, "with the fields " + FIELDS);
    const settings = readSettings(config);
    if (!config.accept("rate-limit")) return false;
    const name = properties.getString("plugin_name");
    this.settings = settings;
    this.keyPrefix = String.UTF8.encode((name !== null ? name : "") + "/", false);
    allowedCount.define();
    limitedCount.define();
    casRetryCount.define();
    this.setTickPeriod(settings.fillIntervalMs);
    this.advance();
    return true;
  }

  onTick(): void {
    this.advance();
  }

  /** Moves this worker to the fill period of the wall clock: the next request of each key refills its bucket. */
  private advance(): void {
    const now = currentTimeMilliseconds();
    const interval = <u64>this.settings.fillIntervalMs;
    const fill = now / interval * interval;
    if (fill > this.fill) this.fill = fill;
    this.nextFillMs = now + interval;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new RateLimit(contextId, this);
  }
}

class RateLimit extends HttpContext {
  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const root = this.root as RateLimitRoot;
    const settings = root.settings;
    KEY.clear();
    KEY.append(root.keyPrefix);
    this.appendClientKey(KEY, settings.keyHeader);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let tokens = settings.maxTokens;
      let fill = root.fill;
      let cas: u32 = 0;
      if (sharedData.readInto(KEY, BUCKET)) {
        cas = sharedData.lastCas();
        const space = BUCKET.indexOf(0x20);
        if (space > 0) {
          tokens = BUCKET.parseDecimal(0, space);
          fill = BUCKET.parseDecimal(space + 1);
        }
        if (tokens > settings.maxTokens) tokens = settings.maxTokens; // the configuration may have lowered it
        // Periods this bucket missed (never backwards: another worker may be a tick ahead).
        if (root.fill > fill) {
          // 0 only after the interval changed, within the first new period.
          const missed = (root.fill - fill) / <u64>settings.fillIntervalMs;
          // missed < max_tokens ≤ 10^9 here, so the product fits.
          tokens = missed >= settings.maxTokens ? settings.maxTokens : min(settings.maxTokens, tokens + missed * settings.tokensPerFill);
          fill = root.fill;
        }
      }
      if (tokens == 0) return this.limit(root);
      // "<tokens> <fill>". A new key is created whatever cas says: two workers creating it at once may each count from full.
      BUCKET.clear();
      BUCKET.appendDecimal(tokens - 1);
      BUCKET.appendByte(0x20);
      BUCKET.appendDecimal(fill);
      const result = sharedData.writeFrom(KEY, BUCKET, cas);
      if (result == WasmResult.Ok) {
        allowedCount.increment();
        return FilterHeadersStatus.Continue;
      }
      if (result != WasmResult.CasMismatch) {
        log.warn("rate-limit: cannot store the bucket (" + resultName(result) + "); letting the request through");
        allowedCount.increment();
        return FilterHeadersStatus.Continue;
      }
      // Another worker wrote the bucket between our read and write: read it again.
      casRetryCount.increment();
    }
    if (log.enabled(LogLevel.Debug)) log.debug("rate-limit: bucket \"" + KEY.toString() + "\" still contended after " + MAX_ATTEMPTS.toString() + " attempts; letting the request through");
    allowedCount.increment();
    return FilterHeadersStatus.Continue;
  }

  /** Appends the client's key: "h:" and the configured header's value, else "a:" and the client's address without its port. */
  private appendClientKey(key: ByteBuffer, header: ArrayBuffer): void {
    if (header.byteLength > 0 && this.requestHeaders.readInto(header, HEADER) && HEADER.length > 0) {
      key.append(BY_HEADER);
      key.appendFrom(HEADER);
      return;
    }
    const address = properties.getString("source.address");
    key.append(BY_ADDRESS);
    key.append(String.UTF8.encode(address !== null ? withoutPort(address) : "", false));
  }

  private limit(root: RateLimitRoot): FilterHeadersStatus {
    limitedCount.increment();
    // Whole seconds until this worker's next refill, rounded up (RFC 9110 delay-seconds).
    const now = currentTimeMilliseconds();
    const waitMs = root.nextFillMs > now ? root.nextFillMs - now : 0;
    const seconds = waitMs == 0 ? 1 : (waitMs + 999) / 1000;
    if (log.enabled(LogLevel.Debug)) log.debug("rate-limit: 429 for \"" + KEY.toString() + "\": no token left; retry after " + seconds.toString() + " s");
    SECONDS.clear();
    SECONDS.appendDecimal(<u64>seconds);
    LIMITED.clear();
    LIMITED.add("retry-after", SECONDS);
    this.sendLocalResponse(429, TOO_MANY_REQUESTS, LIMITED, "rate_limited");
    return FilterHeadersStatus.StopIteration;
  }
}

// What a request's read-modify-write works in, made once and reused by every stream
// (callbacks never overlap): the bucket's key, its "<tokens> <fill>" text, the key header.
const KEY = new ByteBuffer();
const BUCKET = new ByteBuffer();
const HEADER = new ByteBuffer();
// The 429: a flood of limited requests encodes and allocates nothing for it either.
const SECONDS = new ByteBuffer(20);
const LIMITED = new HeaderList(32);
const TOO_MANY_REQUESTS = String.UTF8.encode("Too Many Requests", false);
const BY_HEADER = String.UTF8.encode("h:", false);
const BY_ADDRESS = String.UTF8.encode("a:", false);

/** "10.0.0.1:5000" → "10.0.0.1", "[::1]:5000" → "::1". */
function withoutPort(address: string): string {
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    return end > 0 ? address.substring(1, end) : address;
  }
  const colon = address.lastIndexOf(":");
  return colon > 0 && address.indexOf(":") == colon ? address.substring(0, colon) : address;
}

const FIELDS = "max_tokens, tokens_per_fill, fill_interval_ms, key_header";

/** The settings the configuration asks for; problems go to `config`. */
function readSettings(config: ConfigReader): Settings {
  const settings = new Settings();
  if (config.isEmpty) config.fail("the configuration is empty: it needs max_tokens and fill_interval_ms");
  // Field by field in document order, so the problem reported is the first one in the text.
  const names = config.keys();
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name == "max_tokens") settings.maxTokens = <u64>config.integer(name, 0, 1, 1_000_000_000);
    else if (name == "tokens_per_fill") settings.tokensPerFill = <u64>config.integer(name, 0, 1, 1_000_000_000);
    else if (name == "fill_interval_ms") settings.fillIntervalMs = <u32>config.integer(name, 0, 1, 86_400_000);
    else if (name == "key_header") settings.keyHeader = String.UTF8.encode(asciiLowerCase(config.headerName(name, "")), false);
    else config.unknown(name, FIELDS);
  }
  config.require("max_tokens");
  config.require("fill_interval_ms");
  // Envoy's default: a fill tops the bucket up.
  if (settings.tokensPerFill == 0) settings.tokensPerFill = settings.maxTokens;
  return settings;
}

registerRootContext((contextId: u32) => new RateLimitRoot(contextId), "rate-limit");
