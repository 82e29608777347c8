// request-stats, release build, in one mock Envoy process: HTTP filters in two worker VMs
// put events on a shared queue; the aggregator, a singleton in a VM of its own (its own
// vm_id, as Envoy's bootstrap Wasm service), drains it and summarizes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { LogLevel, MockEnvoy, type Host, type HostOptions } from "proxy-wasm-as";
import { assertCostPerRequest, example } from "../../test-support.js";

const plugin = example(new URL("../", import.meta.url));
const CONFIG = JSON.parse(plugin.configJson) as Record<string, unknown>;
const AGGREGATOR_VM = "request-stats-aggregator";
const START = new Date("2030-01-01T00:00:00.000Z");

interface Proxy {
  envoy: MockEnvoy;
  workers: Host[];
  aggregator: Host;
}

async function loadAggregator(envoy: MockEnvoy, config: object = CONFIG, options: HostOptions = {}): Promise<Host> {
  const aggregator = await envoy.load(plugin.wasm, { rootId: "request-stats-aggregator", vmId: AGGREGATOR_VM, pluginConfig: config, ...options });
  const started = aggregator.start();
  assert.ok(started.ok, started.ok ? "" : started.message);
  return aggregator;
}

async function loadWorker(envoy: MockEnvoy, config: object = CONFIG): Promise<Host> {
  // Istio's WasmPlugin: the plugin name is the root id; the VM has the empty vm_id.
  const worker = await envoy.load(plugin.wasm, { rootId: "request-stats", pluginConfig: config });
  assert.ok(worker.start().ok);
  return worker;
}

async function proxy(config: object = CONFIG): Promise<Proxy> {
  const envoy = new MockEnvoy({ startTime: START });
  const aggregator = await loadAggregator(envoy, config);
  const workers = [await loadWorker(envoy, config), await loadWorker(envoy, config)];
  return { envoy, workers, aggregator };
}

type Pairs = [string, string][];
const request = (method: string, path: string): Pairs => [[":authority", "bookinfo.example.com"], [":path", path], [":method", method], ["user-agent", "curl/8.5.0"]];

/** A stream through `worker` that the upstream answers with `status` after `ms` of virtual time. */
function exchange(envoy: MockEnvoy, worker: Host, method: string, path: string, status: number, ms = 0): void {
  const stream = worker.newHttpStream();
  stream.sendRequestHeaders(request(method, path), true);
  assert.equal(stream.request.headersForwarded, true);
  assert.deepEqual(stream.request.headers.pairs(), request(method, path)); // the filter only watches
  if (ms > 0) envoy.advanceTime(ms);
  stream.sendResponseHeaders([[":status", String(status)]], true);
  assert.equal(stream.completed, true);
}

const responses = (envoy: MockEnvoy) =>
  Object.fromEntries(["2xx", "3xx", "4xx", "5xx", "other"].map((c) => [c, envoy.metrics.value(`request_stats.responses_${c}`)]));

const summary = (n: number, counts: number[], mean: number, slowest: string, slowestMs: number, seconds = 60) =>
  `request-stats: ${n} ${n === 1 ? "request" : "requests"} in the last ${seconds} s: ` +
  `2xx ${counts[0]}, 3xx ${counts[1]}, 4xx ${counts[2]}, 5xx ${counts[3]}, other ${counts[4]}; mean ${mean} ms; slowest ${slowest} ${slowestMs} ms`;

