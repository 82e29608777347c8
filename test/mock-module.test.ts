// Module inspection, ABI detection and link checks of the mock host (ABI.md §1, §4.1).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import wabtInit from "wabt";
import {
  BAD_BYTECODE,
  CORRUPTED_MODULE,
  formatFuncType,
  inspectModule,
  ModuleLoadError,
  UNKNOWN_ABI,
  type FuncType,
} from "../runtime-mock/wasm/module.js";
import {
  checkExports,
  checkImports,
  hostFunctionTypes,
  pluginExportTypes,
  WASI_MODULES,
} from "../runtime-mock/wasm/signatures.js";
import type { AbiVersion } from "../runtime-mock/wasm/types.js";

const wabt = await wabtInit();
// Copied into a fresh ArrayBuffer-backed array, which is what the WebAssembly API types accept.
const wat = (src: string) => new Uint8Array(wabt.parseWat("test.wat", src).toBinary({}).buffer);

const MARKER: Record<AbiVersion, string> = {
  "0.1.0": "proxy_abi_version_0_1_0",
  "0.2.0": "proxy_abi_version_0_2_0",
  "0.2.1": "proxy_abi_version_0_2_1",
};

/** A minimal well-formed plugin: marker, memory, malloc, plus extra module fields. */
function plugin(version: AbiVersion, fields = ""): Uint8Array {
  return wat(`(module
    ${fields}
    (memory (export "memory") 1)
    (func (export "${MARKER[version]}"))
    (func (export "malloc") (param i32) (result i32) i32.const 0))`);
}

/** Asserts that `fn` throws a ModuleLoadError with exactly `message`; returns its hint. */
function rejects(fn: () => unknown, message: string): string {
  let hint = "";
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ModuleLoadError, `expected ModuleLoadError, got ${String(e)}`);
    assert.equal(e.message, message);
    hint = e.hint ?? "";
    return true;
  });
  return hint;
}

describe("ABI detection (ABI.md §1.1)", () => {
  for (const version of ["0.1.0", "0.2.0", "0.2.1"] as const) {
    test(`detects ${version}`, () => {
      assert.equal(inspectModule(plugin(version)).abiVersion, version);
    });
  }

  test("the first function marker wins", () => {
    const bytes = wat(`(module (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_0")) (func (export "proxy_abi_version_0_1_0")))`);
    assert.equal(inspectModule(bytes).abiVersion, "0.2.0");
  });

  test("a global named like a marker is ignored", () => {
    const bytes = wat(`(module
      (global (export "proxy_abi_version_0_2_1") i32 (i32.const 0))
      (func (export "proxy_abi_version_0_1_0")))`);
    assert.equal(inspectModule(bytes).abiVersion, "0.1.0");
  });

  test("a memory named like the only marker means no marker", () => {
    const hint = rejects(() => inspectModule(wat(`(module (memory (export "proxy_abi_version_0_2_1") 1))`)), UNKNOWN_ABI);
    assert.match(hint, /exports no proxy_abi_version_\* function/);
  });

  test("no marker is rejected, with a hint to re-export the SDK's ABI", () => {
    const hint = rejects(() => inspectModule(wat(`(module (func (export "malloc") (param i32) (result i32) i32.const 0))`)), UNKNOWN_ABI);
    assert.match(hint, /export \* from "proxy-wasm-as\/assembly\/exports"/);
    assert.match(hint, /proxy_abi_version_0_2_1/);
  });

  for (const name of ["proxy_abi_version_0_3_0", "proxy_abi_version_0_x_x"]) {
    test(`${name} is not recognised`, () => {
      const hint = rejects(() => inspectModule(wat(`(module (func (export "${name}")))`)), UNKNOWN_ABI);
      assert.match(hint, new RegExp(`exports ${name}, which Envoy does not recognise`));
    });
  }

  test("a module without any export section has no marker", () => {
    rejects(() => inspectModule(wat(`(module (memory 1))`)), UNKNOWN_ABI);
  });
});

