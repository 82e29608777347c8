// rate-limit, release build, in the mock host: buckets per key, refills on ticks of the
// virtual clock, and one bucket shared by two VMs (two worker threads) of one Envoy process.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { FilterHeadersStatus, LogLevel, MockEnvoy, type Host, type HostOptions, type HttpStream } from "proxy-wasm-as";
import { assertCostPerRequest, example } from "../../test-support.js";

const plugin = example(new URL("../", import.meta.url));
const ROOT_ID = "rate-limit";
const CONFIG = JSON.parse(plugin.configJson) as Record<string, unknown>;
// A whole minute, so fill periods (of 1 s or 60 s) start there.
const START = new Date("2030-01-01T00:00:00.000Z");
const START_MS = START.getTime();

const start = (pluginConfig: HostOptions["pluginConfig"], options: HostOptions = {}) =>
  plugin.start({ rootId: ROOT_ID, logLevel: LogLevel.Debug, startTime: START, pluginConfig, ...options });

type Pairs = [string, string][];
const request = (...extra: Pairs): Pairs => [[":authority", "bookinfo.example.com"], [":path", "/productpage"], [":method", "GET"], ...extra];
const asUser = (user: string) => request(["x-auth-user", user]);

/** One request; true when it went upstream, false when it got the 429 (checked in full). */
function send(host: Host, headers: Pairs = request(), sourceAddress = "10.0.0.1:40000", retryAfter?: string): boolean {
  const stream = host.newHttpStream({ sourceAddress });
  const status = stream.sendRequestHeaders(headers, true);
  if (status === FilterHeadersStatus.Continue) {
    assert.equal(stream.request.headersForwarded, true);
    stream.sendResponseHeaders([[":status", "200"]], true);
    assert.equal(stream.completed, true);
    return true;
  }
  assertLimited(stream, retryAfter);
  return false;
}

function assertLimited(stream: HttpStream, retryAfter?: string): void {
  assert.equal(stream.localResponse?.status, 429);
  assert.equal(stream.localResponse?.bodyText, "Too Many Requests");
  const headers = stream.response.headers.pairs();
  assert.deepEqual(headers.map(([k]) => k), [":status", "retry-after", "content-length", "content-type"]);
  if (retryAfter !== undefined) assert.equal(stream.response.headers.get("retry-after"), retryAfter);
  assert.equal(stream.responseCodeDetails, "rate_limited");
  assert.equal(stream.request.headersForwarded, false);
  assert.equal(stream.completed, true);
}

/** n requests: how many went upstream. */
const sendMany = (host: Host, n: number, headers?: Pairs, sourceAddress?: string) =>
  Array.from({ length: n }, () => send(host, headers, sourceAddress)).filter(Boolean).length;

const counters = (host: Host) => ({
  allowed: host.metrics.value("rate_limit.allowed"),
  limited: host.metrics.value("rate_limit.limited"),
  casRetries: host.metrics.value("rate_limit.cas_retries"),
});

