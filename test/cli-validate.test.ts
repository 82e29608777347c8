// pwas validate: WasmPlugin YAML against the CRD and webhook rules of PACKAGING.md §2.1,
// with the field path and file position of every finding.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatPath, validateWasmPlugin, type Issue } from "../cli/wasmplugin/schema.js";
import { parseYamlDocuments } from "../cli/yaml-source.js";
import { REPO_ROOT, runPwas, spawnPwas } from "./support/pwas-run.js";

const SHA = "a".repeat(64);

function plugin(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: "p", namespace: "ns" }) {
  return { apiVersion: "extensions.istio.io/v1alpha1", kind: "WasmPlugin", metadata, spec: { url: "oci://ghcr.io/acme/p:1.0", ...spec } };
}

/** "path: message" for each error (or warning). */
function found(spec: Record<string, unknown>, severity: Issue["severity"] = "error"): string[] {
  return validateWasmPlugin(plugin(spec)).filter((i) => i.severity === severity).map((i) => `${formatPath(i.path)}: ${i.message}`);
}

async function yamlFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pwas-validate-"));
  const file = join(dir, "wasmplugin.yaml");
  await writeFile(file, text);
  return file;
}

describe("WasmPlugin rules", () => {
  test("a complete, valid WasmPlugin has no findings", () => {
    assert.deepEqual(validateWasmPlugin(plugin({
      selector: { matchLabels: { app: "web", "app.kubernetes.io/name": "web" } },
      sha256: SHA, imagePullPolicy: "IfNotPresent", imagePullSecret: "pull", pluginName: "root", phase: "AUTHN", priority: -5,
      failStrategy: "FAIL_OPEN", type: "HTTP", pluginConfig: { a: [1, { b: null }] },
      vmConfig: { env: [{ name: "A", value: "1" }, { name: "POD", valueFrom: "HOST" }] },
      match: [{ mode: "SERVER", ports: [{ number: 80 }, { number: 443 }] }],
    })), []);
  });

  test("sha256: 64 lowercase hex, with a hint for the usual mistakes", () => {
    for (const [value, hint] of [[`sha256:${SHA}`, /Drop the sha256: prefix/], ["A".repeat(64), /lowercase/], ["abc", /3 characters/]] as const) {
      const [issue] = validateWasmPlugin(plugin({ sha256: value }));
      assert.equal(`${formatPath(issue!.path)}: ${issue!.message}`, "spec.sha256: must be 64 lowercase hex characters");
      assert.match(issue!.hint!, hint);
    }
    assert.deepEqual(found({ sha256: "" }), []);
  });

  test("url: required, an accepted scheme, and host:port without oci:// rejected as Istio does", () => {
    assert.deepEqual(found({ url: undefined }), ["spec.url: is required"]);
    assert.deepEqual(found({ url: "" }), ["spec.url: must not be empty"]);
    assert.deepEqual(found({ url: "ftp://x/y" }), ['spec.url: scheme "ftp" is not one of oci, http, https, file']);
    const [hostPort] = validateWasmPlugin(plugin({ url: "localhost:5000/filters/p:1" }));
    assert.equal(hostPort!.message, 'scheme "localhost" is not one of oci, http, https, file');
    assert.match(hostPort!.hint!, /oci:\/\/localhost:5000\/filters\/p:1/);
    assert.deepEqual(found({ url: "quay.io/acme/p:1" }, "warning"), ["spec.url: has no scheme; Istio assumes oci://"]);
    assert.match(found({ url: "oci://ghcr.io/Acme/p:1" })[0]!, /^spec\.url: invalid image reference/);
    assert.deepEqual(found({ url: "file://relative.wasm" }), ['spec.url: "file://relative.wasm" is not an absolute file URL']);
  });

  test("a sha256 that contradicts the url's digest can never match", () => {
    assert.deepEqual(found({ url: `oci://ghcr.io/acme/p@sha256:${"b".repeat(64)}`, sha256: SHA }), ["spec.sha256: differs from the @sha256: digest in spec.url, so the pulled image can never match"]);
    assert.deepEqual(found({ url: `oci://ghcr.io/acme/p@sha256:${SHA}`, sha256: SHA }), []);
  });

  test("enums are case-sensitive, with hints (ServiceMeshExtension phases, Never)", () => {
    const [phase] = validateWasmPlugin(plugin({ phase: "authn" }));
    assert.equal(phase!.hint, "Values are case-sensitive: write AUTHN.");
    const [sme] = validateWasmPlugin(plugin({ phase: "PostAuthZ" }));
    assert.match(sme!.hint!, /becomes STATS/);
    const [never] = validateWasmPlugin(plugin({ imagePullPolicy: "Never" }));
    assert.match(never!.hint!, /IfNotPresent/);
    assert.deepEqual(found({ failStrategy: "FAIL_SOMETIMES", type: "UDP" }), [
      'spec.failStrategy: "FAIL_SOMETIMES" is not one of FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD',
      'spec.type: "UDP" is not one of UNSPECIFIED_PLUGIN_TYPE, HTTP, NETWORK',
    ]);
  });

  test("priority is an int32; a quoted number says so", () => {
    assert.deepEqual(found({ priority: 2 ** 31 }), [`spec.priority: must be between ${-(2 ** 31)} and ${2 ** 31 - 1} (is ${2 ** 31})`]);
    const [quoted] = validateWasmPlugin(plugin({ priority: "10" }));
    assert.equal(quoted!.hint, "Write it without quotes: 10.");
  });

  test("selector, targetRef and targetRefs are one-of; target kinds and namespaces are checked", () => {
    assert.deepEqual(found({ selector: { matchLabels: { app: "a" } }, targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "gw" }] }), [
      "spec.targetRefs: only one of selector, targetRef or targetRefs can be set (found selector and targetRefs)",
    ]);
    assert.deepEqual(found({ targetRefs: [{ kind: "Deployment", group: "apps", name: "x" }, { kind: "Service", name: "s", namespace: "other" }] }), [
      "spec.targetRefs[0]: apps/Deployment is not a supported target",
      "spec.targetRefs[1].namespace: must be empty: cross-namespace references are not supported",
    ]);
    assert.deepEqual(found({ targetRefs: Array.from({ length: 17 }, (_, i) => ({ kind: "Service", name: `s${i}` })) }), ["spec.targetRefs: must have at most 16 items (has 17)"]);
    assert.deepEqual(found({ targetRef: { kind: "Service", name: "s" } }, "warning"), ["spec.targetRef: is deprecated"]);
  });

  test("label rules: no wildcards, values up to 63 characters, no labels only warns", () => {
    assert.deepEqual(found({ selector: { matchLabels: { "*": "a", app: "x*", long: "v".repeat(64) } } }), [
      'spec.selector.matchLabels["*"]: wildcards are not allowed in label keys',
      "spec.selector.matchLabels.app: wildcards are not allowed in label values",
      "spec.selector.matchLabels.long: must be at most 63 characters (has 64)",
    ]);
    assert.deepEqual(found({ selector: {} }, "warning"), ["spec.selector: has no labels, so it selects every workload in the namespace (mesh-wide in the root namespace)"]);
  });

  test("vmConfig.env: names required and unique, HOST takes no value", () => {
    assert.deepEqual(found({ vmConfig: { env: [{ value: "x" }, { name: "A", valueFrom: "HOST", value: "v" }, { name: "A" }, { name: "B", valueFrom: "ENV" }] } }), [
      "spec.vmConfig.env[0].name: is required",
      "spec.vmConfig.env[1].value: must be empty when valueFrom is HOST",
      'spec.vmConfig.env[2].name: duplicate name "A" (also spec.vmConfig.env[1])',
      'spec.vmConfig.env[3].valueFrom: "ENV" is not one of INLINE, HOST',
    ]);
  });

  test("match: ports 1..65535, no duplicates, number required", () => {
    assert.deepEqual(found({ match: [{ mode: "CLIENT", ports: [{ number: 0 }, { number: 80 }, { number: 80 }, {}] }] }), [
      "spec.match[0].ports[0].number: must be between 1 and 65535 (is 0)",
      "spec.match[0].ports[2].number: duplicate port 80",
      "spec.match[0].ports[3].number: is required",
    ]);
  });

  test("unknown fields are errors, with the WasmPlugin name for fields of other APIs", () => {
    const issues = validateWasmPlugin(plugin({ config: {}, pluginConfiguration: {}, failOpen: true }));
    assert.deepEqual(issues.map((i) => [formatPath(i.path), i.message, i.hint]), [
      ["spec.config", "unknown field", "WasmPlugin calls it pluginConfig (ServiceMeshExtension's config)."],
      ["spec.pluginConfiguration", "unknown field", "Did you mean pluginConfig?"],
      ["spec.failOpen", "unknown field", "WasmPlugin calls it failStrategy: FAIL_OPEN (failOpen was removed in Istio 1.29)."],
    ]);
  });

  test("pluginConfig must be a mapping; metadata and apiVersion are checked", () => {
    assert.deepEqual(found({ pluginConfig: [1, 2] }), ["spec.pluginConfig: must be a mapping (a google.protobuf.Struct), not a list"]);
    const issues = validateWasmPlugin({ apiVersion: "extensions.istio.io/v1beta1", kind: "WasmPlugin", metadata: { name: "Bad_Name" }, spec: { url: "oci://a.io/b:1" } });
    assert.deepEqual(issues.map((i) => formatPath(i.path)), ["apiVersion", "metadata.name"]);
  });

  test(":latest without a policy and untagged references are warnings; a sha256 silences :latest", () => {
    assert.match(found({ url: "oci://ghcr.io/acme/p:latest" }, "warning")[0]!, /Always/);
    assert.match(found({ url: "oci://ghcr.io/acme/p" }, "warning")[0]!, /has no tag/);
    assert.deepEqual(found({ url: "oci://ghcr.io/acme/p:latest", sha256: SHA }, "warning"), []);
  });
});