describe("malformed modules", () => {
  const valid = plugin("0.2.1");

  test("truncated in the middle of a section is corrupted", () => {
    rejects(() => inspectModule(valid.subarray(0, valid.length - 3)), CORRUPTED_MODULE);
  });

  test("a bad magic number is corrupted", () => {
    const bytes = valid.slice();
    bytes[1] = 0x62;
    const hint = rejects(() => inspectModule(bytes), CORRUPTED_MODULE);
    assert.match(hint, /magic number/);
  });

  test("a section length past the end is corrupted", () => {
    const bytes = valid.slice();
    assert.equal(bytes[8], 1); // type section id
    bytes[9] = 0x7f;
    rejects(() => inspectModule(bytes), CORRUPTED_MODULE);
  });

  test("an over-long LEB128 section length is corrupted", () => {
    const header = valid.subarray(0, 8);
    rejects(() => inspectModule(new Uint8Array([...header, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])), CORRUPTED_MODULE);
  });

  test("an export entry running past its section is corrupted", () => {
    // Export section: 1 entry whose name claims 40 bytes.
    const bytes = new Uint8Array([...valid.subarray(0, 8), 7, 3, 1, 40, 0x61]);
    rejects(() => inspectModule(bytes), CORRUPTED_MODULE);
  });

  test("fewer than 8 bytes: Envoy finds no marker (its header check lets short input through)", () => {
    const hint = rejects(() => inspectModule(new Uint8Array([0, 0x61, 0x73])), UNKNOWN_ABI);
    assert.match(hint, /shorter than a WebAssembly header/);
    rejects(() => inspectModule(new Uint8Array()), UNKNOWN_ABI);
  });

  test("damage after the export section: reported as missing marker first, as corruption once a marker exists", () => {
    const noMarker = wat(`(module (memory (export "memory") 1))`);
    rejects(() => inspectModule(new Uint8Array([...noMarker, 11, 0x40])), UNKNOWN_ABI);
    rejects(() => inspectModule(new Uint8Array([...valid, 11, 0x40])), CORRUPTED_MODULE);
  });

  test("well-framed sections with bad contents fail in the engine: Failed to load Wasm bytecode", () => {
    // A type section (id 1, 2 bytes) holding one entry whose form byte is not 0x60.
    const marker = plugin("0.2.1");
    const bytes = new Uint8Array([...marker.subarray(0, 8), 1, 2, 1, 0x5f, ...marker.subarray(8)]);
    rejects(() => inspectModule(bytes), BAD_BYTECODE);
    const version2 = valid.slice();
    version2[4] = 2;
    rejects(() => inspectModule(version2), BAD_BYTECODE);
  });

  test("property: arbitrary or mutated bytes only ever raise ModuleLoadError", () => {
    const onlyLoadErrors = (bytes: Uint8Array) => {
      try {
        inspectModule(bytes);
      } catch (e) {
        if (!(e instanceof ModuleLoadError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => onlyLoadErrors(new Uint8Array([...valid.subarray(0, 8), ...tail]))));
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const bytes = valid.slice();
        bytes[at] = value;
        onlyLoadErrors(bytes);
      }),
    );
  });
});

describe("module contents", () => {
  test("imports, exports, types, memory and start section", () => {
    const info = inspectModule(wat(`(module
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (import "env" "mem" (memory 1))
      (import "env" "tbl" (table 1 funcref))
      (import "env" "g" (global i64))
      (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
      (func $start)
      (start $start)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0)
      (export "log" (func $log))
      (global (export "counter") (mut i32) (i32.const 0)))`));
    assert.deepEqual(info.imports, [
      { module: "env", name: "proxy_log", kind: "function", type: { params: ["i32", "i32", "i32"], results: ["i32"] } },
      { module: "env", name: "mem", kind: "memory" },
      { module: "env", name: "tbl", kind: "table" },
      { module: "env", name: "g", kind: "global" },
      { module: "wasi_snapshot_preview1", name: "clock_time_get", kind: "function", type: { params: ["i32", "i64", "i32"], results: ["i32"] } },
    ]);
    assert.deepEqual(info.exports, [
      { name: "proxy_abi_version_0_2_1", kind: "function", type: { params: [], results: [] } },
      { name: "proxy_on_request_headers", kind: "function", type: { params: ["i32", "i32", "i32"], results: ["i32"] } },
      // a re-exported import keeps the import's type (imports come first in the index space)
      { name: "log", kind: "function", type: { params: ["i32", "i32", "i32"], results: ["i32"] } },
      { name: "counter", kind: "global" },
    ]);
    assert.equal(info.hasStartSection, true);
    assert.equal(info.importsMemory, true);
    assert.equal(info.exportsMemory, false);
  });

  test("a plain plugin exports its memory and has no start section", () => {
    const info = inspectModule(plugin("0.2.1"));
    assert.equal(info.exportsMemory, true);
    assert.equal(info.importsMemory, false);
    assert.equal(info.hasStartSection, false);
  });

  test("formatFuncType", () => {
    assert.equal(formatFuncType({ params: ["i32", "i32"], results: ["i32"] }), "(i32, i32) -> i32");
    assert.equal(formatFuncType({ params: [], results: [] }), "() -> ()");
    assert.equal(formatFuncType({ params: ["i32", "i64"], results: ["f32", "f64"] }), "(i32, i64) -> (f32, f64)");
  });
});