describe("request-stats: events from the workers reach the aggregator", () => {
  test("streams in two worker VMs are counted by status class in the process's stats, with their durations", async () => {
    const { envoy, workers, aggregator } = await proxy();
    const [a, b] = workers as [Host, Host];
    exchange(envoy, a, "GET", "/productpage", 200, 12);
    exchange(envoy, b, "GET", "/productpage", 200, 30);
    exchange(envoy, a, "GET", "/login", 302, 4);
    exchange(envoy, b, "POST", "/reviews", 404, 8);
    exchange(envoy, a, "GET", "/ratings", 503, 250);
    assert.deepEqual(responses(envoy), { "2xx": 2n, "3xx": 1n, "4xx": 1n, "5xx": 1n, other: 0n });
    assert.deepEqual(envoy.metrics.samples("request_stats.duration_ms"), [12n, 30n, 4n, 8n, 250n]);
    assert.equal(envoy.metrics.value("request_stats.dropped"), 0n);
    // Every event was taken off the queue.
    const token = envoy.sharedQueues.resolve(AGGREGATOR_VM, "request-stats");
    assert.equal(envoy.sharedQueues.depth(token), 0);
    assert.deepEqual(aggregator.logs, []);
    assert.deepEqual([...a.logs, ...b.logs], []);
  });

  test("the summary line on the tick: counts, mean, the slowest request; then a new window", async () => {
    const { envoy, workers, aggregator } = await proxy();
    const [a, b] = workers as [Host, Host];
    exchange(envoy, a, "GET", "/productpage", 200, 12);
    exchange(envoy, b, "GET", "/productpage?u=admin", 200, 30);
    exchange(envoy, a, "POST", "/reviews", 404, 8);
    exchange(envoy, b, "GET", "/ratings", 503, 250);
    assert.equal(aggregator.tickPeriodMs, 60_000);
    envoy.advanceTime(60_000 - 300); // the first tick is 60 s after the aggregator started
    assert.deepEqual(aggregator.logsAt(LogLevel.Info), [summary(4, [2, 0, 1, 1, 0], 75, "GET /ratings", 250)]);
    assert.equal(envoy.metrics.value("request_stats.window_max_duration_ms"), 250n);

    // The next window starts empty: one request, then its own line.
    exchange(envoy, a, "DELETE", "/reviews/7", 204, 5);
    envoy.advanceTime(60_000);
    assert.deepEqual(aggregator.logsAt(LogLevel.Info).slice(1), [summary(1, [1, 0, 0, 0, 0], 5, "DELETE /reviews/7", 5)]);
    assert.equal(envoy.metrics.value("request_stats.window_max_duration_ms"), 5n);

    // A window without requests logs nothing (and the gauge goes back to 0).
    envoy.advanceTime(60_000);
    assert.equal(aggregator.logsAt(LogLevel.Info).length, 2);
    assert.equal(envoy.metrics.value("request_stats.window_max_duration_ms"), 0n);
  });

  test("queue-ready arrives after the enqueue, on the dispatcher; one notification drains everything until Empty", async () => {
    const { envoy } = await proxy();
    const token = envoy.sharedQueues.resolve(AGGREGATOR_VM, "request-stats");
    assert.notEqual(token, 0);
    // Another producer (the test) enqueues three events at once: nothing is counted inside enqueue.
    for (const event of ["GET 200 1 /a", "GET 301 2 /b", "HEAD 200 3 /c d e"]) envoy.sharedQueues.enqueue(token, event);
    assert.equal(envoy.sharedQueues.depth(token), 3);
    assert.equal(envoy.sharedQueues.pendingNotifications.length, 3);
    assert.deepEqual(responses(envoy), { "2xx": 0n, "3xx": 0n, "4xx": 0n, "5xx": 0n, other: 0n });
    // The dispatcher runs the posted notifications: the first takes all three, the others find the queue empty.
    envoy.runPosted();
    assert.equal(envoy.sharedQueues.pendingNotifications.length, 0);
    assert.equal(envoy.sharedQueues.depth(token), 0);
    assert.deepEqual(responses(envoy), { "2xx": 2n, "3xx": 1n, "4xx": 0n, "5xx": 0n, other: 0n });
    assert.deepEqual(envoy.metrics.samples("request_stats.duration_ms"), [1n, 2n, 3n]);
    envoy.advanceTime(60_000);
    // The path runs to the end of the event, spaces and all.
    assert.deepEqual(envoy.hosts[0]!.logsAt(LogLevel.Info), [summary(3, [2, 1, 0, 0, 0], 2, "HEAD /c d e", 3)]);
  });

  test("a stream's event is counted once the stream's own dispatcher event is over", async () => {
    const { envoy, workers } = await proxy();
    const stream = workers[0]!.newHttpStream();
    stream.sendRequestHeaders(request("GET", "/"), true);
    assert.equal(responses(envoy)["2xx"], 0n);
    stream.sendResponseHeaders([[":status", "200"]], true); // on_log enqueues; queue-ready runs after the callback returns
    assert.equal(envoy.sharedQueues.pendingNotifications.length, 0);
    assert.equal(responses(envoy)["2xx"], 1n);
  });

  test("local replies, resets and streams without a response: status class and 'other'", async () => {
    const { envoy, workers } = await proxy();
    const worker = workers[0]!;
    const reset = worker.newHttpStream();
    reset.sendRequestHeaders(request("GET", "/slow"), false);
    envoy.advanceTime(40);
    reset.end(); // the client went away: no response at all
    const early = worker.newHttpStream();
    early.sendRequestHeaders(request("GET", "/big"), false);
    early.sendResponseHeaders([[":status", "413"]], true); // answered before the request ended
    early.end();
    assert.deepEqual(responses(envoy), { "2xx": 0n, "3xx": 0n, "4xx": 1n, "5xx": 0n, other: 1n });
  });
});

