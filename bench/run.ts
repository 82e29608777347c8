// npm run bench: module sizes, per-stream cost of each example against its hand-written
// floor (same host calls, no SDK) and of the floor against a module that does nothing
// (the mock host's own cost), and linear memory over 1,000,000 streams after 10,000. A
// stream is the example's own: ext-authz's includes answering its callout; request-stats'
// includes the aggregator VM draining the event the stream queued.
// Every figure is a ratio to a baseline measured in this same run.
// Options: --quick (fewer streams, for a smoke run), --json FILE (write the results).
import { existsSync, readFileSync, statSync, writeFileSync, renameSync } from "node:fs";
import wabtInit from "wabt";
import {
  HeaderMap, Host, LogLevel, measureCost, MockEnvoy, type HostOptions, type HttpCallbacks, type HttpCalloutRequest, type UpstreamRequest, type Upstreams,
} from "proxy-wasm-as";
import {
  basicAuthFloorWat, emptyModuleWat, extAuthzFloorWat, headerAppendFloorWat, headerAuthorizationFloorWat, rateLimitFloorWat,
  requestStatsAggregatorFloorWat, requestStatsWorkerFloorWat,
} from "./floors.js";
import { INSTANT_HOST_VARIANTS, measureInstantHosts } from "./instant-hosts.js";

const quick = process.argv.includes("--quick");
const jsonIndex = process.argv.indexOf("--json");
const jsonPath = jsonIndex > 0 ? process.argv[jsonIndex + 1] : undefined;

/** Release size targets (issue 11): header-append 12 KiB, header-authorization 14 KiB. */
const SIZE_TARGETS: Record<string, number> = { "header-append": 12 * 1024, "header-authorization": 14 * 1024 };
const COST_TARGET = 1.5;
// Timing in a VM is noisy: large samples and many rounds; --quick figures are a smoke test only.
const COST_STREAMS = quick ? 2_000 : 50_000;
const COST_ROUNDS = quick ? 3 : 9;
const METER_STREAMS = quick ? 200 : 4_096;
const MEMORY_STREAMS = quick ? 20_000 : 1_000_000;
const OPEN_AT_ONCE = 1_000;
/** Past the collector's first cycles, also with 1,000 streams open (its period grows with the live heap). */
const MEMORY_WARMUP = 10_000;
const LOAD_ROUNDS = quick ? 1 : 5;
const LOAD_RUNS = quick ? 100 : 500;
const LOAD_TARGET_MS = 0.2;

type Pairs = [string, string][];
const REQUEST: Pairs = [[":method", "GET"], [":path", "/productpage"], [":authority", "bookinfo.example.com"], ["user-agent", "bench"], ["allow", "true"]];
const RESPONSE: Pairs = [[":status", "200"], ["content-type", "text/html"]];

const appendConfig = { "first-header": "some-value", "another-header": "another-value" };
const exampleConfig = (name: string) => readFileSync(`examples/${name}/config.json`, "utf8");

/** A loaded subject: one full stream, a stream started and finished later (for streams open at once), its VMs' memory. */
interface Loaded {
  host: Host;
  run(): void;
  open(): () => void;
  memory(): [string, number][];
}

interface Subject {
  name: string;
  /** `extra`: host options on top of the subject's own (the cost meter). */
  load(extra?: HostOptions): Promise<Loaded>;
}

/** How an example's stream goes, given the host it runs in. */
type StreamShape = (host: Host) => { run(): void; open(): () => void };

