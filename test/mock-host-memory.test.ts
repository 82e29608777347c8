// Plugin memory: leak checks over many streams (measureMemoryGrowth), on the examples'
// release builds and on a module that leaks on purpose; and the maxMemoryBytes guard,
// which fails the VM, naming the limit, when the module's linear memory grows past it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import {
  FilterHeadersStatus,
  Host,
  INSTANTIATION_FAILED,
  LogLevel,
  measureMemoryGrowth,
  ModuleLoadError,
  WasmResult,
  type HostOptions,
} from "../runtime-mock/index.js";
import { DEFAULT_WARMUP_STREAMS } from "../runtime-mock/warmup.js";
import { buildPlugin, compileWat, events, rec, recordingCallbacks, slot, slotValue } from "./support/plugin.js";

const PAGE = 65536;

function release(example: string): Uint8Array {
  const url = new URL(`../examples/${example}/build/release.wasm`, import.meta.url);
  if (!existsSync(url)) throw new Error(`${url.pathname} is missing: run \`npm run build:examples\` first`);
  return new Uint8Array(readFileSync(url));
}

async function started(bytes: Uint8Array | WebAssembly.Module, options: HostOptions = {}): Promise<Host> {
  const host = await Host.load(bytes, options);
  const result = host.start();
  assert.ok(result.ok, JSON.stringify(result));
  return host;
}

const REQUEST: [string, string][] = [
  [":authority", "productpage.bookinfo"],
  [":path", "/productpage"],
  [":method", "GET"],
  [":scheme", "http"],
  ["user-agent", "curl/8.5.0"],
];

describe("measureMemoryGrowth: leak checks over many streams", () => {
  test("header-append (release): memory flat over 5,000 streams with bodies, under a 1 MiB limit", async () => {
    const host = await started(release("header-append"), {
      rootId: "header-append",
      pluginConfig: { "first-header": "some-value", "another-header": "another-value" },
      maxMemoryBytes: 1 << 20,
    });
    const growth = measureMemoryGrowth(host, 5000, (h) => {
      const stream = h.newHttpStream();
      stream.sendRequestHeaders(REQUEST);
      stream.sendRequestBody("request body", true);
      stream.sendResponseHeaders({ ":status": "200", "content-type": "text/html" });
      stream.sendResponseBody("<html></html>", true);
      assert.equal(stream.response.headers.get("first-header"), "some-value");
      assert.equal(stream.completed, true);
    });
    assert.equal(growth.grewBytes, 0, JSON.stringify(growth));
    assert.equal(growth.warmupStreams, DEFAULT_WARMUP_STREAMS);
    assert.equal(growth.streams, 5000);
    assert.equal(growth.after, host.memoryBytes);
  });

  test("header-authorization (release): memory flat over 5,000 streams, half of them denied with a local reply", async () => {
    const host = await started(release("header-authorization"), { rootId: "header-authorization", pluginConfig: { header: "allow", expectedValue: "true" } });
    const growth = measureMemoryGrowth(
      host,
      5000,
      (h, i) => {
        const stream = h.newHttpStream();
        const allowed = i % 2 === 0;
        const status = stream.sendRequestHeaders([...REQUEST, ["allow", allowed ? "true" : "no"]], true);
        assert.equal(status, allowed ? FilterHeadersStatus.Continue : FilterHeadersStatus.StopAllIterationAndWatermark);
        if (allowed) stream.sendResponseHeaders({ ":status": "200" }, true);
        assert.equal(stream.completed, true);
      },
      { warmup: 500 },
    );
    assert.equal(growth.grewBytes, 0, JSON.stringify(growth));
  });

  test("a module that keeps what the host hands it grows, and the helper says how much", async () => {
    // The kit's bump allocator never frees: each stream keeps its request headers (~4 KiB).
    const bytes = buildPlugin(() => ({ body: recordingCallbacks({ requestHeaders: { code: "(drop (call $proxy_get_header_map_pairs (i32.const 0) (i32.const 256) (i32.const 260)))" } }) }));
    const host = await started(bytes);
    const growth = measureMemoryGrowth(host, 100, (h) => {
      const stream = h.newHttpStream();
      stream.sendRequestHeaders({ ":path": "/", "x-big": "x".repeat(4096) }, true);
      stream.sendResponseHeaders({ ":status": "200" }, true);
    }, { warmup: 10 });
    assert.ok(growth.grewBytes >= 100 * 4096 - PAGE, JSON.stringify(growth));
    assert.equal(growth.grewBytes % PAGE, 0);
  });

  test("a VM that fails during the measurement is reported, not measured", async () => {
    const host = await started(buildPlugin(() => ({ body: recordingCallbacks({ requestBody: { code: "(unreachable)" } }) })));
    assert.throws(
      () => measureMemoryGrowth(host, 10, (h) => {
        const stream = h.newHttpStream();
        stream.sendRequestHeaders({ ":path": "/" });
        stream.sendRequestBody("x", true);
      }, { warmup: 0 }),
      /the VM failed during stream 0, so its memory says nothing: Function: proxy_on_request_body failed/,
    );
    assert.throws(() => measureMemoryGrowth(host, 1, () => {}), /the VM has already failed/);
    assert.throws(() => measureMemoryGrowth(host, -1, () => {}), RangeError);
  });
});

