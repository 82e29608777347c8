// Loading, start sequence, restricted phases, effective context, logs and shutdown of the
// mock host (ABI.md §1.2, §2, §4.1, §5.1, §5.13, §8.1, §8.5).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Host, INITIALIZATION_FAILED, INSTANTIATION_FAILED, LogLevel, ModuleLoadError, WasmResult } from "../runtime-mock/index.js";
import {
  buildPlugin,
  compileWat,
  events,
  eventNames,
  OUT_A,
  OUT_PTR,
  OUT_SIZE,
  outText,
  rec,
  recordingCallbacks,
  saveOut,
  savedText,
  slotValue,
  startPlugin,
  readU32,
} from "./support/plugin.js";

async function rejectsWith(promise: Promise<unknown>, message: string): Promise<ModuleLoadError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ModuleLoadError, `expected ModuleLoadError, got ${String(e)}`);
    assert.equal(e.message, message);
    return e;
  }
  assert.fail("expected the load to fail");
}

describe("loading and linking (ABI.md §1.2)", () => {
  test("an AssemblyScript default import (env.abort) fails to link with Envoy's message", async () => {
    const bytes = compileWat(`(module
      (import "env" "abort" (func (param i32 i32 i32 i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 0)))`);
    const error = await rejectsWith(Host.load(bytes), "Failed to load Wasm module due to a missing import: env.abort");
    assert.match(error.hint ?? "", /AssemblyScript/);
  });

  test("a 0.2.0 module importing proxy_get_log_level does not link", async () => {
    const bytes = compileWat(`(module
      (import "env" "proxy_get_log_level" (func (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_0"))
      (func (export "malloc") (param i32) (result i32) (i32.const 0)))`);
    await rejectsWith(Host.load(bytes), "Failed to load Wasm module due to a missing import: env.proxy_get_log_level");
  });

  test("a module with every host function of its version links and loads, for each version", async () => {
    for (const version of ["0.1.0", "0.2.0", "0.2.1"] as const) {
      const host = await Host.load(buildPlugin(() => ({ version, body: "" })));
      assert.equal(host.abiVersion, version);
      assert.equal(host.state, "loaded");
      assert.equal(host.memoryBytes, 2 * 65536);
    }
  });

  test("loads from a file path, a file URL and an ArrayBuffer", async () => {
    const { writeFile, mkdtemp } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { pathToFileURL } = await import("node:url");
    const bytes = buildPlugin(() => ({ body: "" }));
    const file = join(await mkdtemp(join(tmpdir(), "pwas-")), "plugin.wasm");
    await writeFile(file, bytes);
    for (const source of [file, pathToFileURL(file), bytes.buffer.slice(0) as ArrayBuffer]) {
      assert.equal((await Host.load(source)).abiVersion, "0.2.1");
    }
  });

  test("a wasm start function calling a host function fails instantiation (no context exists)", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `(func $init (drop (call $proxy_log (i32.const 2) ${kit.str("too early")}))) (start $init)`,
    }));
    const error = await rejectsWith(Host.load(bytes), INSTANTIATION_FAILED);
    assert.match(error.hint ?? "", /env\.proxy_log/);
    assert.match(error.hint ?? "", /_initialize/);
  });
});