describe("host function table (ABI.md §1.2, §5.16)", () => {
  const sig = (v: AbiVersion, key: string) => hostFunctionTypes(v).get(key);

  test("version-specific functions", () => {
    for (const name of ["proxy_get_configuration", "proxy_continue_request", "proxy_continue_response", "proxy_clear_route_cache"]) {
      assert.ok(sig("0.1.0", `env.${name}`));
      assert.equal(sig("0.2.0", `env.${name}`), undefined);
      assert.equal(sig("0.2.1", `env.${name}`), undefined);
    }
    for (const name of ["proxy_continue_stream", "proxy_close_stream"]) {
      assert.equal(sig("0.1.0", `env.${name}`), undefined);
      assert.ok(sig("0.2.0", `env.${name}`));
      assert.ok(sig("0.2.1", `env.${name}`));
    }
    assert.equal(sig("0.1.0", "env.proxy_get_log_level"), undefined);
    assert.equal(sig("0.2.0", "env.proxy_get_log_level"), undefined);
    assert.deepEqual(sig("0.2.1", "env.proxy_get_log_level"), { params: ["i32"], results: ["i32"] });
  });

  test("signatures with i64 and without results", () => {
    assert.deepEqual(sig("0.2.1", "env.proxy_increment_metric"), { params: ["i32", "i64"], results: ["i32"] });
    assert.deepEqual(sig("0.2.1", "env.proxy_record_metric"), { params: ["i32", "i64"], results: ["i32"] });
    assert.deepEqual(sig("0.1.0", "env.proxy_continue_request"), { params: [], results: ["i32"] });
    assert.deepEqual(sig("0.2.1", "env.emscripten_notify_memory_growth"), { params: ["i32"], results: [] });
    assert.deepEqual(sig("0.2.1", "env.pthread_equal"), { params: ["i32", "i32"], results: ["i32"] });
    assert.deepEqual(sig("0.2.1", "env.envoy_resolve_dns"), { params: ["i32", "i32", "i32"], results: ["i32"] });
    assert.deepEqual(sig("0.2.1", "wasi_snapshot_preview1.clock_time_get"), { params: ["i32", "i64", "i32"], results: ["i32"] });
    assert.deepEqual(sig("0.2.1", "wasi_unstable.proc_exit"), { params: ["i32"], results: [] });
    assert.deepEqual(sig("0.2.1", "wasi_unstable.path_open"), { params: ["i32", "i32", "i32", "i32", "i32", "i64", "i64", "i32", "i32"], results: ["i32"] });
  });

  test("cpp-host's path_link (6 params) and path_symlink (4 params) quirk", () => {
    assert.equal(sig("0.2.1", "wasi_snapshot_preview1.path_link")!.params.length, 6);
    assert.equal(sig("0.2.1", "wasi_snapshot_preview1.path_symlink")!.params.length, 4);
  });

  test("WASI is registered identically under both module names", () => {
    const table = hostFunctionTypes("0.2.1");
    const under = (m: string) => [...table].filter(([k]) => k.startsWith(`${m}.`)).map(([k, t]) => [k.slice(m.length + 1), t]);
    assert.deepEqual(under(WASI_MODULES[0]), under(WASI_MODULES[1]));
    assert.equal(under("wasi_unstable").length, 45);
  });

  test("plugin exports: the header callbacks change shape with the version; foreign function only in 0.2.x", () => {
    assert.equal(pluginExportTypes("0.1.0").get("proxy_on_request_headers")!.params.length, 2);
    assert.equal(pluginExportTypes("0.2.0").get("proxy_on_response_headers")!.params.length, 3);
    assert.equal(pluginExportTypes("0.1.0").has("proxy_on_foreign_function"), false);
    assert.equal(pluginExportTypes("0.2.1").has("proxy_on_foreign_function"), true);
    assert.deepEqual(pluginExportTypes("0.2.1").get("main"), { params: ["i32", "i32"], results: ["i32"] });
    assert.deepEqual(pluginExportTypes("0.2.1").get("proxy_on_done"), { params: ["i32"], results: ["i32"] });
    assert.ok(pluginExportTypes("0.2.1").has("proxy_on_grpc_receive_trailing_metadata"));
    assert.ok(pluginExportTypes("0.2.1").has("envoy_on_resolve_dns"));
    assert.equal(pluginExportTypes("0.2.1").has("proxy_on_grpc_trailing_metadata"), false);
  });
});

