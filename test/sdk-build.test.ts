// What a module built with the SDK's build settings looks like to Envoy: only host
// imports Envoy provides, the exports it looks up, no start section; and how the SDK
// behaves at the edges (aborts, root ids) in the mock host.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FilterHeadersStatus, Host, LogLevel, PluginTrapError } from "proxy-wasm-as";
import { inspectModule } from "../runtime-mock/wasm/module.js";
import { hostFunctionTypes } from "../runtime-mock/wasm/signatures.js";

const builds = [
  "examples/header-append/build/release.wasm",
  "examples/header-append/build/debug.wasm",
  "examples/header-authorization/build/release.wasm",
  "examples/header-authorization/build/debug.wasm",
  "test/fixtures/crash/build/release.wasm",
  "test/fixtures/two-roots/build/release.wasm",
];

const request: [string, string][] = [[":method", "GET"], [":path", "/"], [":authority", "example.com"]];

describe("modules built with the SDK's settings", () => {
  for (const path of builds) {
    it(`${path} imports only what Envoy provides and exports what it looks up`, () => {
      const info = inspectModule(readFileSync(path));
      assert.equal(info.abiVersion, "0.2.1");
      const provided = hostFunctionTypes("0.2.1");
      for (const entry of info.imports) {
        const key = `${entry.module}.${entry.name}`;
        assert.ok(entry.module === "env" && entry.name.startsWith("proxy_"), `unexpected import ${key}`);
        assert.ok(provided.has(key), `${key} is not provided by Envoy for ABI 0.2.1`);
      }
      const exports = new Set(info.exports.map((e) => e.name));
      for (const name of ["proxy_abi_version_0_2_1", "memory", "malloc", "proxy_on_memory_allocate", "_initialize", "proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure", "proxy_on_request_headers", "proxy_on_response_headers", "proxy_on_log", "proxy_on_done", "proxy_on_delete"]) {
        assert.ok(exports.has(name), `missing export ${name}`);
      }
      assert.equal(info.hasStartSection, false, "a start section would run before Envoy has a context");
    });
  }
});

describe("an abort in a plugin", () => {
  it("is one critical log line with the message and source position, then a VM failure that fails streams closed", async () => {
    const host = await Host.load("test/fixtures/crash/build/release.wasm");
    assert.ok(host.start().ok);
    const healthy = host.newHttpStream();
    assert.equal(healthy.sendRequestHeaders(request, true), FilterHeadersStatus.Continue);

    const crashing = host.newHttpStream();
    // Never silent: the call that ran the trapping callback throws, after Envoy's 503 was applied.
    const error = (() => {
      try {
        crashing.sendRequestHeaders([...request, ["x-crash", "boom"]], true);
      } catch (e) {
        return e;
      }
      assert.fail("the trap was not thrown");
    })();
    assert.ok(error instanceof PluginTrapError);
    assert.equal(error.failure, host.failure);
    assert.equal(error.kind, "abort");
    assert.equal(error.failure.detail, "asked to crash: boom at assembly/index.ts:13:5");
    assert.equal(error.failure.userFrame?.file, "assembly/index.ts");
    assert.equal(error.failure.userFrame?.line, 13, "the release build's map names the user's line");
    assert.match(error.message, /^abort in proxy_on_request_headers: asked to crash: boom at assembly\/index\.ts:13:5\n {4}at assembly\/index\.ts:13:\d+ /);
    const critical = host.logsAt(LogLevel.Critical);
    assert.equal(critical.length, 1);
    assert.match(critical[0], /^abort: asked to crash: boom at assembly\/index\.ts:\d+:\d+$/);
    assert.equal(host.state, "failed");
    assert.equal(crashing.localResponse?.status, 503);

    const later = host.newHttpStream();
    later.sendRequestHeaders(request, true);
    assert.equal(later.localResponse?.status, 503);
    assert.equal(later.request.headersForwarded, false);
  });

  it("lets later streams through untouched with failOpen", async () => {
    const host = await Host.load("test/fixtures/crash/build/release.wasm", { failStrategy: "failOpen" });
    assert.ok(host.start().ok);
    host.expectTrap(() => host.newHttpStream().sendRequestHeaders([...request, ["x-crash", "boom"]], true));
    const later = host.newHttpStream();
    assert.equal(later.sendRequestHeaders(request, true), FilterHeadersStatus.Continue);
    assert.equal(later.localResponse, undefined);
    assert.equal(later.request.headersForwarded, true);
  });
});

describe("root ids", () => {
  for (const rootId of ["first", "second"]) {
    it(`runs the plugin registered as "${rootId}"`, async () => {
      const host = await Host.load("test/fixtures/two-roots/build/release.wasm", { rootId });
      assert.ok(host.start().ok);
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(request, true);
      assert.equal(stream.request.headers.get("x-root"), rootId);
    });
  }

  it("refuses the empty root id when two plugins are registered, naming them", async () => {
    const host = await Host.load("test/fixtures/two-roots/build/release.wasm", { rootId: "" });
    const result = host.start();
    assert.equal(result.ok, false);
    assert.equal(host.state, "startFailed");
    const diagnosis = 'no root context is registered for root id "" (registered: "first", "second"); set the WasmPlugin\'s pluginName to one of them, or register one with registerRootContext(factory, "")';
    assert.deepEqual(host.logsAt(LogLevel.Critical), [diagnosis]);
    // The start result says why, not only that on_vm_start returned false.
    assert.equal(!result.ok && result.reason, "vmStartFailed");
    assert.deepEqual(!result.ok && result.pluginErrors, [diagnosis]);
    assert.ok(!result.ok && result.message.endsWith(`the plugin logged: ${diagnosis}`), !result.ok ? result.message : "");
  });

  it("says why a start failed at the strictest log level that still lets the plugin speak", async () => {
    const host = await Host.load("test/fixtures/two-roots/build/release.wasm", { rootId: "third", logLevel: LogLevel.Critical });
    const result = host.start();
    assert.match(!result.ok ? result.message : "", /no root context is registered for root id "third" \(registered: "first", "second"\)/);
  });

  it("serves any root id with a module that registered a single plugin without one", async () => {
    const host = await Host.load("test/fixtures/crash/build/release.wasm", { rootId: "whatever-istio-sends" });
    assert.ok(host.start().ok);
  });
});
