// pwas verify and the module checks behind it (cli/module/checks.ts): what Envoy refuses,
// each with what to change; wrapped modules as Istio unwraps them; images from layouts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { checkModule, type Check } from "../cli/module/checks.js";
import { unwrapModule } from "../cli/module/unwrap.js";
import { createTar } from "../cli/oci/tar.js";
import { buildImage } from "../cli/oci/image-builder.js";
import { writeLayoutDir } from "../cli/oci/layout.js";
import { compileWat } from "./support/plugin.js";
import { startRegistry, type RunningRegistry } from "./support/registry.js";
import { REPO_ROOT, runPwas as pwas, spawnPwas as pwasProcess } from "./support/pwas-run.js";

const tmp = () => mkdtemp(join(tmpdir(), "pwas-verify-"));
const HEADER_APPEND = join(REPO_ROOT, "examples/header-append/build/release.wasm");

/** A minimal module Envoy loads: ABI marker, memory, allocator. `extra` adds fields. */
function module(extra = "", imports = "", marker = "proxy_abi_version_0_2_1"): Uint8Array {
  return compileWat(`(module
    ${imports}
    (memory (export "memory") 1)
    (func (export "${marker}"))
    (func (export "malloc") (param i32) (result i32) (i32.const 1024))
    ${extra})`);
}

const byId = (checks: Check[], id: string) => checks.filter((c) => c.id === id);
const failures = (checks: Check[]) => checks.filter((c) => c.status === "fail");