describe("request-stats: start order and restarts", () => {
  test("workers that start before the aggregator drop their events (counted) until it registers the queue", async () => {
    const envoy = new MockEnvoy({ startTime: START });
    const worker = await loadWorker(envoy);
    exchange(envoy, worker, "GET", "/early", 200);
    exchange(envoy, worker, "GET", "/early", 200);
    assert.equal(envoy.metrics.value("request_stats.dropped"), 2n);
    await loadAggregator(envoy);
    exchange(envoy, worker, "GET", "/late", 200, 7);
    assert.deepEqual(responses(envoy), { "2xx": 1n, "3xx": 0n, "4xx": 0n, "5xx": 0n, other: 0n });
    assert.equal(envoy.metrics.value("request_stats.dropped"), 2n);
  });

  test("the aggregator's VM goes away and comes back: events in between are dropped, then the workers find the new queue", async () => {
    const envoy = new MockEnvoy({ startTime: START });
    const first = await loadAggregator(envoy);
    const worker = await loadWorker(envoy);
    exchange(envoy, worker, "GET", "/a", 200);
    first.shutdown(); // its vm_id's last VM: the queue goes with it
    exchange(envoy, worker, "GET", "/b", 200);
    assert.equal(envoy.metrics.value("request_stats.dropped"), 1n);
    await loadAggregator(envoy);
    exchange(envoy, worker, "GET", "/c", 500);
    assert.deepEqual(responses(envoy), { "2xx": 1n, "3xx": 0n, "4xx": 0n, "5xx": 1n, other: 0n });
    assert.equal(envoy.metrics.value("request_stats.dropped"), 1n);
  });

  test("a custom queue, aggregator vm_id and interval", async () => {
    const config = { queue: "edge-events", aggregator_vm_id: "stats", summary_interval_ms: 10_000 };
    const envoy = new MockEnvoy({ startTime: START });
    const aggregator = await envoy.load(plugin.wasm, { rootId: "request-stats-aggregator", vmId: "stats", pluginConfig: config });
    assert.ok(aggregator.start().ok);
    const worker = await loadWorker(envoy, config);
    exchange(envoy, worker, "GET", "/", 200, 3);
    assert.notEqual(envoy.sharedQueues.resolve("stats", "edge-events"), 0);
    envoy.advanceTime(10_000);
    assert.deepEqual(aggregator.logsAt(LogLevel.Info), [summary(1, [1, 0, 0, 0, 0], 3, "GET /", 3, 10)]);
  });

  test("an empty configuration means the defaults of config.json", async () => {
    const envoy = new MockEnvoy({ startTime: START });
    const aggregator = await envoy.load(plugin.wasm, { rootId: "request-stats-aggregator", vmId: AGGREGATOR_VM });
    const worker = await envoy.load(plugin.wasm, { rootId: "request-stats" });
    assert.ok(aggregator.start().ok && worker.start().ok);
    exchange(envoy, worker, "GET", "/", 200);
    assert.equal(responses(envoy)["2xx"], 1n);
    assert.equal(aggregator.tickPeriodMs, 60_000);
  });
});