describe("the SDK's collector: when it runs (header-append, release, metered)", () => {
  const CONFIG = { "first-header": "some-value", "another-header": "another-value" };
  /** The streams (by index) whose cost stands out as the collection's: 20× the median stream. */
  const collectingStreams = (costs: number[]) => {
    const median = [...costs].sort((a, b) => a - b)[costs.length >> 1]!;
    return costs.flatMap((cost, i) => (cost > 20 * median ? [i] : []));
  };
  const gaps = (at: number[]) => at.slice(1).map((stream, i) => stream - at[i]!);
  const passthrough = (h: Host) => {
    const stream = h.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    stream.sendResponseHeaders({ ":status": "200" }, true);
  };

  test("it runs once the heap grew by 32 KiB: every few hundred streams, and always within the checks' default warm-up", async () => {
    const host = await started(release("header-append"), { rootId: "header-append", pluginConfig: CONFIG, meterCost: true });
    const costs = Array.from({ length: 6000 }, () => {
      const before = host.cost.instructions;
      passthrough(host);
      return host.cost.instructions - before;
    });
    const at = collectingStreams(costs);
    assert.ok(at.length >= 5, `collections at ${at.join(", ")}`);
    // The first comes before measureCost and measureMemoryGrowth start measuring; then at a steady pace.
    assert.ok(at[0]! < DEFAULT_WARMUP_STREAMS, `first collection at stream ${at[0]}`);
    for (const gap of gaps(at)) {
      assert.ok(gap >= 200 && gap <= 1171, `collections ${gap} streams apart (${at.join(", ")})`);
    }
    assert.ok(new Set(gaps(at)).size <= 2, `an even pace: ${gaps(at).join(", ")}`);
  });

  test("with 1,000 streams open it runs no more often (it waits for half the live heap or 32 KiB, whichever is more), and memory stays flat", async () => {
    const host = await started(release("header-append"), { rootId: "header-append", pluginConfig: CONFIG, meterCost: true });
    const open = Array.from({ length: 1000 }, () => {
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(REQUEST, false);
      return stream;
    });
    const costs: number[] = [];
    const memory: number[] = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 3000; i++) {
        const before = host.cost.instructions;
        passthrough(host);
        costs.push(host.cost.instructions - before);
      }
      memory.push(host.memoryBytes);
    }
    const at = collectingStreams(costs);
    assert.ok(at.length >= 3, `collections at ${at.join(", ")}`);
    for (const gap of gaps(at)) assert.ok(gap >= 1024, `collections ${gap} streams apart with 1,000 open`);
    assert.deepEqual(memory.slice(1), Array(3).fill(memory[0]), `memory after each round: ${memory.join(", ")}`);
    for (const stream of open) stream.sendRequestBody("", true);
  });
});