describe("module checks", () => {
  test("a release build of an example passes every check", async () => {
    const report = await checkModule(await readFile(HEADER_APPEND), { source: "header-append" });
    assert.deepEqual(failures(report.checks), []);
    assert.equal(report.abiVersion, "0.2.1");
    assert.deepEqual(report.checks.map((c) => c.id), ["format", "size", "abi", "imports", "exports", "start", "instantiate"]);
    assert.match(report.sha256, /^[a-f0-9]{64}$/);
  });

  test("no ABI marker: Envoy's message, the fix, and the later checks skipped", async () => {
    const report = await checkModule(module("", "", "not_a_marker"), { source: "m" });
    const [abi] = byId(report.checks, "abi");
    assert.equal(abi!.status, "fail");
    assert.equal(abi!.message, "Missing or unknown Proxy-Wasm ABI version");
    assert.match(abi!.hint!, /proxy-wasm-as\/assembly\/exports/);
    assert.ok(["imports", "exports", "start", "instantiate"].every((id) => byId(report.checks, id)[0]!.status === "skip"));
  });

  test("every import Envoy lacks is reported, not only the first (env.abort names the SDK settings)", async () => {
    const imports = `(import "env" "abort" (func (param i32 i32 i32 i32)))
      (import "env" "seed" (func (result f64)))
      (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))`;
    const report = await checkModule(module("", imports), { source: "m" });
    const failed = byId(report.checks, "imports").filter((c) => c.status === "fail");
    assert.deepEqual(failed.map((c) => c.message), [
      "Failed to load Wasm module due to a missing import: env.abort",
      "Failed to load Wasm module due to a missing import: env.seed",
    ]);
    assert.match(failed[0]!.hint!, /asconfig/);
  });

  test("an import with the wrong type is a mismatch, with both signatures", async () => {
    const report = await checkModule(module("", `(import "env" "proxy_done" (func (param i32) (result i32)))`), { source: "m" });
    const [failure] = failures(report.checks);
    assert.match(failure!.message, /import type mismatch: env\.proxy_done/);
  });

  test("no allocator, no memory and a bad callback signature are export failures", async () => {
    const noMalloc = compileWat(`(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))`);
    assert.equal(failures((await checkModule(noMalloc, { source: "m" })).checks)[0]!.message, "Wasm module is missing malloc function.");
    const noMemory = compileWat(`(module (memory 1) (func (export "proxy_abi_version_0_2_1")) (func (export "malloc") (param i32) (result i32) (i32.const 0)))`);
    assert.match(failures((await checkModule(noMemory, { source: "m" })).checks)[0]!.message, /no memory/);
    const badSignature = module(`(func (export "proxy_on_request_headers") (param i32 i32) (result i32) (i32.const 0))`);
    assert.match(failures((await checkModule(badSignature, { source: "m" })).checks)[0]!.message, /Bad function signature for: proxy_on_request_headers/);
  });

  test("a start section that is a host import fails; one whose code calls the host fails at instantiation", async () => {
    const startIsHost = await checkModule(module("(start $done)", `(import "env" "proxy_done" (func $done))`), { source: "m" });
    const [start] = byId(startIsHost.checks, "start");
    assert.equal(start!.status, "fail");
    assert.match(start!.message, /calls the host function env\.proxy_done/);

    const callsHost = module(`(func $init (drop (call $log (i32.const 2) (i32.const 0) (i32.const 0)))) (start $init)`, `(import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))`);
    const report = await checkModule(callsHost, { source: "m" });
    assert.equal(byId(report.checks, "start")[0]!.status, "warn");
    const [instantiate] = byId(report.checks, "instantiate");
    assert.equal(instantiate!.status, "fail");
    assert.equal(instantiate!.message, "Failed to create new Wasm instance");
    assert.match(instantiate!.hint!, /proxy_log/);
  });

  test("a harmless start section is a warning that explains Envoy's rule", async () => {
    const report = await checkModule(module(`(func $init) (start $init)`), { source: "m" });
    const [start] = byId(report.checks, "start");
    assert.equal(start!.status, "warn");
    assert.match(start!.hint!, /no context exists/);
    assert.match(start!.hint!, /--exportStart _initialize/);
    assert.deepEqual(failures(report.checks), []);
  });

  test("over the size limit fails, naming Istio's variable", async () => {
    const report = await checkModule(await readFile(HEADER_APPEND), { source: "m", maxBytes: 1000 });
    const [size] = byId(report.checks, "size");
    assert.equal(size!.status, "fail");
    assert.match(size!.message, /ISTIO_WASM_MAX_BINARY_SIZE_BYTES/);
  });

  test(".wasm.gz, .tar and .tar.gz are unwrapped as Istio does, and the sha256 is the module's", async () => {
    const bytes = await readFile(HEADER_APPEND);
    const plain = await checkModule(bytes, { source: "m", instantiate: false });
    const tar = await createTar([{ name: "plugin.wasm", data: bytes }]);
    for (const [wrapped, layers] of [[gzipSync(bytes), ["gzip"]], [tar, ["tar"]], [gzipSync(tar), ["gzip", "tar"]]] as const) {
      const report = await checkModule(wrapped, { source: "m", instantiate: false });
      assert.deepEqual(report.layers, layers);
      assert.equal(report.sha256, plain.sha256);
      assert.deepEqual(failures(report.checks), []);
    }
  });

  test("Istio takes the first file of a tar: a tar with README first is not a module", async () => {
    const tar = await createTar([{ name: "README", data: new TextEncoder().encode("hi") }, { name: "plugin.wasm", data: module() }]);
    assert.equal(unwrapModule(tar).entryName, "README");
    const [format] = (await checkModule(tar, { source: "m" })).checks;
    assert.equal(format!.status, "fail");
    assert.match(format!.hint!, /first file/);
  });

  test("text, JSON, empty files and a damaged gzip are not modules, each with its own hint", async () => {
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode("(module)"), /WebAssembly text/],
      [new TextEncoder().encode('{"schemaVersion": 2}'), /JSON/],
      [new Uint8Array(0), /compiled \.wasm/],
      [Uint8Array.of(0x1f, 0x8b, 1, 2, 3), /gzip/],
    ];
    for (const [bytes, hint] of cases) {
      const [format] = (await checkModule(bytes, { source: "m" })).checks;
      assert.equal(format!.status, "fail");
      assert.match(`${format!.message} ${format!.hint}`, hint);
    }
  });
});