describe("initialization phase (ABI.md §4.1, §10 #18)", () => {
  test("_initialize then main(0, 0) run on the VM context; proxy_log is allowed there", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `
        (func (export "_initialize") (drop (call $proxy_log (i32.const 2) ${kit.str("init")})))
        (func (export "main") (param i32 i32) (result i32)
          ${rec(0, "(i32.add (i32.const 100) (i32.add (local.get 0) (local.get 1)))")}
          (i32.const 7))
        (func (export "_start") ${rec(1, "(i32.const 1)")})`,
    }));
    const host = await Host.load(bytes, { rootId: "root", vmId: "vm" });
    assert.equal(slotValue(host, 0), 100, "main called with (0, 0)");
    assert.equal(slotValue(host, 1), 0, "_start not called when _initialize exists");
    assert.deepEqual(host.logs.map((l) => [l.contextId, l.formatted]), [[0, "wasm log: init"]]);
  });

  test("__main_void runs when there is _initialize but no main; _start runs alone", async () => {
    const reactor = await Host.load(buildPlugin(() => ({ body: `(func (export "_initialize")) (func (export "__main_void") (result i32) ${rec(0, "(i32.const 5)")} (i32.const 0))` })));
    assert.equal(slotValue(reactor, 0), 5);
    const command = await Host.load(buildPlugin(() => ({ body: `(func (export "_start") ${rec(0, "(i32.const 9)")})` })));
    assert.equal(slotValue(command, 0), 9);
  });

  test("any other host call from _initialize traps with restricted_callback and fails the load", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `(func (export "_initialize") (drop (call $proxy_define_metric (i32.const 0) ${kit.str("m")} (i32.const ${OUT_PTR}))))`,
    }));
    const error = await rejectsWith(Host.load(bytes), INITIALIZATION_FAILED);
    assert.match(error.hint ?? "", /restricted_callback/);
    assert.match(error.hint ?? "", /env\.proxy_define_metric/);
  });

  test("WASI (fd_write) is allowed while initializing and logs at Info through stdout", async () => {
    const bytes = buildPlugin((kit) => ({
      wasi: ["fd_write"],
      body: `(func (export "_initialize")
        (i32.store (i32.const 512) (i32.const ${kit.at("hi\n")})) (i32.store (i32.const 516) (i32.const 3))
        ${rec(0, `(call $wasi_fd_write (i32.const 1) (i32.const 512) (i32.const 1) (i32.const ${OUT_SIZE}))`)})`,
    }));
    const host = await Host.load(bytes);
    assert.equal(slotValue(host, 0), 0);
    assert.equal(readU32(host, OUT_SIZE), 3);
    assert.deepEqual(host.logsAt(LogLevel.Info), ["hi"]);
  });

  test("a trap in _initialize fails the load with the trap in the hint", async () => {
    const error = await rejectsWith(Host.load(buildPlugin(() => ({ body: `(func (export "_initialize") (unreachable))` }))), INITIALIZATION_FAILED);
    assert.match(error.hint ?? "", /Function: _initialize failed: Uncaught RuntimeError: unreachable/);
  });
});