describe("rate-limit: one VM", () => {
  const SMALL = { max_tokens: 3, fill_interval_ms: 1000 };

  test("a bucket of 3 allows 3 requests, then 429 with retry-after and Too Many Requests; the counters count both", async () => {
    const host = await start(SMALL);
    assert.deepEqual(counters(host), { allowed: 0n, limited: 0n, casRetries: 0n });
    assert.equal(host.tickPeriodMs, 1000);
    assert.deepEqual([send(host), send(host), send(host)], [true, true, true]);
    assert.equal(send(host, request(), "10.0.0.1:40000", "1"), false);
    assert.equal(send(host), false);
    assert.deepEqual(counters(host), { allowed: 3n, limited: 2n, casRetries: 0n });
    // The bucket as stored: no token left, counted for the fill period that started at START (ms since the epoch).
    assert.equal(host.sharedData.text("", "rate-limit/a:10.0.0.1"), `0 ${START_MS}`);
    assert.deepEqual(host.logsAt(LogLevel.Debug), [
      'rate-limit: 429 for "rate-limit/a:10.0.0.1": no token left; retry after 1 s',
      'rate-limit: 429 for "rate-limit/a:10.0.0.1": no token left; retry after 1 s',
    ]);
  });

  test("the tick refills: nothing before fill_interval_ms, a full bucket after", async () => {
    const host = await start(SMALL);
    assert.equal(sendMany(host, 4), 3);
    host.advanceTime(999);
    assert.equal(send(host), false);
    host.advanceTime(1);
    assert.equal(sendMany(host, 5), 3);
    assert.equal(host.sharedData.text("", "rate-limit/a:10.0.0.1"), `0 ${START_MS + 1000}`);
    // Idle for ten periods: the bucket holds max_tokens, not more.
    host.advanceTime(10_000);
    assert.equal(sendMany(host, 5), 3);
  });

  test("tokens_per_fill below max_tokens: each tick adds that many, up to the maximum", async () => {
    const host = await start({ max_tokens: 5, tokens_per_fill: 2, fill_interval_ms: 1000 });
    assert.equal(sendMany(host, 6), 5);
    host.advanceTime(1000);
    assert.equal(sendMany(host, 3), 2);
    host.advanceTime(2000);
    assert.equal(sendMany(host, 6), 4);
    host.advanceTime(5000);
    assert.equal(sendMany(host, 6), 5);
  });

  test("retry-after: whole seconds until the next refill, rounded up", async () => {
    const host = await start({ max_tokens: 1, fill_interval_ms: 60_000 });
    assert.equal(send(host), true);
    assert.equal(send(host, request(), undefined, "60"), false);
    host.advanceTime(15_000);
    assert.equal(send(host, request(), undefined, "45"), false);
    host.advanceTime(44_500);
    assert.equal(send(host, request(), undefined, "1"), false);
    host.advanceTime(500);
    assert.equal(send(host), true);
    assert.equal(send(host, request(), undefined, "60"), false);
  });

  test("keys are independent: users by header, the rest by address (any port, IPv4 or IPv6)", async () => {
    const host = await start({ max_tokens: 2, fill_interval_ms: 1000, key_header: "x-auth-user" });
    assert.equal(sendMany(host, 3, asUser("ann")), 2);
    assert.equal(sendMany(host, 3, asUser("bob")), 2);
    assert.equal(sendMany(host, 1, asUser("Ann")), 1); // values compare exactly
    // Without the header (or with an empty one): by client address, the port ignored.
    assert.equal(send(host, request(), "10.0.0.7:1111"), true);
    assert.equal(send(host, request(["x-auth-user", ""]), "10.0.0.7:2222"), true);
    assert.equal(send(host, request(), "10.0.0.7:3333"), false);
    assert.equal(sendMany(host, 3, request(), "[2001:db8::1]:443"), 2);
    assert.equal(sendMany(host, 3, request(), "10.0.0.8:1111"), 2);
    // ann's header from another address still counts against ann.
    assert.equal(send(host, asUser("ann"), "10.9.9.9:1"), false);
    assert.deepEqual(host.sharedData.keys("").sort(), [
      "rate-limit/a:10.0.0.7",
      "rate-limit/a:10.0.0.8",
      "rate-limit/a:2001:db8::1",
      "rate-limit/h:Ann",
      "rate-limit/h:ann",
      "rate-limit/h:bob",
    ]);
  });

  test("buckets are per plugin: another pluginName counts separately", async () => {
    const envoy = new MockEnvoy({ startTime: START });
    const strict = await envoy.load(plugin.wasm, { rootId: ROOT_ID, pluginName: "bookinfo.strict", pluginConfig: { max_tokens: 1, fill_interval_ms: 1000 } });
    const loose = await envoy.load(plugin.wasm, { rootId: ROOT_ID, pluginName: "bookinfo.loose", pluginConfig: { max_tokens: 3, fill_interval_ms: 1000 } });
    assert.ok(strict.start().ok && loose.start().ok);
    assert.equal(sendMany(strict, 2), 1);
    assert.equal(sendMany(loose, 4), 3);
    assert.deepEqual(envoy.sharedData.keys("").sort(), ["bookinfo.loose/a:10.0.0.1", "bookinfo.strict/a:10.0.0.1"]);
  });

  test("the pluginConfig of wasmplugin.yaml is config.json; pluginName is the registered root id; phase AUTHZ after ext-authz", async () => {
    const resource = parseYaml(plugin.wasmPluginYaml) as { apiVersion: string; kind: string; spec: Record<string, unknown> };
    assert.equal(resource.apiVersion, "extensions.istio.io/v1alpha1");
    assert.equal(resource.kind, "WasmPlugin");
    assert.deepEqual(resource.spec.pluginConfig, CONFIG);
    assert.equal(resource.spec.pluginName, ROOT_ID);
    assert.equal(resource.spec.phase, "AUTHZ");
    assert.equal(resource.spec.priority, -10);
    const host = await start(CONFIG);
    assert.equal(sendMany(host, 101, asUser("ann")), 100);
    assert.equal(host.tickPeriodMs, 60_000);
  });
});