describe("checkImports (V8 link in Envoy)", () => {
  const link = (version: AbiVersion, imports: string) => () => checkImports(inspectModule(plugin(version, imports)));

  test("everything the SDK imports links", () => {
    link("0.2.1", `
      (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
      (import "env" "proxy_get_log_level" (func (param i32) (result i32)))
      (import "env" "proxy_increment_metric" (func (param i32 i64) (result i32)))
      (import "env" "proxy_done" (func (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (import "wasi_unstable" "proc_exit" (func (param i32)))
      (import "env" "memory" (memory 1))
      (import "env" "table" (table 1 funcref))`)();
  });

  test("AssemblyScript's env.abort is a missing import, with a hint about the SDK's asconfig", () => {
    const hint = rejects(link("0.2.1", `(import "env" "abort" (func (param i32 i32 i32 i32)))`), "Failed to load Wasm module due to a missing import: env.abort");
    assert.match(hint, /--use abort=/);
  });

  test("env.seed and env.trace are missing too", () => {
    rejects(link("0.2.1", `(import "env" "seed" (func (result f64)))`), "Failed to load Wasm module due to a missing import: env.seed");
    rejects(link("0.2.1", `(import "env" "trace" (func (param i32 i32 f64 f64 f64 f64 f64)))`), "Failed to load Wasm module due to a missing import: env.trace");
  });

  test("0.2.0 importing proxy_get_log_level fails to link", () => {
    const hint = rejects(link("0.2.0", `(import "env" "proxy_get_log_level" (func (param i32) (result i32)))`), "Failed to load Wasm module due to a missing import: env.proxy_get_log_level");
    assert.match(hint, /only in ABI 0\.2\.1/);
    assert.match(hint, /proxy_abi_version_0_2_1/);
  });

  test("0.2.1 importing proxy_continue_request fails to link", () => {
    const hint = rejects(link("0.2.1", `(import "env" "proxy_continue_request" (func (result i32)))`), "Failed to load Wasm module due to a missing import: env.proxy_continue_request");
    assert.match(hint, /proxy_continue_stream/);
  });

  test("0.1.0 importing proxy_continue_stream fails to link", () => {
    rejects(link("0.1.0", `(import "env" "proxy_continue_stream" (func (param i32) (result i32)))`), "Failed to load Wasm module due to a missing import: env.proxy_continue_stream");
  });

  test("proxy_done declared (i32) -> i32 is a type mismatch", () => {
    const hint = rejects(
      link("0.2.1", `(import "env" "proxy_done" (func (param i32) (result i32)))`),
      "Failed to load Wasm module due to an import type mismatch: env.proxy_done, want: i32 -> i32, but host exports: void -> i32",
    );
    assert.match(hint, /\(i32\) -> i32; Envoy provides \(\) -> i32/);
  });

  test("0.1.0 proxy_continue_request declared () -> () is a type mismatch", () => {
    rejects(
      link("0.1.0", `(import "env" "proxy_continue_request" (func))`),
      "Failed to load Wasm module due to an import type mismatch: env.proxy_continue_request, want: void -> void, but host exports: void -> i32",
    );
  });

  test("an imported global is reported as a missing import", () => {
    const hint = rejects(link("0.2.1", `(import "env" "g" (global i32))`), "Failed to load Wasm module due to a missing import: env.g");
    assert.match(hint, /imported global/);
  });

  test("standard WASI path_link (7 params) does not link against cpp-host's 6", () => {
    const hint = rejects(
      link("0.2.1", `(import "wasi_snapshot_preview1" "path_link" (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))`),
      "Failed to load Wasm module due to an import type mismatch: wasi_snapshot_preview1.path_link, want: i32 i32 i32 i32 i32 i32 i32 -> i32, but host exports: i32 i32 i32 i32 i32 i32 -> i32",
    );
    assert.match(hint, /one parameter fewer/);
  });

  test("a WASI function cpp-host does not provide is missing", () => {
    rejects(link("0.2.1", `(import "wasi_snapshot_preview1" "proc_raise" (func (param i32) (result i32)))`), "Failed to load Wasm module due to a missing import: wasi_snapshot_preview1.proc_raise");
  });

  test("the first failing import, in import order, is reported", () => {
    rejects(
      link("0.2.1", `
        (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
        (import "env" "proxy_done" (func (param i32) (result i32)))
        (import "env" "abort" (func (param i32 i32 i32 i32)))`),
      "Failed to load Wasm module due to an import type mismatch: env.proxy_done, want: i32 -> i32, but host exports: void -> i32",
    );
  });
});