describe("request-stats: deployment and configuration", () => {
  test("wasmplugin.yaml: the WasmPlugin (phase STATS) and the aggregator's EnvoyFilter both carry config.json", () => {
    const [wasmPlugin, envoyFilter] = parseAllDocuments(plugin.wasmPluginYaml).map((d) => d.toJS()) as [
      { kind: string; spec: Record<string, unknown> },
      { kind: string; spec: { configPatches: { applyTo: string; patch: { value: { bootstrap_extensions: { typed_config: Record<string, unknown> }[] } } }[] } },
    ];
    assert.equal(wasmPlugin.kind, "WasmPlugin");
    assert.equal(wasmPlugin.spec.pluginName, "request-stats");
    assert.equal(wasmPlugin.spec.phase, "STATS");
    assert.deepEqual(wasmPlugin.spec.pluginConfig, CONFIG);
    assert.equal(envoyFilter.kind, "EnvoyFilter");
    const [patch] = envoyFilter.spec.configPatches;
    assert.equal(patch!.applyTo, "BOOTSTRAP");
    const service = patch!.patch.value.bootstrap_extensions[0]!.typed_config as {
      singleton: boolean;
      config: { root_id: string; vm_config: { vm_id: string }; configuration: { value: string } };
    };
    assert.equal(service.singleton, true);
    assert.equal(service.config.root_id, "request-stats-aggregator");
    assert.equal(service.config.vm_config.vm_id, CONFIG.aggregator_vm_id);
    assert.deepEqual(JSON.parse(service.config.configuration.value), CONFIG);
  });

  const FIELDS = "queue, aggregator_vm_id, summary_interval_ms";
  const invalid: [string, string | object, string][] = [
    ["not JSON", "queue=x", "the configuration is not valid JSON: expected a value at line 1, column 1"],
    ["an array", "[]", `the configuration must be a JSON object with the fields ${FIELDS}, not array`],
    ["an unknown field", { queue: "q", interval: 5 }, `unknown field "interval" (the fields are ${FIELDS})`],
    ["an empty queue name", { queue: "" }, '"queue" must not be empty'],
    ["a queue name not a string", { queue: 1 }, '"queue" must be a string, not number'],
    ["an aggregator_vm_id not a string", { aggregator_vm_id: null }, '"aggregator_vm_id" must be a string, not null'],
    ["an interval under a second", { summary_interval_ms: 999 }, '"summary_interval_ms" must be a whole number of milliseconds from 1000 to 86400000'],
    ["an interval as a string", { summary_interval_ms: "60s" }, '"summary_interval_ms" must be a whole number of milliseconds from 1000 to 86400000'],
  ];
  for (const rootId of ["request-stats", "request-stats-aggregator"]) {
    for (const [label, config, problem] of invalid) {
      test(`${rootId} rejects with one error line: ${label}`, async () => {
        const envoy = new MockEnvoy();
        const host = await envoy.load(plugin.wasm, { rootId, pluginConfig: config });
        const result = host.start();
        assert.equal(result.ok === false && result.reason, "configureFailed");
        assert.deepEqual(host.logs.map((e) => [e.level, e.message]), [[LogLevel.Error, `${rootId}: ${problem}`]]);
        assert.equal(host.tickPeriodMs, 0);
      });
    }
  }
});

describe("request-stats: memory", () => {
  test("10,000 streams through a worker: neither the worker's nor the aggregator's memory grows after 2,000 warm-up streams", async () => {
    const { envoy, workers, aggregator } = await proxy();
    const worker = workers[0]!;
    const one = (i: number) => {
      exchange(envoy, worker, i % 3 === 0 ? "POST" : "GET", `/items/${i}?q=${"x".repeat(i % 50)}`, [200, 201, 304, 404, 503][i % 5]!, i % 7);
      if (i % 1000 === 999) envoy.advanceTime(60_000);
    };
    for (let i = 0; i < 2000; i++) one(i);
    const baseline = [worker.memoryBytes, aggregator.memoryBytes];
    for (let i = 2000; i < 12_000; i++) one(i);
    assert.deepEqual([worker.memoryBytes, aggregator.memoryBytes], baseline);
    assert.equal(envoy.metrics.samples("request_stats.duration_ms")!.length, 12_000);
    assert.equal(aggregator.logsAt(LogLevel.Info).length > 10, true);
  });

  test("1,000 streams open at once, ten times over: the worker's memory stays the same after two rounds", async () => {
    const { envoy, workers } = await proxy();
    const worker = workers[0]!;
    const round = () => {
      const open = Array.from({ length: 1000 }, (_, i) => {
        const stream = worker.newHttpStream();
        stream.sendRequestHeaders(request("GET", `/p/${i}`), true);
        return stream;
      });
      for (const stream of open) stream.sendResponseHeaders([[":status", "200"]], true);
      return worker.memoryBytes;
    };
    round();
    const baseline = round();
    assert.deepEqual(Array.from({ length: 10 }, round), Array(10).fill(baseline));
    assert.equal(responses(envoy)["2xx"], 12_000n);
  });
});

describe("request-stats: cost", () => {
  test("a request costs the worker at most its budget (the cost meter)", async () => {
    const envoy = new MockEnvoy({ startTime: START });
    await loadAggregator(envoy);
    const worker = await envoy.load(plugin.wasm, { rootId: "request-stats", pluginConfig: CONFIG, meterCost: true, logLevel: LogLevel.Info });
    assert.ok(worker.start().ok);
    assertCostPerRequest(worker, (h) => {
      const stream = h.newHttpStream();
      stream.sendRequestHeaders(request("GET", "/productpage"), true);
      stream.sendResponseHeaders([[":status", "200"]], true);
    }, { instructions: 2_020, hostCalls: 5 });
  });
});