describe("pwas validate", () => {
  test("the examples' WasmPlugins are valid", async () => {
    const files = readdirSync(join(REPO_ROOT, "examples"), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(REPO_ROOT, "examples", d.name, "wasmplugin.yaml"));
    const result = await runPwas(["validate", ...files.filter((f) => existsSync(f))]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  test("issues carry file:line:column, in file order, across documents; other kinds are skipped", async () => {
    const file = await yamlFile([
      "apiVersion: v1",
      "kind: Service",
      "metadata: {name: s}",
      "---",
      "apiVersion: extensions.istio.io/v1alpha1",
      "kind: WasmPlugin",
      "metadata:",
      "  name: a",
      "  namespace: demo",
      "spec:",
      "  url: oci://ghcr.io/acme/a:1",
      "  phase: authz",
      "  sha256: sha256:abc",
      "---",
      "apiVersion: extensions.istio.io/v1alpha1",
      "kind: WasmPlugin",
      "metadata: {name: b}",
      "spec:",
      "  url: localhost:5000/b:1",
      "",
    ].join("\n"));
    const result = await runPwas(["validate", file]);
    assert.equal(result.code, 3);
    const lines = result.stdout.split("\n").filter((l) => l.includes(": error: "));
    assert.deepEqual(lines, [
      `${file}:12:10: error: spec.phase: "authz" is not one of UNSPECIFIED_PHASE, AUTHN, AUTHZ, STATS (WasmPlugin demo/a)`,
      `${file}:13:11: error: spec.sha256: must be 64 lowercase hex characters (WasmPlugin demo/a)`,
      `${file}:19:8: error: spec.url: scheme "localhost" is not one of oci, http, https, file (WasmPlugin b)`,
    ]);
    assert.match(result.stdout, /2 WasmPlugins, 3 errors; 1 other document skipped/);
    assert.match(result.stderr, /^pwas: 3 errors in 2 WasmPlugins\nhint: /);
  });

  test("an unknown field points at its key", async () => {
    const file = await yamlFile("apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: a}\nspec:\n  url: oci://a.io/b:1\n  pluginConfiguration:\n    x: 1\n");
    const result = await runPwas(["validate", file]);
    assert.match(result.stdout, new RegExp(`${file}:6:3: error: spec.pluginConfiguration: unknown field`));
  });

  test("a kind: List is looked into", async () => {
    const file = await yamlFile("apiVersion: v1\nkind: List\nitems:\n  - apiVersion: extensions.istio.io/v1alpha1\n    kind: WasmPlugin\n    metadata: {name: a}\n    spec: {url: 'oci://a.io/b:1', priority: x}\n");
    const result = await runPwas(["validate", file]);
    assert.equal(result.code, 3);
    assert.match(result.stdout, /:7:45: error: spec\.priority: must be an integer, not a string/);
  });

  test("malformed YAML is one message with line and column, exit 3", async () => {
    const file = await yamlFile("spec:\n  url: [oci://a\n  phase: AUTHN\n");
    const result = await spawnPwas(["validate", file]);
    assert.equal(result.code, 3);
    assert.equal(result.stdout, "");
    const [first, second, ...rest] = result.stderr.trim().split("\n");
    assert.match(first!, new RegExp(`^pwas: ${file}:\\d+:\\d+: malformed YAML: `));
    assert.match(second!, /^hint: /);
    assert.deepEqual(rest, []);
  });

  test("duplicate keys are malformed YAML", async () => {
    const result = await runPwas(["validate", await yamlFile("kind: WasmPlugin\nkind: WasmPlugin\n")]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /:2:1: malformed YAML: Map keys must be unique/);
  });

  test("no WasmPlugin at all is exit 3; a missing file is exit 2", async () => {
    const none = await runPwas(["validate", await yamlFile("apiVersion: v1\nkind: ConfigMap\n")]);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no WasmPlugin found/);
    const missing = await runPwas(["validate", "/nonexistent/wasmplugin.yaml"]);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, "pwas: /nonexistent/wasmplugin.yaml: no such file\nhint: Check the path (it is relative to the current directory).\n");
  });

  test("--strict fails on warnings; --json reports them; - reads standard input", async () => {
    const text = "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: a}\nspec: {url: 'oci://a.io/b:latest'}\n";
    const file = await yamlFile(text);
    assert.equal((await runPwas(["validate", file])).code, 0);
    assert.equal((await runPwas(["validate", "--strict", file])).code, 3);
    const json = JSON.parse((await runPwas(["validate", "--json", file])).stdout);
    assert.equal(json.ok, true);
    assert.equal(json.warnings, 1);
    assert.deepEqual(Object.keys(json.files[0].issues[0]).sort(), ["column", "hint", "line", "message", "path", "resource", "severity"]);
    const piped = await spawnPwas(["validate", "-"], { input: text });
    assert.equal(piped.code, 0, piped.stderr);
  });

  test("positions: locate() finds values and keys", () => {
    const [doc] = parseYamlDocuments("a:\n  b: [1, {c: 2}]\n", "f");
    assert.deepEqual(doc!.locate(["a", "b", 1, "c"]), { line: 2, col: 14 });
    assert.deepEqual(doc!.locate(["a", "b"], true), { line: 2, col: 3 });
    assert.equal(doc!.locate(["a", "missing"]), undefined);
  });
});