describe("checkExports (cpp-host getFunctions)", () => {
  const load = (src: string) => () => checkExports(inspectModule(wat(`(module ${src})`)));
  const base = (version: AbiVersion) => `(memory (export "memory") 1) (func (export "${MARKER[version]}"))`;
  const malloc = `(func (export "malloc") (param i32) (result i32) i32.const 0)`;

  test("a 0.1.0 module exporting a three-parameter proxy_on_request_headers fails", () => {
    const hint = rejects(
      load(`${base("0.1.0")} ${malloc} (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0)`),
      "Bad function signature for: proxy_on_request_headers, want: i32 i32 -> i32, but the module exports: i32 i32 i32 -> i32",
    );
    assert.match(hint, /\(i32, i32\) -> i32 for ABI 0\.1\.0/);
  });

  test("a 0.2.1 module exporting a two-parameter proxy_on_request_headers fails", () => {
    rejects(
      load(`${base("0.2.1")} ${malloc} (func (export "proxy_on_request_headers") (param i32 i32) (result i32) i32.const 0)`),
      "Bad function signature for: proxy_on_request_headers, want: i32 i32 i32 -> i32, but the module exports: i32 i32 -> i32",
    );
  });

  test("proxy_on_foreign_function is only checked for 0.2.x", () => {
    const bad = `(func (export "proxy_on_foreign_function") (param i32) )`;
    load(`${base("0.1.0")} ${malloc} ${bad}`)();
    rejects(load(`${base("0.2.0")} ${malloc} ${bad}`), "Bad function signature for: proxy_on_foreign_function, want: i32 i32 i32 -> void, but the module exports: i32 -> void");
  });

  test("a void proxy_on_done is a bad signature", () => {
    rejects(load(`${base("0.2.1")} ${malloc} (func (export "proxy_on_done") (param i32))`), "Bad function signature for: proxy_on_done, want: i32 -> i32, but the module exports: i32 -> void");
  });

  test("no allocator: Wasm module is missing malloc function.", () => {
    const hint = rejects(load(base("0.2.1")), "Wasm module is missing malloc function.");
    assert.match(hint, /proxy_on_memory_allocate/);
    assert.match(hint, /proxy-wasm-as\/assembly\/exports/);
  });

  test("a global named malloc is not an allocator", () => {
    rejects(load(`${base("0.2.1")} (global (export "malloc") i32 (i32.const 0))`), "Wasm module is missing malloc function.");
  });

  test("proxy_on_memory_allocate alone is enough", () => {
    load(`${base("0.2.1")} (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0)`)();
  });

  test("malloc wins: proxy_on_memory_allocate is not even looked up when malloc exists", () => {
    load(`${base("0.2.1")} ${malloc} (func (export "proxy_on_memory_allocate") (param i64) (result i64) i64.const 0)`)();
    rejects(
      load(`${base("0.2.1")} (func (export "proxy_on_memory_allocate") (param i64) (result i64) i64.const 0)`),
      "Bad function signature for: proxy_on_memory_allocate, want: i32 -> i32, but the module exports: i64 -> i64",
    );
  });

  test("a badly typed malloc fails even when proxy_on_memory_allocate is fine", () => {
    rejects(
      load(`${base("0.2.1")} (func (export "malloc") (param i32)) (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0)`),
      "Bad function signature for: malloc, want: i32 -> i32, but the module exports: i32 -> void",
    );
  });

  test("_start is only looked up without _initialize; main/__main_void only with it", () => {
    const badStart = `(func (export "_start") (param i32))`;
    const badMain = `(func (export "main") (result i32) i32.const 0)`;
    rejects(load(`${base("0.2.1")} ${malloc} ${badStart}`), "Bad function signature for: _start, want: void -> void, but the module exports: i32 -> void");
    load(`${base("0.2.1")} ${malloc} ${badStart} (func (export "_initialize"))`)();
    load(`${base("0.2.1")} ${malloc} ${badMain}`)();
    rejects(load(`${base("0.2.1")} ${malloc} ${badMain} (func (export "_initialize"))`), "Bad function signature for: main, want: i32 i32 -> i32, but the module exports: void -> i32");
  });

  test("no memory at all is rejected; an imported one is fine", () => {
    const noMemory = `(func (export "proxy_abi_version_0_2_1")) ${malloc}`;
    const hint = rejects(load(noMemory), "Wasm module has no memory: it neither exports nor imports one.");
    assert.match(hint, /Export the module's linear memory/);
    load(`(import "env" "memory" (memory 1)) ${noMemory}`)();
  });

  test("a complete 0.2.1 plugin with every callback passes", () => {
    const exports = [...pluginExportTypes("0.2.1")]
      .filter(([name]) => !["_start", "main", "__main_void", "proxy_on_memory_allocate"].includes(name))
      .map(([name, type]) => `(func (export "${name}") ${watSignature(type)} ${type.results.map((r) => `${r}.const 0`).join(" ")})`)
      .join("\n");
    load(`(memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")) ${exports}`)();
  });
});

/** `(param …) (result …)` for a FuncType. */
function watSignature(t: FuncType): string {
  return `(param ${t.params.join(" ")}) (result ${t.results.join(" ")})`;
}

describe("the host table links in a real engine", () => {
  /** A wasm module exporting, under "module.name", a typed stub for every host function. */
  async function typedHost(version: AbiVersion): Promise<Record<string, Record<string, unknown>>> {
    const funcs = [...hostFunctionTypes(version)]
      .map(([key, t]) => `(func (export "${key}") ${watSignature(t)} ${t.results.map((r) => `${r}.const 0`).join(" ")})`)
      .join("\n");
    const { instance } = await WebAssembly.instantiate(wat(`(module ${funcs})`));
    const imports: Record<string, Record<string, unknown>> = {};
    for (const [key, value] of Object.entries(instance.exports)) {
      const dot = key.indexOf(".");
      (imports[key.slice(0, dot)] ??= {})[key.slice(dot + 1)] = value;
    }
    return imports;
  }

  // Declared by hand, independently of signatures.ts, as an SDK would declare them.
  const pluginImports = `
    (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
    (import "env" "proxy_get_log_level" (func (param i32) (result i32)))
    (import "env" "proxy_send_local_response" (func (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (import "env" "proxy_http_call" (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (import "env" "proxy_record_metric" (func (param i32 i64) (result i32)))
    (import "env" "proxy_done" (func (result i32)))
    (import "env" "emscripten_notify_memory_growth" (func (param i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
    (import "wasi_unstable" "proc_exit" (func (param i32)))`;

  test("a plugin with SDK-style imports instantiates; V8 and checkImports agree on a mismatch", async () => {
    const host = await typedHost("0.2.1");
    const good = plugin("0.2.1", pluginImports);
    checkImports(inspectModule(good));
    await WebAssembly.instantiate(good, host as never);

    const bad = plugin("0.2.1", `(import "env" "proxy_done" (func (param i32) (result i32)))`);
    assert.throws(() => checkImports(inspectModule(bad)), ModuleLoadError);
    await assert.rejects(WebAssembly.instantiate(bad, host as never), WebAssembly.LinkError);
  });
});