describe("start sequence (ABI.md §8.1)", () => {
  test("on_context_create(1, 0), on_vm_start(1, len vm config), on_configure(1, len plugin config); streams get 2, 3…", async () => {
    const host = await Host.load(buildPlugin(() => ({ body: recordingCallbacks() })), { vmConfig: "vm-conf", pluginConfig: { a: 1 } });
    assert.deepEqual(host.start(), { ok: true });
    assert.equal(host.state, "running");
    assert.equal(host.rootContextId, 1);
    assert.deepEqual(events(host), [
      { name: "contextCreate", ctx: 1, a: 0, b: 0 },
      { name: "vmStart", ctx: 1, a: 7, b: 0 },
      { name: "configure", ctx: 1, a: '{"a":1}'.length, b: 0 },
    ]);
    const first = host.newHttpStream();
    const second = host.newHttpStream();
    assert.deepEqual([first.contextId, second.contextId], [2, 3]);
    first.sendRequestHeaders({ ":path": "/" }, true);
    assert.deepEqual(events(host).slice(3, 5), [
      { name: "contextCreate", ctx: 2, a: 1, b: 0 },
      { name: "requestHeaders", ctx: 2, a: 1, b: 1 },
    ]);
  });

  test("on_vm_start answering 0: start failed, on_configure never called, no streams", async () => {
    const host = await Host.load(buildPlugin(() => ({ body: recordingCallbacks({ vmStart: { result: 0 } }) })));
    const result = host.start();
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, "vmStartFailed");
    assert.equal(host.state, "startFailed");
    assert.deepEqual(eventNames(host), ["contextCreate", "vmStart"]);
    assert.throws(() => host.newHttpStream(), /did not start/);
  });

  test("on_configure answering 0: configuration rejected", async () => {
    const host = await Host.load(buildPlugin(() => ({ body: recordingCallbacks({ configure: { result: 0 } }) })));
    const result = host.start();
    assert.equal(!result.ok && result.reason, "configureFailed");
    assert.equal(host.state, "configureFailed");
  });

  test("a trap in on_configure fails the VM; the failure is recorded and logged at error level", async () => {
    const host = await Host.load(buildPlugin(() => ({ body: recordingCallbacks({ configure: { code: "(unreachable)" } }) })), { throwOnTrap: false });
    const result = host.start();
    assert.equal(!result.ok && result.reason, "vmFailed");
    assert.equal(host.state, "failed");
    assert.equal(host.failure?.phase, "proxy_on_configure");
    assert.equal(host.failure?.kind, "unreachable");
    assert.equal(host.failure?.message, "Function: proxy_on_configure failed: Uncaught RuntimeError: unreachable");
    assert.deepEqual(host.logsAt(LogLevel.Error), [`${host.failure!.message}\n${host.failure!.report}`]);
  });

  test("missing start callbacks count as success", async () => {
    const host = await Host.load(buildPlugin(() => ({ body: "" })));
    assert.deepEqual(host.start(), { ok: true });
  });

  test("plugin configuration (buffer 7) is readable only in root on_context_create and on_configure; VM configuration always", async () => {
    const read7 = (i: number) => `${rec(i, `(call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (i32.const -1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(10 + 2 * i)}`;
    const read6 = (i: number) => rec(i, `(call $proxy_get_buffer_status (i32.const 6) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`);
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        contextCreate: { code: `(if (i32.eqz (local.get $parent)) (then ${read7(0)}) (else ${read7(3)} ${read6(7)}))` },
        vmStart: { code: `${read7(1)} ${read6(6)}` },
        configure: { code: read7(2) },
        requestHeaders: { code: read7(4) },
      }),
    }));
    const host = await startPlugin(bytes, { pluginConfig: "plugin-conf", vmConfig: "vm" });
    host.newHttpStream().sendRequestHeaders({ ":path": "/" }, true);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => slotValue(host, i)), [WasmResult.Ok, WasmResult.NotFound, WasmResult.Ok, WasmResult.NotFound, WasmResult.NotFound]);
    assert.equal(savedText(host, 10), "plugin-conf");
    assert.equal(savedText(host, 14), "plugin-conf");
    assert.deepEqual([slotValue(host, 6), slotValue(host, 7)], [WasmResult.Ok, WasmResult.Ok]);
  });

  test("0.1.0 proxy_get_configuration: plugin config in on_configure, VM config elsewhere", async () => {
    const bytes = buildPlugin(() => ({
      version: "0.1.0",
      body: recordingCallbacks(
        {
          vmStart: { code: `(drop (call $proxy_get_configuration (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))) ${saveOut(0)}` },
          configure: { code: `(drop (call $proxy_get_configuration (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))) ${saveOut(2)}` },
        },
        "0.1.0",
      ),
    }));
    const host = await startPlugin(bytes, { pluginConfig: "P", vmConfig: "V" });
    assert.equal(savedText(host, 0), "V");
    assert.equal(savedText(host, 2), "P");
  });
});

describe("allocator (ABI.md §2)", () => {
  test("malloc wins over proxy_on_memory_allocate", async () => {
    // proxy_on_memory_allocate traps if ever called
    const bytes = buildPlugin((kit) => ({
      allocator: "both",
      body: recordingCallbacks({ vmStart: { code: `${rec(0, `(call $proxy_get_buffer_bytes (i32.const 6) (i32.const 0) (i32.const -1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}` } }),
    }));
    const host = await startPlugin(bytes, { vmConfig: "abc" });
    assert.equal(slotValue(host, 0), WasmResult.Ok);
    assert.equal(outText(host), "abc");
  });

  test("a restricted call inside the allocator traps there: the VM fails, the host call answers INVALID_MEMORY_ACCESS", async () => {
    const bytes = compileWat(`(module
      (import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32)
        (drop (call $define (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 64))) (i32.const 1024))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (i32.store (i32.const 128) (call $get (i32.const 6) (i32.const 0) (i32.const -1) (i32.const 256) (i32.const 260)))
        (i32.const 1)))`);
    const host = await Host.load(bytes, { vmConfig: "x", throwOnTrap: false });
    const result = host.start();
    assert.equal(readU32(host, 128), WasmResult.InvalidMemoryAccess);
    assert.equal(!result.ok && result.reason, "vmFailed");
    assert.equal(host.failure?.phase, "malloc");
    assert.match(host.failure!.message, /restricted_callback/);
  });
});

describe("effective context (ABI.md §5.13)", () => {
  test("999 → BAD_ARGUMENT, 0 → OK, a live stream id → host calls act on that stream", async () => {
    // The stream stores its id at slot 5 and pauses; the root's tick switches to it, reads
    // :path and resumes the request.
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: { code: `(drop (call $proxy_set_tick_period_milliseconds (i32.const 1000)))` },
        requestHeaders: { code: rec(5, "(local.get $ctx)"), result: 1 },
        tick: {
          code: `${rec(0, "(call $proxy_set_effective_context (i32.const 999))")}
            ${rec(1, "(call $proxy_set_effective_context (i32.const 0))")}
            ${rec(2, "(call $proxy_set_effective_context (i32.load (i32.const 1044)))")}
            ${rec(3, `(call $proxy_get_header_map_value (i32.const 0) ${kit.str(":path")} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
            ${rec(4, "(call $proxy_continue_stream (i32.const 0))")}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.equal(host.tickPeriodMs, 1000);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/here", ":method": "GET" }, true);
    assert.equal(stream.request.paused, true);
    assert.equal(stream.request.headersForwarded, false);
    assert.equal(host.tick(), true);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => slotValue(host, i)), [WasmResult.BadArgument, WasmResult.Ok, WasmResult.Ok, WasmResult.Ok, WasmResult.Ok]);
    assert.equal(outText(host), "/here");
    assert.equal(stream.request.headersForwarded, true);
    assert.equal(stream.request.endStreamForwarded, true);
    assert.equal(stream.request.paused, false);
  });

  test("ticks only fire once a period is set", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks() })));
    assert.equal(host.tick(), false);
    assert.ok(!eventNames(host).includes("tick"));
  });
});

