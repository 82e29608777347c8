// --json on every command that reports a result, in the one shape the README documents:
// one object on stdout, `command` and `ok` first, then the command's fields; a failure is
// `{ command, ok: false, error: { message, hint, exitCode } }` with the same exit code.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { REPO_ROOT, runPwas } from "./support/pwas-run.js";

const dir = mkdtempSync(join(tmpdir(), "pwas-json-"));

/** Runs pwas with --json; stdout must be exactly one JSON object in the common shape. */
async function json(args: string[]): Promise<{ code: number; value: Record<string, unknown> }> {
  const result = await runPwas([...args, "--json"]);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    assert.fail(`pwas ${args.join(" ")} --json printed more than JSON on stdout:\n${result.stdout}\n${result.stderr}`);
  }
  assert.deepEqual(Object.keys(value).slice(0, 2), ["command", "ok"], "command and ok come first");
  assert.equal(value.command, args[0]);
  return { code: result.code, value };
}

describe("--json: one shape for every command", () => {
  test("build", async () => {
    // A project made by pwas init, with node_modules linked to this checkout (no npm install).
    const project = join(dir, "built");
    assert.equal((await runPwas(["init", project])).code, 0);
    mkdirSync(join(project, "node_modules"));
    symlinkSync(REPO_ROOT, join(project, "node_modules", "proxy-wasm-as"), "dir");
    symlinkSync(join(REPO_ROOT, "node_modules", "assemblyscript"), join(project, "node_modules", "assemblyscript"), "dir");
    const { code, value } = await json(["build", project]);
    assert.equal(code, 0, JSON.stringify(value));
    assert.equal(value.ok, true);
    const modules = value.modules as { target: string; bytes: number; sha256: string; checks: { id: string; status: string }[] }[];
    assert.ok(modules.some((m) => m.target === "release" && m.bytes > 0 && /^[0-9a-f]{64}$/.test(m.sha256)), JSON.stringify(modules));
    assert.ok(modules[0]!.checks.some((c) => c.id === "abi"));
    assert.ok((value.written as string[]).some((w) => w.endsWith("build/plugin.wasm")));
  });

  test("wasmplugin, to stdout and to a file", async () => {
    const { code, value } = await json(["wasmplugin", "--name", "hello", "--url", "file:///opt/hello.wasm"]);
    assert.equal(code, 0);
    assert.equal(value.output, null);
    assert.match(value.yaml as string, /kind: WasmPlugin[\s\S]*name: hello/);
    const out = join(dir, "w.yaml");
    const toFile = await json(["wasmplugin", "--name", "hello", "--url", "file:///opt/hello.wasm", "-o", out]);
    assert.equal(toFile.value.output, out);
  });

  test("init", async () => {
    const target = join(dir, "json-init");
    const { code, value } = await json(["init", target]);
    assert.equal(code, 0);
    assert.equal(value.dir, target);
    assert.ok((value.files as string[]).includes("package.json"));
    assert.match((value.sdk as { spec: string }).spec, /^file:vendor\/proxy-wasm-as-/);
    assert.equal(value.installed, false);
  });

  test("migrate", async () => {
    const file = join(dir, "sme.yaml");
    writeFileSync(file, stringify({ apiVersion: "maistra.io/v1", kind: "ServiceMeshExtension", metadata: { name: "header-append", namespace: "bookinfo" }, spec: { image: "quay.io/maistra-dev/header-append-filter:2.1", phase: "PostAuthZ" } }));
    const { code, value } = await json(["migrate", file]);
    assert.equal(code, 0, JSON.stringify(value));
    assert.match(value.yaml as string, /kind: WasmPlugin/);
    assert.deepEqual(value.migrated, [{ name: "header-append", namespace: "bookinfo" }]);
    assert.ok((value.deleteFirst as string[])[0]!.startsWith("kubectl delete servicemeshextensions.maistra.io -n bookinfo header-append"));
    assert.ok(Array.isArray(value.notes));
  });

  test("validate and verify carry the same two first fields", async () => {
    const plugin = join(dir, "p.yaml");
    writeFileSync(plugin, "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: p\n  namespace: istio-system\nspec:\n  url: oci://ghcr.io/acme/p:v1\n");
    const validated = await json(["validate", plugin]);
    assert.equal(validated.value.ok, true);
    const verified = await json(["verify", resolve("examples/header-append/build/release.wasm")]);
    assert.equal(verified.value.ok, true);
  });

  test("a failure: ok false, the error with its hint and exit code, on stdout", async () => {
    const { code, value } = await json(["validate", join(dir, "missing.yaml")]);
    assert.equal(code, 2);
    assert.equal(value.ok, false);
    assert.deepEqual(value.error, { message: `${join(dir, "missing.yaml")}: no such file`, hint: "Check the path (it is relative to the current directory).", exitCode: 2 });
    const push = await json(["push", join(dir, "nope"), "127.0.0.1:1/x:v1"]);
    assert.equal(push.value.ok, false);
    assert.equal((push.value.error as { exitCode: number }).exitCode, push.code);
  });
});
