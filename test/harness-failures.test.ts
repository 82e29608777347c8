// The test harness's failure reports (issue: every plugin failure names the plugin's own
// source line, never passes silently and never hangs). The fixture test/fixtures/traps
// fails in the way the request's x-fail header names; the line numbers below are its own.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import wabtInit from "wabt";
import { FilterHeadersStatus, Host, LogLevel, PluginTrapError, type HostOptions, type PluginFailure, type TrapKind } from "../runtime-mock/index.js";
import { readFunctionNames, sourceMappingUrl } from "../runtime-mock/wasm/custom-sections.js";
import { clearCompiledModuleCache, compilePlugin, compiledPluginNow } from "../runtime-mock/wasm/compiled-modules.js";
import { FUNCTION_NAMES_FIELD } from "../runtime-mock/wasm/diagnostics/source-map.js";
import { shortName } from "../runtime-mock/wasm/diagnostics/failure.js";

const wabt = await wabtInit();
const REQUEST: [string, string][] = [[":method", "GET"], [":path", "/"], [":authority", "example.com"]];
const fixture = (build: "release" | "debug") => `test/fixtures/traps/build/${build}.wasm`;

async function trapWith(mode: string, build: "release" | "debug", options: HostOptions = {}): Promise<PluginFailure> {
  const host = await Host.load(fixture(build), { stepBudget: 1_000_000, ...options });
  assert.ok(host.start().ok);
  return host.expectTrap(() => host.newHttpStream().sendRequestHeaders([...REQUEST, ["x-fail", mode]], true));
}

const at = (failure: PluginFailure) => (failure.userFrame ? `${failure.userFrame.file}:${failure.userFrame.line}` : "(no user frame)");

describe("every kind of trap names its kind and the user's own line", () => {
  // mode → kind, the detail, and the first user line in the debug build (exact) and the release build (optimized).
  const cases: { mode: string; kind: TrapKind; detail: RegExp; debug: string; release: string }[] = [
    { mode: "index", kind: "abort", detail: /^Index out of range at ~lib\/array\.ts:\d+:\d+$/, debug: "assembly/index.ts:34", release: "assembly/index.ts:34" },
    { mode: "unreachable", kind: "unreachable", detail: /^unreachable$/, debug: "assembly/index.ts:36", release: "assembly/index.ts:36" },
    { mode: "memory", kind: "outOfBounds", detail: /memory access out of bounds/, debug: "assembly/index.ts:37", release: "assembly/index.ts:37" },
    // The innermost recursion traps at its entry: the debug build names the function's first line.
    { mode: "stack", kind: "stackOverflow", detail: /Maximum call stack size exceeded/, debug: "assembly/index.ts:13", release: "assembly/index.ts:14" },
    { mode: "divide", kind: "divideByZero", detail: /divide by zero/, debug: "assembly/index.ts:24", release: "assembly/index.ts:24" },
    { mode: "loop", kind: "runaway", detail: /ran past its budget of 1000000 steps/, debug: "assembly/index.ts:19", release: "assembly/index.ts:19" },
  ];
  for (const build of ["debug", "release"] as const) {
    for (const c of cases) {
      test(`${c.mode} (${build} build): ${c.kind} at ${c[build]}`, async () => {
        const failure = await trapWith(c.mode, build);
        assert.equal(failure.kind, c.kind);
        assert.match(failure.detail, c.detail);
        assert.equal(failure.callback, "proxy_on_request_headers");
        assert.equal(at(failure), c[build], failure.report);
        // The report leads with the user's frame, then the library's.
        const lines = failure.report.split("\n");
        assert.ok(lines[1]!.startsWith(`    at ${c[build]}:`), failure.report);
        const firstLibrary = failure.frames.findIndex((f) => !f.user);
        if (firstLibrary >= 0) assert.ok(failure.frames.slice(firstLibrary).every((f) => !f.user), "~lib frames come after the user's");
      });
    }
  }

  test("the debug build names the exact function of each frame", async () => {
    const divide = await trapWith("divide", "debug");
    assert.deepEqual(divide.frames.filter((f) => f.user).map((f) => `${f.file}:${f.line} ${f.function}`), ["assembly/index.ts:24 divide", "assembly/index.ts:39 Traps#onRequestHeaders"]);
    const loop = await trapWith("loop", "debug");
    assert.equal(loop.userFrame?.function, "spin", "a runaway names the frame it was looping in");
  });

  test("a release build keeps its function names in the map: frames are named without a name section in the module", async () => {
    const bytes = new Uint8Array(readFileSync(fixture("release")));
    assert.equal(readFunctionNames(bytes).size, 0, "the release module has no name section");
    assert.equal(sourceMappingUrl(bytes), "./release.wasm.map");
    const map = JSON.parse(readFileSync(`${fixture("release")}.map`, "utf8"));
    assert.ok(Object.values(map[FUNCTION_NAMES_FIELD]).includes("assembly/index/Traps#onRequestHeaders"));
    const failure = await trapWith("unreachable", "release", { stepBudget: false });
    assert.equal(failure.userFrame?.function, "Traps#onRequestHeaders");
  });

  test("without a map, a module's name section still names the frames (another SDK's build)", async () => {
    const wat = `(module
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func $check_token (param i32) (result i32) (if (i32.eqz (local.get 0)) (then unreachable)) (i32.const 0))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (call $check_token (i32.const 0))))`;
    const module = wabt.parseWat("named.wat", wat);
    const bytes = new Uint8Array(module.toBinary({ write_debug_names: true }).buffer);
    module.destroy();
    for (const stepBudget of [undefined, false] as const) {
      const host = await Host.load(bytes, { stepBudget });
      assert.ok(host.start().ok);
      const failure = host.expectTrap(() => host.newHttpStream().sendRequestHeaders(REQUEST, true));
      assert.deepEqual(failure.frames.map((f) => f.function).slice(0, 2), ["check_token", "proxy_on_request_headers"], failure.report);
      assert.equal(failure.frames[0]!.file, undefined);
    }
  });

  test("sourceMap: false reports frames without positions; a map given as an object is used", async () => {
    const bare = await trapWith("unreachable", "debug", { sourceMap: false });
    assert.equal(bare.userFrame?.file, undefined);
    const bytes = readFileSync(fixture("debug"));
    const map = JSON.parse(readFileSync(`${fixture("debug")}.map`, "utf8"));
    const host = await Host.load(bytes, { sourceMap: map, stepBudget: false });
    host.start();
    const failure = host.expectTrap(() => host.newHttpStream().sendRequestHeaders([...REQUEST, ["x-fail", "unreachable"]], true));
    assert.equal(at(failure), "assembly/index.ts:36");
  });

  test("shortName keeps the name as the code spells it", () => {
    assert.equal(shortName("assembly/index/Gate#onRequestHeaders"), "Gate#onRequestHeaders");
    assert.equal(shortName("~lib/array/Array<~lib/string/String>#__get"), "Array<String>#__get");
    assert.equal(shortName("proxy_wasm::dispatcher::Dispatcher::on_http_request_headers"), "proxy_wasm::dispatcher::Dispatcher::on_http_request_headers");
  });
});