describe("logging (ABI.md §5.1)", () => {
  const logAll = (kit: { str(s: string): string }) =>
    [0, 1, 2, 3, 4, 5].map((level) => `(drop (call $proxy_log (i32.const ${level}) ${kit.str(`level ${level}`)}))`).join(" ");

  test("messages below the level are dropped (and counted); proxy_get_log_level answers the level", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: { code: `${logAll(kit)} ${rec(0, `(call $proxy_get_log_level (i32.const ${OUT_A}))`)} ${rec(1, `(i32.load (i32.const ${OUT_A}))`)}` },
        tick: { code: `${rec(2, `(call $proxy_get_log_level (i32.const ${OUT_A}))`)} ${rec(3, `(i32.load (i32.const ${OUT_A}))`)}` },
        configure: { code: "(drop (call $proxy_set_tick_period_milliseconds (i32.const 1)))" },
      }),
    }));
    const host = await startPlugin(bytes, { logLevel: LogLevel.Warn });
    assert.deepEqual(host.logs.map((l) => l.message), ["level 3", "level 4", "level 5"]);
    assert.deepEqual(host.logsAt(LogLevel.Error), ["level 4"]);
    assert.equal(host.droppedLogCount, 3);
    assert.deepEqual([slotValue(host, 0), slotValue(host, 1)], [WasmResult.Ok, LogLevel.Warn]);
    host.setLogLevel(LogLevel.Off);
    host.tick();
    assert.equal(slotValue(host, 3), LogLevel.Off);
  });

  test("level > 5 is BAD_ARGUMENT before the memory check; a bad message pointer is INVALID_MEMORY_ACCESS", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        vmStart: {
          code: `${rec(0, "(call $proxy_log (i32.const 6) (i32.const -16) (i32.const 100))")}
            ${rec(1, "(call $proxy_log (i32.const 5) (i32.const -16) (i32.const 100))")}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.deepEqual([slotValue(host, 0), slotValue(host, 1)], [WasmResult.BadArgument, WasmResult.InvalidMemoryAccess]);
    assert.equal(host.logs.length, 0);
  });

  test("Envoy's prefixes: streams 'wasm log <plugin> <root> <vm>:', roots without the plugin name, empty parts left out", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: { code: `(drop (call $proxy_log (i32.const 2) ${kit.str("root")}))` },
        requestHeaders: { code: `(drop (call $proxy_log (i32.const 2) ${kit.str("stream")}))` },
      }),
    }));
    const named = await startPlugin(bytes, { pluginName: "p", rootId: "r", vmId: "v" });
    named.newHttpStream().sendRequestHeaders({}, true);
    assert.deepEqual(named.logs.map((l) => l.formatted), ["wasm log r v: root", "wasm log p r v: stream"]);
    assert.deepEqual(named.logs.map((l) => l.contextId), [1, 2]);
    const anonymous = await startPlugin(bytes);
    anonymous.newHttpStream().sendRequestHeaders({}, true);
    assert.deepEqual(anonymous.logs.map((l) => l.formatted), ["wasm log: root", "wasm log: stream"]);
    const rootOnly = await startPlugin(bytes, { rootId: "r" }); // plugin name defaults to the root id
    rootOnly.newHttpStream().sendRequestHeaders({}, true);
    assert.deepEqual(rootOnly.logs.map((l) => l.formatted), ["wasm log r: root", "wasm log r r: stream"]);
  });

  test("onLog sees every recorded entry; clearLogs empties the record", async () => {
    const seen: string[] = [];
    const bytes = buildPlugin((kit) => ({ body: recordingCallbacks({ vmStart: { code: `(drop (call $proxy_log (i32.const 3) ${kit.str("w")}))` } }) }));
    const host = await startPlugin(bytes, { onLog: (e) => seen.push(e.formatted) });
    assert.deepEqual(seen, ["wasm log: w"]);
    host.clearLogs();
    assert.equal(host.logs.length, 0);
  });
});

describe("shutdown (ABI.md §8.5)", () => {
  test("on_done answering true deletes the root at once; live streams end first", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks() })));
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({}, false);
    host.shutdown();
    assert.equal(stream.completed, true);
    assert.deepEqual(events(host).slice(-5).map((e) => [e.name, e.ctx]), [["log", 2], ["done", 2], ["delete", 2], ["done", 1], ["delete", 1]]);
    assert.equal(host.state, "shutdown");
    assert.throws(() => host.newHttpStream(), /shut down/);
  });

  test("on_done answering false parks the root until proxy_done; on_delete runs after that call returns", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        vmStart: { code: `${rec(0, "(call $proxy_done)")} (drop (call $proxy_set_tick_period_milliseconds (i32.const 5)))` },
        done: { result: 0 },
        tick: { code: `${rec(1, "(call $proxy_done)")} ${rec(2, "(i32.load (i32.const 20))")}` },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.equal(slotValue(host, 0), WasmResult.NotFound, "not awaiting completion yet");
    host.shutdown();
    assert.equal(host.awaitingDone, true);
    assert.ok(!eventNames(host).includes("delete"));
    host.tick();
    assert.equal(slotValue(host, 1), WasmResult.Ok);
    const names = eventNames(host);
    assert.deepEqual(names.slice(-2), ["tick", "delete"]);
    assert.equal(slotValue(host, 2), names.length - 1, "on_delete came after the tick returned");
    assert.equal(host.awaitingDone, false);
  });
});

describe("embedding (imports built before the instance exists)", () => {
  test("PluginVm.importObject → instantiate elsewhere → bind → Host.fromVm", async () => {
    const { PluginVm, resolveSettings } = await import("../runtime-mock/index.js");
    const bytes = buildPlugin((kit) => ({ body: recordingCallbacks({ vmStart: { code: `(drop (call $proxy_log (i32.const 2) ${kit.str("embedded")}))` } }) }));
    const vm = new PluginVm(resolveSettings({ rootId: "r" }));
    const { instance } = await WebAssembly.instantiate(bytes, vm.importObject());
    vm.bind(instance);
    assert.equal(vm.abiVersion, "0.2.1", "detected from the exports");
    const host = Host.fromVm(vm);
    assert.deepEqual(host.start(), { ok: true });
    assert.deepEqual(host.logs.map((l) => l.formatted), ["wasm log r: embedded"]);
  });

  test("the import object offers every host function cpp-host registers, for each version", async () => {
    const { PluginVm, resolveSettings } = await import("../runtime-mock/index.js");
    const { hostFunctionTypes } = await import("../runtime-mock/wasm/signatures.js");
    for (const version of ["0.1.0", "0.2.0", "0.2.1"] as const) {
      const imports = new PluginVm(resolveSettings(), version).importObject();
      for (const key of hostFunctionTypes(version).keys()) {
        const [module, name] = key.split(".") as [string, string];
        assert.equal(typeof imports[module]?.[name], "function", `${version} ${key}`);
      }
      assert.equal("proxy_get_log_level" in imports.env!, version === "0.2.1");
      assert.equal("proxy_continue_request" in imports.env!, version === "0.1.0");
    }
  });

  test("a compiled WebAssembly.Module is accepted (ABI from the export order)", async () => {
    const module = new WebAssembly.Module(buildPlugin(() => ({ version: "0.2.0", body: "" })));
    const host = await Host.load(module);
    assert.equal(host.abiVersion, "0.2.0");
  });
});

describe("imported memory", () => {
  test("a module importing its memory gets one of the declared size, and host calls use it", async () => {
    const { compileWat: wat } = await import("./support/plugin.js");
    const bytes = wat(`(module
      (import "env" "memory" (memory 2 10))
      (import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))
      (global $heap (mut i32) (i32.const 4096))
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (global.get $heap))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (i32.store (i32.const 128) (call $get (i32.const 6) (i32.const 0) (i32.const -1) (i32.const 256) (i32.const 260)))
        (i32.const 1)))`);
    const host = await startPlugin(bytes, { vmConfig: "imported" });
    assert.equal(host.memoryBytes, 2 * 65536);
    assert.equal(readU32(host, 128), WasmResult.Ok);
    assert.equal(outText(host), "imported");
  });
});