describe("maxMemoryBytes: the engine's memory maximum, as Envoy's V8 has one", () => {
  const growIn = (callback: "requestHeaders" | "vmStart", pages: number) =>
    buildPlugin(() => ({ body: recordingCallbacks({ [callback]: { code: rec(0, `(memory.grow (i32.const ${pages}))`) } }) }));
  /** Grows one page at a time until memory.grow refuses; slot 0 counts the pages it got. */
  const growUntilRefused = buildPlugin(() => ({
    body: recordingCallbacks({
      requestHeaders: { code: `(block $done (loop $more (br_if $done (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0))) ${rec(0, `(i32.add (i32.load (i32.const ${slot(0)})) (i32.const 1))`)} (br $more)))` },
    }),
  }));

  test("a plugin that grows in a loop stops at the limit: memory.grow returns -1 inside the callback, and the plugin goes on", async () => {
    const host = await started(growUntilRefused, { maxMemoryBytes: 16 * PAGE });
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/" }, true), FilterHeadersStatus.Continue);
    assert.equal(slotValue(host, 0), 14, "from 2 pages to the 16-page maximum");
    assert.equal(host.memoryBytes, 16 * PAGE);
    assert.equal(host.failure, undefined, "a refused grow is the plugin's to handle, not a failure");
    assert.equal(stream.request.endStreamForwarded, true);
  });

  test("the default is Envoy's: 1 GiB", async () => {
    const host = await started(growUntilRefused, { stepBudget: false });
    host.newHttpStream().sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(host.memoryBytes, 1024 * 1024 * 1024);
    assert.equal(host.failure, undefined);
  });

  test("a declared maximum below the limit stays; an imported memory gets the limit too", async () => {
    const declared = compileWat(`(module (memory (export "memory") 2 3) (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.store (i32.const 0) (memory.grow (i32.const 2))) (i32.const 0)))`);
    const small = await started(declared, { maxMemoryBytes: 16 * PAGE });
    small.newHttpStream().sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(small.memoryBytes, 2 * PAGE, "growing past the module's own maximum of 3 pages is refused");
    const imported = compileWat(`(module
      (import "env" "memory" (memory 1))
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.store (i32.const 0) (memory.grow (i32.const 1))) (i32.const 0)))`);
    const host = await started(imported, { maxMemoryBytes: PAGE });
    host.newHttpStream().sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(host.memoryBytes, PAGE);
    assert.equal(host.failure, undefined);
  });

  test("setting the maximum keeps the plugin's source lines right (the code moved by a few bytes)", async () => {
    const host = await Host.load("test/fixtures/traps/build/debug.wasm", { maxMemoryBytes: 64 * PAGE, stepBudget: 1_000_000 });
    assert.ok(host.start().ok);
    const failure = host.expectTrap(() => host.newHttpStream().sendRequestHeaders({ ":path": "/", ":method": "GET", ":authority": "x", "x-fail": "divide" }, true));
    assert.equal(`${failure.userFrame?.file}:${failure.userFrame?.line}`, "assembly/index.ts:24", failure.report);
  });

  test("an AssemblyScript plugin that runs out of memory: kind outOfMemory, naming the maximum and the user's line", async () => {
    for (const build of ["debug", "release"]) {
      const host = await Host.load(`test/fixtures/traps/build/${build}.wasm`, { maxMemoryBytes: 64 * PAGE, stepBudget: 1_000_000 });
      assert.ok(host.start().ok);
      const failure = host.expectTrap(() => host.newHttpStream().sendRequestHeaders({ ":path": "/", ":method": "GET", ":authority": "x", "x-fail": "oom" }, true));
      assert.equal(failure.kind, "outOfMemory", failure.report);
      assert.match(failure.report, /^out of memory in proxy_on_request_headers: the allocator could not grow linear memory past \d+ bytes: the engine's maximum is 4194304 bytes \(HostOptions\.maxMemoryBytes/);
      assert.equal(`${failure.userFrame?.file}:${failure.userFrame?.line}`, "assembly/index.ts:41", failure.report);
      assert.ok(host.memoryBytes <= 64 * PAGE);
    }
  });

  test("backstop for a ready WebAssembly.Module (its maximum cannot be set): growth past the limit fails the VM after the call", async () => {
    const module = new WebAssembly.Module(growIn("requestHeaders", 1));
    const host = await started(module, { maxMemoryBytes: 2 * PAGE, throwOnTrap: false });
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/" }), FilterHeadersStatus.StopAllIterationAndWatermark);
    const message = `Function: proxy_on_request_headers: linear memory grew to ${3 * PAGE} bytes, over the configured limit of ${2 * PAGE} bytes (maxMemoryBytes)`;
    assert.equal(host.failure?.kind, "memoryLimit");
    assert.equal(host.failure?.message, message);
    assert.deepEqual(host.logsAt(LogLevel.Error), [`${message}\n${host.failure?.report}`]);
    assert.equal(stream.localResponse?.status, 503);
    assert.equal(events(host).at(-1)?.name, "requestHeaders");
  });

  test("the allocator refused inside a host call: the call answers INVALID_MEMORY_ACCESS and the plugin goes on", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({ requestHeaders: { code: rec(1, "(call $proxy_get_header_map_pairs (i32.const 0) (i32.const 256) (i32.const 260))") } }),
    }));
    const host = await started(bytes, { maxMemoryBytes: 2 * PAGE, throwOnTrap: false });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/", "x-big": "x".repeat(70_000) }, true);
    assert.equal(slotValue(host, 1), WasmResult.InvalidMemoryAccess);
    assert.equal(host.memoryBytes, 2 * PAGE);
  });

  test("a module whose initial memory is already over the limit is refused at load", async () => {
    await assert.rejects(Host.load(growIn("requestHeaders", 0), { maxMemoryBytes: PAGE }), (error: unknown) => {
      assert.ok(error instanceof ModuleLoadError);
      assert.equal(error.message, INSTANTIATION_FAILED);
      assert.match(error.hint ?? "", /starts at 131072 bytes, over the configured limit of 65536 bytes \(maxMemoryBytes\)/);
      return true;
    });
  });

  test("the option must be a whole number of bytes from one page to 4 GiB", async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 1000, 2 ** 33]) {
      await assert.rejects(Host.load(growIn("requestHeaders", 0), { maxMemoryBytes: bad }), RangeError);
    }
  });
});