describe("rate-limit: two VMs of one Envoy (worker threads) share the buckets", () => {
  async function twoWorkers(config: object) {
    const envoy = new MockEnvoy({ startTime: START });
    const options: HostOptions = { rootId: ROOT_ID, vmId: "rate-limit", pluginConfig: config, logLevel: LogLevel.Debug };
    const a = await envoy.load(plugin.wasm, options);
    const b = await envoy.load(plugin.wasm, options);
    assert.ok(a.start().ok && b.start().ok);
    return { envoy, a, b };
  }

  test("requests through A and B together hit the limit; the counters are the process's", async () => {
    const { envoy, a, b } = await twoWorkers({ max_tokens: 4, fill_interval_ms: 1000 });
    assert.deepEqual([send(a), send(b), send(a), send(b)], [true, true, true, true]);
    assert.deepEqual([send(a), send(b)], [false, false]);
    assert.equal(envoy.metrics.value("rate_limit.allowed"), 4n);
    assert.equal(envoy.metrics.value("rate_limit.limited"), 2n);
    assert.deepEqual(counters(a), counters(b));
    assert.equal(envoy.sharedData.text("rate-limit", "rate-limit/a:10.0.0.1"), `0 ${START_MS}`);
  });

  test("both VMs tick, the bucket is refilled once per period (tokens_per_fill, not twice that)", async () => {
    const { envoy, a, b } = await twoWorkers({ max_tokens: 5, tokens_per_fill: 2, fill_interval_ms: 1000 });
    assert.equal(sendMany(a, 3) + sendMany(b, 3), 5);
    envoy.advanceTime(1000);
    assert.equal(sendMany(a, 1) + sendMany(b, 2) + sendMany(a, 1), 2);
    envoy.advanceTime(1000);
    assert.equal(sendMany(b, 3) + sendMany(a, 3), 2);
  });

  test("a new configuration with another interval (same plugin): the buckets carry over and refill at the new pace", async () => {
    const envoy = new MockEnvoy({ startTime: START });
    const old = await envoy.load(plugin.wasm, { rootId: ROOT_ID, vmId: "rate-limit", pluginConfig: { max_tokens: 2, fill_interval_ms: 1000 } });
    assert.ok(old.start().ok);
    assert.equal(sendMany(old, 3), 2);
    // Envoy starts the new configuration next to the old one, in the same vm_id.
    const current = await envoy.load(plugin.wasm, { rootId: ROOT_ID, vmId: "rate-limit", pluginConfig: { max_tokens: 2, fill_interval_ms: 60_000 } });
    assert.ok(current.start().ok);
    assert.equal(send(current, request(), undefined, "60"), false);
    envoy.advanceTime(59_999);
    assert.equal(send(current, request(), undefined, "1"), false);
    envoy.advanceTime(1);
    assert.equal(sendMany(current, 3), 2);
    assert.equal(envoy.sharedData.text("rate-limit", "rate-limit/a:10.0.0.1"), `0 ${START_MS + 60_000}`);
  });

  test("workers whose ticks are out of step: a worker a period behind never takes the bucket back a period", async () => {
    const envoy = new MockEnvoy({ startTime: START });
    const config = { rootId: ROOT_ID, vmId: "rate-limit", pluginConfig: { max_tokens: 2, tokens_per_fill: 1, fill_interval_ms: 1000 } };
    const early = await envoy.load(plugin.wasm, config);
    assert.ok(early.start().ok);
    envoy.advanceTime(600); // the second worker starts 600 ms later: its ticks come at 1600, 2600...
    const late = await envoy.load(plugin.wasm, config);
    assert.ok(late.start().ok);
    assert.equal(sendMany(early, 3) + sendMany(late, 1), 2);
    envoy.advanceTime(400); // t=1000: early ticks into period 1
    assert.equal(sendMany(late, 1), 0); // late is still in period 0: no refill yet
    assert.equal(sendMany(early, 2), 1);
    envoy.advanceTime(600); // t=1600: late ticks into period 1 as well: nothing more
    assert.equal(sendMany(late, 1), 0);
    envoy.advanceTime(400); // t=2000: period 2
    assert.equal(sendMany(early, 1) + sendMany(late, 1), 1);
  });

  test("compare-and-swap: B writes between A's read and A's write; A reads again; no request is lost or doubled", async () => {
    const { envoy, a, b } = await twoWorkers({ max_tokens: 10, fill_interval_ms: 1000 });
    assert.equal(sendMany(a, 3), 3);
    // Worker B runs a request while worker A is between its read and its write (as two threads can).
    const store = envoy.sharedData;
    const get = store.get.bind(store);
    let interleave = 0;
    store.get = (vmId, key) => {
      const read = get(vmId, key);
      if (interleave > 0) {
        interleave--;
        assert.equal(send(b), true);
      }
      return read;
    };
    interleave = 1;
    assert.equal(send(a), true);
    // 3 before, A's and B's: 5 tokens taken. A's first write failed with CasMismatch and it read again.
    assert.equal(envoy.sharedData.text("rate-limit", "rate-limit/a:10.0.0.1"), `5 ${START_MS}`);
    assert.deepEqual(counters(a), { allowed: 5n, limited: 0n, casRetries: 1n });

    // Contention on the last token: B takes it between A's read and write, so A's retry finds none.
    store.get = get;
    assert.equal(sendMany(a, 4), 4);
    store.get = (vmId, key) => {
      const read = get(vmId, key);
      if (interleave > 0) {
        interleave--;
        assert.equal(send(b), true);
      }
      return read;
    };
    interleave = 1;
    assert.equal(send(a), false);
    assert.deepEqual(counters(a), { allowed: 10n, limited: 1n, casRetries: 2n });
    assert.equal(envoy.sharedData.text("rate-limit", "rate-limit/a:10.0.0.1"), `0 ${START_MS}`);
  });

  test("a bucket contended on every attempt: after 16 reads the request goes through, with one debug line", async () => {
    const { envoy, a, b } = await twoWorkers({ max_tokens: 1000, fill_interval_ms: 1000 });
    const store = envoy.sharedData;
    const get = store.get.bind(store);
    assert.equal(send(a), true); // the bucket exists: writes now need the cas A read
    let busy = false;
    store.get = (vmId, key) => {
      const read = get(vmId, key);
      if (!busy) {
        busy = true;
        send(b); // B wins every race
        busy = false;
      }
      return read;
    };
    assert.equal(send(a), true);
    store.get = get;
    assert.equal(counters(a).casRetries, 16n);
    // A's first request and B's 16 took tokens; A's contended one took none.
    assert.equal(envoy.sharedData.text("rate-limit", "rate-limit/a:10.0.0.1"), `${1000 - 1 - 16} ${START_MS}`);
    assert.deepEqual(a.logsAt(LogLevel.Debug), ['rate-limit: bucket "rate-limit/a:10.0.0.1" still contended after 16 attempts; letting the request through']);
  });
});