describe("pwas verify", () => {
  test("a good module: exit 0 and a readable report with the sha256", async () => {
    const result = await pwas(["verify", HEADER_APPEND]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /ok {4}ABI marker: proxy_abi_version_0_2_1/);
    assert.match(result.stdout, /sha256 [a-f0-9]{64} \(spec\.sha256 when served over http\(s\)\)/);
    assert.match(result.stdout, /^ok: Envoy would load this module$/m);
  });

  test("a bad module: exit 3, each failure with its fix, one closing line on stderr", async () => {
    const dir = await tmp();
    const file = join(dir, "bad.wasm");
    await writeFile(file, module("", `(import "env" "abort" (func (param i32 i32 i32 i32)))`));
    const result = await pwasProcess(["verify", file]);
    assert.equal(result.code, 3);
    assert.match(result.stdout, /FAIL {2}imports: Failed to load Wasm module due to a missing import: env\.abort\n\s+fix: /);
    assert.equal(result.stderr.trim().split("\n")[0], `pwas: ${file} would not load`);
    assert.match(result.stderr, /^hint: /m);
  });

  test("--json is machine-readable and carries the same verdict", async () => {
    const result = await pwas(["verify", HEADER_APPEND, "--json"]);
    const report = JSON.parse(result.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.kind, "module");
    assert.equal(report.module.abiVersion, "0.2.1");
    assert.ok(report.module.checks.every((c: Check) => c.status === "pass"));
  });

  test("an OCI layout: Istio's image checks, then the module checks on plugin.wasm", async () => {
    const dir = await tmp();
    const layout = join(dir, "layout");
    const bundle = await buildImage({ module: await readFile(HEADER_APPEND) });
    await writeLayoutDir(layout, bundle, "1.0.0");
    const result = await pwas(["verify", layout, "--json"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.kind, "image");
    assert.equal(report.image.variant, "compat-oci");
    assert.equal(report.image.sha256, bundle.root.digest.slice(7));
    assert.match(report.module.source, /^plugin\.wasm in layout /);
  });

  test("an image whose module Envoy would refuse fails verify although Istio accepts the image", async () => {
    const dir = await tmp();
    const layout = join(dir, "layout");
    await writeLayoutDir(layout, await buildImage({ module: module("", `(import "env" "trace" (func (param i32 i32 f64 f64 f64 f64 f64)))`) }), "1");
    const result = await pwas(["verify", layout]);
    assert.equal(result.code, 3);
    assert.match(result.stdout, /ok {4}image: istio-agent accepts it/);
    assert.match(result.stdout, /FAIL {2}imports: .*env\.trace/);
  });

  test("usage errors: a missing file is exit 2; a project directory points to pwas build", async () => {
    const missing = await pwas(["verify", "no/such/plugin.wasm"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file or directory/);
    const dir = await tmp();
    await writeFile(join(dir, "asconfig.json"), "{}");
    const project = await pwas(["verify", dir]);
    assert.equal(project.code, 2);
    assert.match(project.stderr, /pwas build/);
    const size = await pwas(["verify", HEADER_APPEND, "--max-size", "lots"]);
    assert.equal(size.code, 2);
  });

  describe("a registry reference", () => {
    let registry: RunningRegistry;
    before(async () => {
      registry = await startRegistry();
    });
    after(async () => {
      await registry?.stop();
    });

    test(":latest and untagged references are warnings (with what Istio does), not failures", async () => {
      const dir = await tmp();
      await writeLayoutDir(join(dir, "layout"), await buildImage({ module: await readFile(HEADER_APPEND) }), "latest");
      for (const ref of [`oci://${registry.host}/verify/p:latest`, `oci://${registry.host}/verify/p`]) {
        const pushed = await pwas(["push", join(dir, "layout"), ref.endsWith(":latest") ? ref : `${ref}:latest`, "-q"]);
        assert.equal(pushed.code, 0, pushed.stderr);
        const result = await pwas(["verify", ref]);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, ref.endsWith(":latest") ? /warn {2}reference: .*:latest tag.*Always/ : /warn {2}reference: .*has no tag/);
        assert.match(result.stdout, /^ok: Istio would load a working plugin from this image \(1 warning\)$/m);
      }
    });

    test("an image that is not there: the registry's answer, not a crash", async () => {
      const result = await pwasProcess(["verify", `oci://${registry.host}/verify/missing:1`]);
      assert.equal(result.code, 4);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /^pwas: GET manifest verify\/missing:1 .* 404 .*\nhint: /);
    });
  });
});