describe("never silent: a trap fails the test that caused it", () => {
  test("the test API call throws a PluginTrapError after Envoy's behaviour was applied", async () => {
    const host = await Host.load(fixture("release"));
    assert.ok(host.start().ok);
    const stream = host.newHttpStream();
    let thrown: unknown;
    try {
      stream.sendRequestHeaders([...REQUEST, ["x-fail", "divide"]], true);
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof PluginTrapError, "a test that checked only headers would have passed otherwise");
    assert.equal(thrown.kind, "divideByZero");
    assert.equal(thrown.failure, host.failure);
    assert.equal(thrown.message, host.failure!.report);
    // The state is Envoy's: the stream got the 503, the VM is failed, the log says why.
    assert.equal(stream.localResponse?.status, 503);
    assert.equal(host.state, "failed");
    assert.equal(host.logsAt(LogLevel.Error).at(-1), `Function: proxy_on_request_headers failed: Uncaught RuntimeError: divide by zero\n${host.failure!.report}`);
    // Later streams are Envoy's failed-VM streams, which are not new traps: no more throws.
    const later = host.newHttpStream();
    later.sendRequestHeaders(REQUEST, true);
    assert.equal(later.localResponse?.status, 503);
  });

  test("throwOnTrap: false records the failure without throwing", async () => {
    const host = await Host.load(fixture("release"), { throwOnTrap: false });
    host.start();
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders([...REQUEST, ["x-fail", "memory"]], true), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(host.failure?.kind, "outOfBounds");
  });

  test("expectTrap returns the report, and fails when nothing trapped", async () => {
    const host = await Host.load(fixture("release"));
    host.start();
    assert.throws(() => host.expectTrap(() => host.newHttpStream().sendRequestHeaders(REQUEST, true)), /expectTrap: the plugin did not trap/);
    const failure = host.expectTrap(() => host.newHttpStream().sendRequestHeaders([...REQUEST, ["x-fail", "unreachable"]], true));
    assert.equal(failure.kind, "unreachable");
    assert.throws(() => host.expectTrap(() => { throw new TypeError("not a trap"); }), TypeError, "other errors pass through");
  });

  test("a trap while starting throws from start(); with throwOnTrap: false start() returns the report", async () => {
    const wat = `(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func $configure_plugin (export "proxy_on_configure") (param i32 i32) (result i32) unreachable))`;
    const module = wabt.parseWat("start.wat", wat);
    const bytes = new Uint8Array(module.toBinary({ write_debug_names: true }).buffer);
    module.destroy();
    const thrown = await Host.load(bytes);
    assert.throws(() => thrown.start(), (error: unknown) => error instanceof PluginTrapError && error.failure.callback === "proxy_on_configure");
    const recorded = await Host.load(bytes, { throwOnTrap: false });
    const result = recorded.start();
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, "vmFailed");
    assert.equal(!result.ok && result.failure?.frames[0]?.function, "configure_plugin");
    assert.match(!result.ok ? result.message : "", /^unreachable executed in proxy_on_configure: unreachable\n {4}at configure_plugin/);
  });
});