describe("rate-limit: rejected configurations", () => {
  const FIELDS = "max_tokens, tokens_per_fill, fill_interval_ms, key_header";
  const invalid: [string, string | object, string][] = [
    ["an empty configuration", "", "the configuration is empty: it needs max_tokens and fill_interval_ms"],
    ["not JSON", "{max_tokens: 1}", "the configuration is not valid JSON: expected a field name in double quotes at line 1, column 2"],
    ["an array", "[1]", `the configuration must be a JSON object with the fields ${FIELDS}, not array`],
    ["an unknown field", { max_tokens: 1, fill_interval_ms: 1, burst: 2 }, `unknown field "burst" (the fields are ${FIELDS})`],
    ["no max_tokens", { fill_interval_ms: 1000 }, '"max_tokens" is missing'],
    ["no fill_interval_ms", { max_tokens: 10 }, '"fill_interval_ms" is missing'],
    ["max_tokens 0", { max_tokens: 0, fill_interval_ms: 1000 }, '"max_tokens" must be a whole number from 1 to 1000000000'],
    ["max_tokens a string", { max_tokens: "10", fill_interval_ms: 1000 }, '"max_tokens" must be a whole number from 1 to 1000000000'],
    ["a fractional tokens_per_fill", { max_tokens: 10, tokens_per_fill: 0.5, fill_interval_ms: 1000 }, '"tokens_per_fill" must be a whole number from 1 to 1000000000'],
    ["fill_interval_ms over a day", { max_tokens: 10, fill_interval_ms: 86_400_001 }, '"fill_interval_ms" must be a whole number from 1 to 86400000'],
    ["fill_interval_ms as a duration string", { max_tokens: 10, fill_interval_ms: "1s" }, '"fill_interval_ms" must be a whole number from 1 to 86400000'],
    ["key_header not a string", { max_tokens: 10, fill_interval_ms: 1000, key_header: ["x-user"] }, '"key_header" must be a string, not array'],
    ["key_header not a header name", { max_tokens: 10, fill_interval_ms: 1000, key_header: "x user" }, '"key_header": "x user" is not a valid HTTP header name'],
  ];
  for (const [label, config, problem] of invalid) {
    test(`rejected with one error line: ${label}`, async () => {
      const host = await plugin.expectRejected({ rootId: ROOT_ID, pluginConfig: config }, `rate-limit: ${problem}`);
      assert.equal(host.tickPeriodMs, 0);
    });
  }
});

