// Plugin memory: leak checks over many streams (measureMemoryGrowth), on the examples'
// release builds and on a module that leaks on purpose; and the maxMemoryBytes guard,
// which fails the VM, naming the limit, when the module's linear memory grows past it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import {
  FilterHeadersStatus,
  Host,
  INITIALIZATION_FAILED,
  INSTANTIATION_FAILED,
  LogLevel,
  measureMemoryGrowth,
  ModuleLoadError,
  WasmResult,
  type HostOptions,
} from "../runtime-mock/index.js";
import { buildPlugin, compileWat, events, rec, recordingCallbacks, slotValue } from "./support/plugin.js";

const PAGE = 65536;

function release(example: string): Uint8Array {
  const url = new URL(`../examples/${example}/build/release.wasm`, import.meta.url);
  if (!existsSync(url)) throw new Error(`${url.pathname} is missing: run \`npm run build:examples\` first`);
  return new Uint8Array(readFileSync(url));
}

async function started(bytes: Uint8Array, options: HostOptions = {}): Promise<Host> {
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
    assert.equal(growth.warmupStreams, 100);
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

describe("maxMemoryBytes: a guard Envoy does not have", () => {
  const growIn = (callback: "requestHeaders" | "vmStart", pages: number) =>
    buildPlugin(() => ({ body: recordingCallbacks({ [callback]: { code: `(drop (memory.grow (i32.const ${pages})))` } }) }));

  test("memory grown by a callback past the limit fails the VM naming sizes and limit; the stream gets 503 and no teardown calls", async () => {
    const host = await started(growIn("requestHeaders", 1), { maxMemoryBytes: 2 * PAGE, throwOnTrap: false });
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/" }), FilterHeadersStatus.StopAllIterationAndWatermark);
    const message = `Function: proxy_on_request_headers: linear memory grew to ${3 * PAGE} bytes, over the configured limit of ${2 * PAGE} bytes (maxMemoryBytes)`;
    assert.equal(host.failure?.phase, "proxy_on_request_headers");
    assert.equal(host.failure?.kind, "memoryLimit");
    assert.equal(host.failure?.message, message);
    assert.deepEqual(host.logsAt(LogLevel.Error), [`${message}\n${host.failure?.report}`]);
    assert.equal(stream.localResponse?.status, 503);
    assert.equal(events(host).at(-1)?.name, "requestHeaders");
    const later = host.newHttpStream();
    later.sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(later.localResponse?.status, 503);
  });

  test("failing open, later streams pass untouched", async () => {
    const host = await started(growIn("requestHeaders", 1), { maxMemoryBytes: 2 * PAGE, failStrategy: "failOpen", throwOnTrap: false });
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/" }, true), FilterHeadersStatus.Continue);
    assert.equal(host.state, "failed");
    const later = host.newHttpStream();
    assert.equal(later.sendRequestHeaders({ ":path": "/" }, true), FilterHeadersStatus.Continue);
    assert.equal(later.request.endStreamForwarded, true);
  });

  test("growth up to the limit itself is fine; without the option nothing is checked", async () => {
    const atLimit = await started(growIn("requestHeaders", 1), { maxMemoryBytes: 3 * PAGE });
    atLimit.newHttpStream().sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(atLimit.failure, undefined);
    assert.equal(atLimit.memoryBytes, 3 * PAGE);
    const unlimited = await started(growIn("requestHeaders", 100));
    unlimited.newHttpStream().sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(unlimited.failure, undefined);
  });

  test("on_vm_start growing past the limit: start() reports the VM failure", async () => {
    const host = await Host.load(growIn("vmStart", 4), { maxMemoryBytes: 4 * PAGE, throwOnTrap: false });
    const result = host.start();
    assert.equal(!result.ok && result.reason, "vmFailed");
    assert.match(!result.ok ? result.failure!.message : "", /^Function: proxy_on_vm_start: linear memory grew to 393216 bytes, over the configured limit of 262144 bytes/);
    assert.match(!result.ok ? result.message : "", /^memory limit in proxy_on_vm_start: linear memory grew to 393216 bytes, over maxMemoryBytes \(262144\)/);
  });

  test("the allocator growing memory inside a host call: the call answers INVALID_MEMORY_ACCESS, the failure names the allocator", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({ requestHeaders: { code: rec(0, "(call $proxy_get_header_map_pairs (i32.const 0) (i32.const 256) (i32.const 260))") } }),
    }));
    const host = await started(bytes, { maxMemoryBytes: 2 * PAGE, throwOnTrap: false });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/", "x-big": "x".repeat(70_000) }, true);
    assert.equal(slotValue(host, 0), WasmResult.InvalidMemoryAccess);
    assert.equal(host.failure?.phase, "malloc");
    assert.match(host.failure!.message, /^Function: malloc: linear memory grew to \d+ bytes, over the configured limit of 131072 bytes \(maxMemoryBytes\)$/);
    assert.equal(stream.localResponse?.status, 503);
  });

  test("_initialize growing past the limit fails the load with the limit in the hint", async () => {
    const bytes = compileWat(`(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 0))
      (func (export "_initialize") (drop (memory.grow (i32.const 2)))))`);
    await assert.rejects(Host.load(bytes, { maxMemoryBytes: 2 * PAGE, throwOnTrap: false }), (error: unknown) => {
      assert.ok(error instanceof ModuleLoadError);
      assert.equal(error.message, INITIALIZATION_FAILED);
      assert.equal(error.hint, `Function: _initialize: linear memory grew to ${3 * PAGE} bytes, over the configured limit of ${2 * PAGE} bytes (maxMemoryBytes), while initializing (_initialize/main/_start).`);
      return true;
    });
  });

  test("a module whose initial memory is already over the limit is refused at load", async () => {
    await assert.rejects(Host.load(growIn("requestHeaders", 0), { maxMemoryBytes: PAGE }), (error: unknown) => {
      assert.ok(error instanceof ModuleLoadError);
      assert.equal(error.message, INSTANTIATION_FAILED);
      assert.match(error.hint ?? "", /starts at 131072 bytes, over the configured limit of 65536 bytes \(maxMemoryBytes\)/);
      return true;
    });
  });

  test("an imported memory is checked the same way", async () => {
    const bytes = compileWat(`(module
      (import "env" "memory" (memory 1 100))
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (drop (memory.grow (i32.const 1))) (i32.const 0)))`);
    const host = await started(bytes, { maxMemoryBytes: PAGE, throwOnTrap: false });
    host.newHttpStream().sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(host.failure?.message, `Function: proxy_on_request_headers: linear memory grew to ${2 * PAGE} bytes, over the configured limit of ${PAGE} bytes (maxMemoryBytes)`);
  });

  test("the option must be a positive integer", async () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(Host.load(growIn("requestHeaders", 0), { maxMemoryBytes: bad }), RangeError);
    }
  });
});