describe("never hangs: a plugin call past the step budget ends as a runaway trap", () => {
  const looping = () => {
    const module = wabt.parseWat("loop.wat", `(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func $wait_forever (loop $again (br $again)))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (call $wait_forever) (i32.const 0)))`);
    const bytes = new Uint8Array(module.toBinary({ write_debug_names: true }).buffer);
    module.destroy();
    return bytes;
  };

  test("the default budget ends a `loop br 0` (it hung the test run before)", async () => {
    const host = await Host.load(looping());
    host.start();
    const stream = host.newHttpStream();
    const failure = host.expectTrap(() => stream.sendRequestHeaders(REQUEST, true));
    assert.equal(failure.kind, "runaway");
    assert.match(failure.detail, /ran past its budget of 100000000 steps/);
    assert.equal(failure.frames[0]?.function, "wait_forever");
    assert.equal(stream.localResponse?.status, 503, "Envoy's failed-VM reply, as for any trap");
  });

  test("the budget is per call: work spread over calls is not a runaway; stepBudget: false runs uninstrumented", async () => {
    const host = await Host.load(fixture("release"), { stepBudget: 50_000 });
    host.start();
    for (let i = 0; i < 200; i++) {
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(REQUEST, true);
      stream.sendResponseHeaders({ ":status": "200" }, true);
    }
    assert.equal(host.failure, undefined);
    assert.equal(host.vm.instrumented, true);
    const plain = await Host.load(fixture("release"), { stepBudget: false });
    assert.equal(plain.vm.instrumented, false);
    await assert.rejects(Host.load(fixture("release"), { stepBudget: 0 }), /stepBudget must be a positive integer \(at most 2147483647\) or false, got 0/);
    await assert.rejects(Host.load(fixture("release"), { stepBudget: 2 ** 31 }), /at most 2147483647/);
  });
});

describe("instant hosts: compiled modules are cached by content", () => {
  test("the same bytes compile once; each host still gets its own instance and memory", async () => {
    const bytes = new Uint8Array(readFileSync(fixture("release")));
    const first = compilePlugin(bytes, { instrument: false });
    assert.equal(compilePlugin(new Uint8Array(bytes), { instrument: false }), first, "same content, same compiled module");
    assert.notEqual(compilePlugin(bytes, { instrument: true }), first, "the instrumented copy is another entry");
    const a = await Host.load(bytes, { stepBudget: false, throwOnTrap: false });
    const b = await Host.load(bytes, { stepBudget: false });
    a.start();
    b.start();
    a.newHttpStream().sendRequestHeaders([...REQUEST, ["x-fail", "unreachable"]], true);
    assert.equal(a.state, "failed");
    assert.equal(b.state, "running", "a failure in one host does not reach another");
    const stream = b.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    assert.equal(stream.request.headersForwarded, true);
  });

  test("a buffer changed in place after a load is its new content, not the cached module", async () => {
    const bytes = new Uint8Array(readFileSync(fixture("release")));
    const before = compilePlugin(bytes, { instrument: false });
    assert.equal(compilePlugin(bytes, { instrument: false }), before, "the same buffer, unchanged: the cached entry");
    // The last byte is in the sourceMappingURL section: the module stays valid, its content differs.
    bytes[bytes.length - 1] ^= 1;
    const after = compilePlugin(bytes, { instrument: false });
    assert.notEqual(after, before);
    await after;
  });

  test("a finished compile is found at once, checked against the bytes, and dropped by clearCompiledModuleCache", async () => {
    const bytes = new Uint8Array(readFileSync(fixture("release")));
    const compiled = await compilePlugin(bytes, { instrument: false });
    assert.equal(compiledPluginNow(bytes, { instrument: false }), compiled, "settled: no promise to wait for");
    assert.equal(compiledPluginNow(bytes, { instrument: false, maxMemoryPages: 17 }), undefined, "a variant not compiled yet is not");
    const host = await Host.load(bytes, { stepBudget: false });
    assert.equal(host.start().ok, true);
    bytes[bytes.length - 1] ^= 0x40; // in the sourceMappingURL section: still valid, content no other test made
    assert.equal(compiledPluginNow(bytes, { instrument: false }), undefined, "changed bytes are not the settled entry");
    const changed = await Host.load(bytes, { stepBudget: false });
    assert.equal(changed.start().ok, true);
    const recompiled = compiledPluginNow(bytes, { instrument: false });
    assert.ok(recompiled !== undefined && recompiled !== compiled, "the new content compiled on its own, and is found at once next time");
    clearCompiledModuleCache(bytes);
    assert.equal(compiledPluginNow(bytes, { instrument: false }), undefined, "cleared");
  });
});