describe("rate-limit: memory", () => {
  test("12,000 streams over 50 users, most of them limited, with refills: memory does not grow after 2,000 warm-up streams", async () => {
    const host = await start({ max_tokens: 20, fill_interval_ms: 1000, key_header: "x-auth-user" }, { logLevel: LogLevel.Info });
    let allowed = 0;
    const one = (i: number) => {
      if (send(host, asUser(`user-${i % 50}`))) allowed++;
      if (i % 1500 === 1499) host.advanceTime(1000);
    };
    // The warm-up covers a refill and the first collections: the heap's high-water mark.
    for (let i = 0; i < 2000; i++) one(i);
    const baseline = host.memoryBytes;
    for (let i = 2000; i < 12_000; i++) one(i);
    assert.equal(host.memoryBytes, baseline);
    assert.equal(BigInt(allowed), counters(host).allowed);
    assert.equal(counters(host).allowed! + counters(host).limited!, 12_000n);
    assert.equal(counters(host).allowed, 50n * 20n * 8n); // 7 refills in between: 8 full buckets per user
  });

  test("1,000 streams open at once, ten times over: memory stays the same after two rounds", async () => {
    const host = await start({ max_tokens: 1_000_000, fill_interval_ms: 1000 });
    const round = () => {
      const open = Array.from({ length: 1000 }, (_, i) => {
        const stream = host.newHttpStream({ sourceAddress: `10.0.${i % 4}.1:1000` });
        stream.sendRequestHeaders(request(), true);
        return stream;
      });
      for (const stream of open) stream.sendResponseHeaders([[":status", "200"]], true);
      assert.ok(open.every((s) => s.completed));
      return host.memoryBytes;
    };
    round();
    const baseline = round();
    assert.deepEqual(Array.from({ length: 10 }, round), Array(10).fill(baseline));
  });
});

describe("rate-limit: cost", () => {
  test("an allowed request and a limited one each cost at most their budget (the cost meter)", async () => {
    const unlimited = { max_tokens: 1_000_000_000, tokens_per_fill: 1_000_000_000, fill_interval_ms: 60_000, key_header: "x-auth-user" };
    const host = await start(unlimited, { meterCost: true, logLevel: LogLevel.Info });
    assertCostPerRequest(host, (h) => {
      const stream = h.newHttpStream();
      stream.sendRequestHeaders(asUser("ann"), true);
      stream.sendResponseHeaders([[":status", "200"]], true);
    }, { instructions: 3_000, hostCalls: 4 });
    // One token an hour: after the first request, every one gets the 429.
    const limited = await start({ ...unlimited, max_tokens: 1, tokens_per_fill: 1, fill_interval_ms: 3_600_000 }, { meterCost: true, logLevel: LogLevel.Info });
    assertCostPerRequest(limited, (h) => h.newHttpStream().sendRequestHeaders(asUser("ann"), true), { instructions: 2_950, hostCalls: 6 });
  });
});
