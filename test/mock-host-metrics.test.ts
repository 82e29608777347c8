// Plugin-defined metrics with exact host statuses (WAT plugins): ids per VM, stats by name
// per process, Envoy's rules for each type, and the test-side views (ABI.md §3.10, §5.12).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MetricType, MockEnvoy, WasmResult, type Host } from "../runtime-mock/index.js";
import { buildPlugin, OUT_A, OUT_B, readU64, rec, recordingCallbacks, slotValue, startPlugin, type Kit } from "./support/plugin.js";

const define = (kit: Kit, type: number, name: string, at = OUT_A) => `(call $proxy_define_metric (i32.const ${type}) ${kit.str(name)} (i32.const ${at}))`;
const inc = (id: number, delta: bigint | number) => `(call $proxy_increment_metric (i32.const ${id}) (i64.const ${delta}))`;
const record = (id: number, value: bigint | number) => `(call $proxy_record_metric (i32.const ${id}) (i64.const ${value}))`;
const get = (id: number) => `(call $proxy_get_metric (i32.const ${id}) (i32.const ${OUT_B}))`;
const slots = (host: Host, n: number) => Array.from({ length: n }, (_, i) => slotValue(host, i));

describe("metrics (ABI.md §5.12)", () => {
  test("ids are per VM, stats are per process by name: two plugins defining \"requests\" count into one stat", async () => {
    const envoy = new MockEnvoy();
    const plugin = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: { code: `${rec(0, define(kit, 0, "requests"))} ${rec(1, `(i32.load (i32.const ${OUT_A}))`)}` },
        requestHeaders: { code: rec(2, inc(4, 1)) },
      }),
    }));
    const a = await envoy.load(plugin, { vmId: "a" });
    const b = await envoy.load(plugin, { vmId: "b" });
    a.start();
    b.start();
    assert.deepEqual([slotValue(a, 1), slotValue(b, 1)], [4, 4], "each VM numbers its own ids");
    for (const host of [a, b, a]) host.newHttpStream().sendRequestHeaders({}, true);
    assert.equal(envoy.metrics.value("requests"), 3n);
    assert.equal(a.metrics.value("requests"), 3n, "a host's view is the process's stats");
    const alone = await startPlugin(plugin);
    assert.equal(alone.metrics.value("requests"), 0n, "Host.load: a private process, its own stats");
  });

  test("reading never writes; histograms cannot be read or incremented; a counter cannot go down", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: {
          code: `
            (drop ${define(kit, 0, "c")}) (drop ${define(kit, 1, "g")}) (drop ${define(kit, 2, "h")})
            ${rec(0, inc(4, 3))} ${rec(1, get(4))} ${rec(2, get(4))} ${rec(3, `(i32.wrap_i64 (i64.load (i32.const ${OUT_B})))`)}
            ${rec(4, inc(4, 0))} ${rec(5, inc(4, -1))} ${rec(6, inc(4, -(1n << 63n)))}
            ${rec(7, record(4, 0))} ${rec(8, record(4, 2))}
            ${rec(9, record(5, 1))} ${rec(10, inc(5, -2))} ${rec(11, get(5))}
            ${rec(12, record(6, 7))} ${rec(13, record(6, 7))} ${rec(14, get(6))} ${rec(15, inc(6, 1))}
            ${rec(16, get(4))}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 17), [
      WasmResult.Ok,
      WasmResult.Ok,
      WasmResult.Ok,
      3, // two reads, still 3
      WasmResult.BadArgument, // counter +0
      WasmResult.BadArgument, // counter -1
      WasmResult.BadArgument, // counter i64 min
      WasmResult.Ok, // record 0 adds nothing
      WasmResult.Ok, // record adds
      WasmResult.Ok,
      WasmResult.Ok, // a gauge goes below 0: Envoy's u64 wraps
      WasmResult.Ok,
      WasmResult.Ok,
      WasmResult.Ok,
      WasmResult.BadArgument,
      WasmResult.BadArgument,
      WasmResult.Ok,
    ]);
    assert.equal(readU64(host, OUT_B), 5n);
    assert.equal(host.metrics.value("g"), (1n << 64n) - 1n);
    assert.deepEqual(host.metrics.samples("h"), [7n, 7n]);
    assert.deepEqual(host.metrics.get("h"), { name: "h", type: MetricType.Histogram, value: 2n, samples: [7n, 7n] });
  });

  test("every define gives a fresh id for the same stat; ids of another type or never defined are NOT_FOUND", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: {
          code: `
            ${rec(0, define(kit, 1, "active"))} ${rec(1, `(i32.load (i32.const ${OUT_A}))`)}
            ${rec(2, define(kit, 1, "active"))} ${rec(3, `(i32.load (i32.const ${OUT_A}))`)}
            ${rec(4, record(5, 10))} ${rec(5, inc(9, 1))} ${rec(6, get(5))} ${rec(7, `(i32.wrap_i64 (i64.load (i32.const ${OUT_B})))`)}
            ${rec(8, get(13))} ${rec(9, record(8, 1))} ${rec(10, record(7, 1))} ${rec(11, inc(7, 1))}
            ${rec(12, define(kit, 0, "active"))}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 13), [0, 5, 0, 9, 0, 0, 0, 11, WasmResult.NotFound, WasmResult.NotFound, WasmResult.NotFound, WasmResult.BadArgument, 0]);
    // A counter and a gauge may share a name; each is its own stat.
    assert.deepEqual(
      host.metrics.list().map((m) => [m.name, m.type, m.value]),
      [
        ["active", MetricType.Gauge, 11n],
        ["active", MetricType.Counter, 0n],
      ],
    );
    assert.equal(host.metrics.get("active", MetricType.Counter)?.value, 0n);
  });

  test("names may be looked up with Envoy's \"wasmcustom.\" prefix; unknown names are undefined", async () => {
    const bytes = buildPlugin((kit) => ({ body: recordingCallbacks({ vmStart: { code: `(drop ${define(kit, 0, "hits")}) (drop ${inc(4, 2)})` } }) }));
    const host = await startPlugin(bytes);
    assert.equal(host.metrics.value("wasmcustom.hits"), 2n);
    assert.equal(host.metrics.get("wasmcustom.hits")?.name, "hits");
    assert.equal(host.metrics.value("nope"), undefined);
    assert.equal(host.metrics.samples("hits"), undefined, "not a histogram");
  });

  test("defining a metric while the module initializes traps (V8's restricted phase); do it from a callback", async () => {
    const bytes = buildPlugin((kit) => ({ body: `${recordingCallbacks()} (func (export "_initialize") (drop ${define(kit, 0, "early")}))` }));
    await assert.rejects(startPlugin(bytes), (error: Error & { hint?: string }) => {
      assert.equal(error.message, "Failed to initialize Wasm code");
      assert.match(error.hint ?? "", /restricted_callback[\s\S]*env\.proxy_define_metric/);
      return true;
    });
  });
});