const wabt = await wabtInit();
function compileWat(name: string, text: string): Uint8Array {
  const module = wabt.parseWat(name, text);
  try {
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

async function started(source: string | Uint8Array, options: HostOptions, envoy?: MockEnvoy): Promise<Host> {
  // No step budget: the figures are the plugin's and the host's cost, not the test harness's guard.
  const settings: HostOptions = { logLevel: LogLevel.Info, stepBudget: false, ...options };
  const host = envoy ? await envoy.load(source, settings) : await Host.load(source, settings);
  const result = host.start();
  if (!result.ok) throw new Error(`${result.reason}: ${result.message}`);
  return host;
}

/**
 * Request headers (end of stream), `beforeResponse`, response headers (end of stream): log,
 * done, delete follow.
 */
function plainStream(request: Pairs, beforeResponse: () => void = () => {}): StreamShape {
  return (host) => ({
    run() {
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(request, true);
      beforeResponse();
      stream.sendResponseHeaders(RESPONSE, true);
      if (!stream.completed) throw new Error("the stream did not complete");
    },
    open() {
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(request, true);
      return () => {
        beforeResponse();
        stream.sendResponseHeaders(RESPONSE, true);
        if (!stream.completed) throw new Error("the stream did not complete");
      };
    },
  });
}

/**
 * The authorization service for ext-authz, answering as the test would but without the
 * mock upstreams' call history (which a million calls would fill): each call waits until
 * `answer()`, which delivers a 200 as one dispatcher event, as HttpCall.respond does.
 */
class AuthorizationService implements Upstreams {
  private readonly waiting: HttpCallbacks[] = [];
  constructor(private readonly cluster: string, private readonly host: () => Host) {}
  hasCluster(name: string): boolean {
    return name === this.cluster;
  }
  sendHttp(_token: number, _root: number, _request: HttpCalloutRequest, callbacks: HttpCallbacks): UpstreamRequest {
    this.waiting.push(callbacks);
    return { cancel: () => {} };
  }
  sendGrpc(): undefined {
    return undefined;
  }
  startGrpcStream(): undefined {
    return undefined;
  }
  /** Answers the oldest waiting call (if any). */
  answer(): void {
    const callbacks = this.waiting.shift();
    if (!callbacks) return;
    const headers = new HeaderMap("responseHeaders", [[":status", "200"], ["x-auth-user", "ann@example.com"]]);
    this.host().vm.event(() => callbacks.onSuccess({ headers, body: new Uint8Array(0), trailers: undefined }));
  }
}

/**
 * ext-authz's stream: the request pauses for the callout, the service allows it, the
 * response follows. With streams open at once, calls are answered in the order asked.
 */
const authorizedStream = (request: Pairs, service: AuthorizationService): StreamShape => plainStream(request, () => service.answer());

function loaded(host: Host, shape: StreamShape, memory: () => [string, number][] = () => [["", host.memoryBytes]]): Loaded {
  return { host, ...shape(host), memory };
}

/** A plugin in its own host, with the given stream shape. */
const single = (name: string, source: () => string | Uint8Array, options: HostOptions, shape: StreamShape): Subject => ({
  name,
  load: async (extra = {}) => loaded(await started(source(), { ...options, ...extra }), shape),
});

const BASIC_AUTH_REQUEST: Pairs = [...REQUEST.slice(0, 4), ["authorization", "Basic YWRtaW4zOmFkbWluMw=="]];
const EXT_AUTHZ_REQUEST: Pairs = [...REQUEST.slice(0, 4), ["authorization", "Bearer abc"], ["x-user", "ann"]];
const RATE_LIMIT_REQUEST: Pairs = [...REQUEST.slice(0, 4), ["x-auth-user", "ann"]];
const EXT_AUTHZ_CLUSTER = "outbound|8000||ext-authz.auth.svc.cluster.local";
// Never limited over a run: the bench measures the allowed path.
const rateLimitConfig = { max_tokens: 1_000_000_000, tokens_per_fill: 1_000_000_000, fill_interval_ms: 60_000, key_header: "x-auth-user" };

/** ext-authz (SDK or floor) with its own authorization service. */
function extAuthz(name: string, source: () => string | Uint8Array, options: HostOptions): Subject {
  return {
    name,
    async load(extra = {}) {
      let host: Host | undefined;
      const service = new AuthorizationService(EXT_AUTHZ_CLUSTER, () => host!);
      host = await started(source(), { ...options, ...extra, upstreams: service });
      return loaded(host, authorizedStream(EXT_AUTHZ_REQUEST, service));
    },
  };
}

/** request-stats: a worker VM and the aggregator's VM in one Envoy; the memory of both. */
function requestStats(name: string, worker: () => string | Uint8Array, aggregator: () => string | Uint8Array, rootIds: [string, string]): Subject {
  return {
    name,
    async load(extra = {}) {
      const envoy = new MockEnvoy();
      const config = exampleConfig("request-stats");
      const aggregatorHost = await started(aggregator(), { rootId: rootIds[1], vmId: "request-stats-aggregator", pluginConfig: config }, envoy);
      const host = await started(worker(), { rootId: rootIds[0], pluginConfig: config, ...extra }, envoy);
      return loaded(host, plainStream(REQUEST), () => [["worker VM", host.memoryBytes], ["aggregator VM", aggregatorHost.memoryBytes]]);
    },
  };
}

const examples: { name: string; sdk: Subject; floor: Subject; emptyShape: StreamShape }[] = [
  {
    name: "header-append",
    sdk: single("SDK", () => "examples/header-append/build/release.wasm", { rootId: "header-append", pluginConfig: appendConfig }, plainStream(REQUEST)),
    floor: single("floor", () => compileWat("floor.wat", headerAppendFloorWat(appendConfig)), { pluginConfig: appendConfig }, plainStream(REQUEST)),
    emptyShape: plainStream(REQUEST),
  },
  {
    name: "header-authorization",
    sdk: single("SDK", () => "examples/header-authorization/build/release.wasm", { rootId: "header-authorization" }, plainStream(REQUEST)),
    floor: single(
      "floor",
      () => compileWat("floor.wat", headerAuthorizationFloorWat("allow", "true", 403, "Forbidden by header-authorization Wasm plugin", "denied")),
      {},
      plainStream(REQUEST),
    ),
    emptyShape: plainStream(REQUEST),
  },
  {
    name: "basic-auth",
    sdk: single("SDK", () => "examples/basic-auth/build/release.wasm", { rootId: "basic-auth", pluginConfig: exampleConfig("basic-auth") }, plainStream(BASIC_AUTH_REQUEST)),
    floor: single(
      "floor",
      () => compileWat("floor.wat", basicAuthFloorWat(["GET", "POST"], "/productpage", ["Basic b2s6dGVzdA==", "Basic YWRtaW4zOmFkbWluMw=="], 'Basic realm="istio"')),
      {},
      plainStream(BASIC_AUTH_REQUEST),
    ),
    emptyShape: plainStream(BASIC_AUTH_REQUEST),
  },
  {
    name: "ext-authz",
    sdk: extAuthz("SDK", () => "examples/ext-authz/build/release.wasm", { rootId: "ext-authz", pluginConfig: exampleConfig("ext-authz") }),
    floor: extAuthz(
      "floor",
      () =>
        compileWat(
          "floor.wat",
          extAuthzFloorWat(
            EXT_AUTHZ_CLUSTER,
            [[":method", "GET"], [":path", "/check/productpage"], [":authority", "ext-authz.auth.svc.cluster.local"], ["authorization", "Bearer abc"], ["x-user", "ann"]],
            200,
            "x-auth-user",
            "ann@example.com",
          ),
        ),
      {},
    ),
    emptyShape: plainStream(EXT_AUTHZ_REQUEST),
  },
  {
    name: "rate-limit",
    sdk: single("SDK", () => "examples/rate-limit/build/release.wasm", { rootId: "rate-limit", pluginConfig: rateLimitConfig }, plainStream(RATE_LIMIT_REQUEST)),
    floor: single("floor", () => compileWat("floor.wat", rateLimitFloorWat("x-auth-user", "rate-limit/h:", 1_000_000_000)), {}, plainStream(RATE_LIMIT_REQUEST)),
    emptyShape: plainStream(RATE_LIMIT_REQUEST),
  },
  {
    name: "request-stats",
    sdk: requestStats("SDK", () => "examples/request-stats/build/release.wasm", () => "examples/request-stats/build/release.wasm", ["request-stats", "request-stats-aggregator"]),
    floor: requestStats(
      "floor",
      () => compileWat("worker.wat", requestStatsWorkerFloorWat("request-stats", "request-stats-aggregator")),
      () => compileWat("aggregator.wat", requestStatsAggregatorFloorWat("request-stats")),
      ["", ""],
    ),
    emptyShape: plainStream(REQUEST),
  },
];
/** A module whose callbacks return at once, driven like the example's stream. */
const empty = (shape: StreamShape): Subject => ({ name: "empty", load: async () => loaded(await started(compileWat("empty.wat", emptyModuleWat()), {}), shape) });

function nsPerStream(subject: Loaded, streams: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < streams; i++) subject.run();
  return Number(process.hrtime.bigint() - start) / streams;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs the JS collector between samples (npm run bench passes --expose-gc), so one sample does not pay for another's garbage. */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

/**
 * ns per stream of each subject: interleaved rounds after a warm-up, the order rotated
 * each round; returns the median per subject and, for any two subjects, the median of
 * their per-round ratios (samples measured close in time are less noisy).
 */
async function costs(subjects: Subject[]): Promise<{ medians: number[]; ratio(a: number, b: number): number }> {
  const hosts = await Promise.all(subjects.map((s) => s.load()));
  for (const host of hosts) nsPerStream(host, COST_STREAMS);
  const samples = hosts.map(() => [] as number[]);
  for (let round = 0; round < COST_ROUNDS; round++) {
    for (let k = 0; k < hosts.length; k++) {
      const i = (k + round) % hosts.length;
      collect();
      samples[i].push(nsPerStream(hosts[i], COST_STREAMS));
    }
  }
  const ratio = (a: number, b: number) => median(samples[a].map((value, round) => value / samples[b][round]));
  return { medians: samples.map(median), ratio };
}

/** Linear memory (of each VM of the subject) after MEMORY_WARMUP and after `total` streams, run one at a time or `open` at a time. */
async function memoryOver(subject: Subject, total: number, open: number): Promise<{ label: string; afterWarmup: number; afterAll: number }[]> {
  const loadedSubject = await subject.load();
  let afterWarmup: [string, number][] = [];
  let done = 0;
  while (done < total) {
    const finishers = [];
    for (let i = 0; i < open; i++) finishers.push(loadedSubject.open());
    for (const finish of finishers) finish();
    done += open;
    if (done === MEMORY_WARMUP) afterWarmup = loadedSubject.memory();
  }
  return loadedSubject.memory().map(([label, afterAll], i) => ({ label, afterWarmup: afterWarmup[i]![1], afterAll }));
}

interface Metered {
  instructions: number;
  hostCalls: number;
}

/** Instructions and host calls per stream, metered (deterministic: no rounds needed). */
async function meteredPerStream(subject: Subject): Promise<Metered> {
  const metered = await subject.load({ meterCost: true });
  // After measureCost's warm-up, which covers the SDK collector's period.
  const { instructions, hostCalls } = measureCost(metered.host, METER_STREAMS, () => metered.run());
  return { instructions, hostCalls };
}

/**
 * The peers' modules from ../shared/anchors (see its README): a passthrough GET with a
 * 20-byte response body, each adding one response header.
 */
const ANCHORS = "../shared/anchors";
const anchorStream: StreamShape = (host) => {
  const once = () => {
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    stream.sendResponseHeaders(RESPONSE, false);
    return () => {
      stream.sendResponseBody("twenty bytes of body", true);
      if (!stream.completed) throw new Error("the stream did not complete");
    };
  };
  return { run: () => once()(), open: once };
};
const anchorFile = (name: string) => `${ANCHORS}/${name}`;
const anchors: { name: string; subject: Subject; bytes?: number }[] = existsSync(ANCHORS)
  ? [
      { name: "floor (does nothing)", subject: single("floor", () => compileWat("floor-noop.wat", readFileSync(anchorFile("floor-noop.wat"), "utf8")), {}, anchorStream) },
      { name: "header-append limit", subject: single("limit", () => compileWat("limit.wat", readFileSync(anchorFile("header-append-floor.wat"), "utf8")), {}, anchorStream) },
      { name: "Rust SDK http_config", subject: single("rust", () => new Uint8Array(readFileSync(anchorFile("rust-sdk-0.2.2-http_config.wasm"))), { pluginConfig: "some-value" }, anchorStream), bytes: statSync(anchorFile("rust-sdk-0.2.2-http_config.wasm")).size },
      {
        name: "proxy-wasm-as header-append",
        subject: single("header-append", () => "examples/header-append/build/release.wasm", { rootId: "header-append", pluginConfig: { "x-added": "some-value" } }, anchorStream),
        bytes: statSync("examples/header-append/build/release.wasm").size,
      },
      { name: "proxy-runtime add_header", subject: single("proxy-runtime", () => new Uint8Array(readFileSync(anchorFile("proxy-runtime-add_header.wasm"))), { rootId: "add_header", pluginConfig: "some-value" }, anchorStream), bytes: statSync(anchorFile("proxy-runtime-add_header.wasm")).size },
    ]
  : [];

const results: Record<string, unknown> = { quick, streamsForCost: COST_STREAMS, streamsForMemory: MEMORY_STREAMS };
const lines: string[] = [];
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

lines.push("## Module size (release build)");
for (const example of examples) {
  const bytes = statSync(`examples/${example.name}/build/release.wasm`).size;
  results[`${example.name}.size`] = bytes;
  const limit = SIZE_TARGETS[example.name];
  const target = limit ? ` (target ≤ ${limit / 1024} KiB: ${(bytes / limit).toFixed(2)}× of it, ${bytes <= limit ? "met" : "MISSED"})` : "";
  lines.push(`${example.name}: ${bytes} bytes = ${kib(bytes)}${target}`);
}

lines.push("", `## Cost of one full stream in the mock host (${COST_ROUNDS} interleaved rounds of ${COST_STREAMS} streams; ratios are medians of per-round ratios)`);
for (const example of examples) {
  const { medians, ratio } = await costs([example.sdk, example.floor, empty(example.emptyShape)]);
  const [sdk, floor, none] = medians;
  const overhead = ratio(0, 1);
  const hostCost = ratio(1, 2);
  results[`${example.name}.sdkOverFloor`] = overhead;
  results[`${example.name}.floorOverEmpty`] = hostCost;
  lines.push(
    `${example.name}: SDK ${(sdk / 1000).toFixed(1)} µs, floor ${(floor / 1000).toFixed(1)} µs, empty module ${(none / 1000).toFixed(1)} µs` +
      ` → SDK/floor ${overhead.toFixed(2)}× (target ≤ ${COST_TARGET}×, ${overhead <= COST_TARGET ? "met" : "MISSED"}); floor/empty ${hostCost.toFixed(2)}× (the host calls' cost)`,
  );
}

lines.push("", `## Deterministic cost per stream (the cost meter: WebAssembly instructions and host calls, the same on every machine; mean of ${METER_STREAMS} streams after measureCost's warm-up)`);
if (anchors.length === 0) lines.push(`(the anchor modules are not in ${ANCHORS}: the peer comparison is skipped)`);
else {
  const metered = new Map<string, Metered>();
  for (const anchor of anchors) metered.set(anchor.name, await meteredPerStream(anchor.subject));
  lines.push("| module | instructions / stream | host calls / stream | module bytes |", "|---|---|---|---|");
  for (const anchor of anchors) {
    const m = metered.get(anchor.name)!;
    results[`meter.${anchor.name}`] = m;
    lines.push(`| ${anchor.name} | ${m.instructions.toFixed(0)} | ${m.hostCalls.toFixed(1)} | ${anchor.bytes?.toLocaleString("en") ?? "–"} |`);
  }
  const limit = metered.get("header-append limit")!.instructions;
  const ours = metered.get("proxy-wasm-as header-append")!.instructions - limit;
  const rust = metered.get("Rust SDK http_config")!.instructions - limit;
  const share = ours / rust;
  results["meter.headerAppendOverRust"] = share;
  lines.push(`header-append above its limit ÷ the Rust SDK above the same limit: ${ours.toFixed(0)} / ${rust.toFixed(0)} = ${share.toFixed(2)} (target ≤ 0.6: ${share <= 0.6 ? "met" : "MISSED"})`);
  const timed = await costs([anchors.find((a) => a.name === "proxy-wasm-as header-append")!.subject, anchors.find((a) => a.name === "Rust SDK http_config")!.subject]);
  const timeRatio = timed.ratio(0, 1);
  results["anchors.headerAppendOverRustTime"] = timeRatio;
  lines.push(`mock host time, the same streams: header-append ${(timed.medians[0]! / 1000).toFixed(2)} µs, Rust ${(timed.medians[1]! / 1000).toFixed(2)} µs: ${timeRatio.toFixed(2)}× (target ≤ 1.00: ${timeRatio <= 1 ? "met" : "MISSED"})`);
}
lines.push("", "Each example against its own limit module (the floor: the host calls it must make, nothing else), cost meter:");
for (const example of examples) {
  const sdk = await meteredPerStream(example.sdk);
  const floor = await meteredPerStream(example.floor);
  const ratio = sdk.instructions / Math.max(floor.instructions, 1);
  results[`meter.${example.name}`] = { sdk, floor, ratio };
  const target = example.name === "header-authorization" || example.name === "basic-auth" ? ` (target ≤ 1.5×: ${ratio <= 1.5 ? "met" : "MISSED"})` : "";
  lines.push(`${example.name}: ${sdk.instructions.toFixed(0)} instructions and ${sdk.hostCalls.toFixed(1)} host calls a stream; its limit ${floor.instructions.toFixed(0)} and ${floor.hostCalls.toFixed(1)}: ${ratio.toFixed(ratio < 10 ? 2 : 1)}×${target}`);
}

lines.push("", `## Linear memory after ${MEMORY_WARMUP.toLocaleString("en")} and after ${MEMORY_STREAMS.toLocaleString("en")} streams`);
for (const example of examples) {
  for (const open of [1, OPEN_AT_ONCE]) {
    for (const { label, afterWarmup, afterAll } of await memoryOver(example.sdk, MEMORY_STREAMS, open)) {
      results[`${example.name}.memory.open${open}${label ? `.${label.split(" ")[0]}` : ""}`] = { afterWarmup, afterAll };
      lines.push(
        `${example.name}${label ? ` (${label})` : ""}, ${open === 1 ? "one stream at a time" : `${open} streams open at once`}: ${kib(afterWarmup)} → ${kib(afterAll)}` +
          ` (${(afterAll / afterWarmup).toFixed(2)}×, target 1.00×: ${afterAll === afterWarmup ? "met" : "MISSED"})`,
      );
    }
  }
}

lines.push(
  "",
  `## Instant hosts: Host.load + start + one stream of header-append (each variant in ${LOAD_ROUNDS} fresh processes of ${LOAD_RUNS} loads, like test files; the median of their medians)`,
);
{
  const medians = measureInstantHosts(LOAD_ROUNDS, LOAD_RUNS);
  INSTANT_HOST_VARIANTS.forEach((v, i) => {
    const ms = medians[i]!;
    results[`instantHost.${i}`] = { label: v.label, ms };
    const versus = i === 0 ? "baseline" : `${(ms / medians[0]!).toFixed(3)}× of the baseline; target ≤ ${LOAD_TARGET_MS} ms: ${ms <= LOAD_TARGET_MS ? "met" : "MISSED"}`;
    lines.push(`${v.label}: ${ms.toFixed(3)} ms (${versus})`);
  });
}

console.log(lines.join("\n"));
if (jsonPath) {
  writeFileSync(`${jsonPath}.tmp`, JSON.stringify(results, null, 2) + "\n");
  renameSync(`${jsonPath}.tmp`, jsonPath);
}
