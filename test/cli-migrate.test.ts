// pwas migrate: ServiceMeshExtension → WasmPlugin (fields, phases, warnings, refusals), and
// repackaging an extension image (manifest.yaml + module) as a compat image, into a layout
// and into a real registry.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { PHASE_MAP, SME_PHASES, orderChanges } from "../cli/migrate/phase.js";
import { migrateExtension, MigrationError } from "../cli/migrate/sme.js";
import { sha256Digest } from "../cli/oci/digest.js";
import { gzipDeterministic } from "../cli/oci/gzip.js";
import { bundleOf } from "../cli/oci/image.js";
import { checkImage } from "../cli/oci/istio-acceptance.js";
import { openLayoutPath } from "../cli/oci/layout-archive.js";
import { writeLayoutDir } from "../cli/oci/layout.js";
import { canonicalJson } from "../cli/oci/manifest.js";
import * as mt from "../cli/oci/media-types.js";
import { createTar } from "../cli/oci/tar.js";
import { validateWasmPlugin } from "../cli/wasmplugin/schema.js";
import { REPO_ROOT, runPwas, spawnPwas } from "./support/pwas-run.js";
import { startRegistry, type RunningRegistry } from "./support/registry.js";

const MODULE = join(REPO_ROOT, "examples/header-append/build/release.wasm");
const tmp = () => mkdtemp(join(tmpdir(), "pwas-migrate-"));

function sme(spec: Record<string, unknown>, apiVersion = "maistra.io/v1", name = "header-append") {
  return { apiVersion, kind: "ServiceMeshExtension", metadata: { name, namespace: "bookinfo" }, spec: { image: "quay.io/maistra-dev/header-append-filter:2.1", phase: "PostAuthZ", ...spec } };
}

const yamlOf = (...docs: unknown[]) => docs.map((d) => JSON.stringify(d)).join("\n---\n") + "\n";

async function smeFile(...docs: unknown[]): Promise<string> {
  const file = join(await tmp(), "sme.yaml");
  await writeFile(file, yamlOf(...docs));
  return file;
}

const docsOf = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as { metadata: Record<string, unknown>; spec: Record<string, unknown> });

/** An OSSM extension image: FROM scratch + manifest.yaml + the module, one layer each. */
async function extensionImage(manifestYaml: string, moduleName = "extension.wasm") {
  const module = new Uint8Array(await readFile(MODULE));
  const layers = [
    await createTar([{ name: "manifest.yaml", data: new TextEncoder().encode(manifestYaml) }]),
    await createTar([{ name: moduleName, data: module }]),
  ].map((tar) => ({ tar, gzip: gzipDeterministic(tar) }));
  const config = canonicalJson({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: layers.map((l) => sha256Digest(l.tar)) } });
  const layerDescriptors = layers.map((l) => ({ mediaType: mt.OCI_LAYER_TAR_GZIP, digest: sha256Digest(l.gzip), size: l.gzip.byteLength }));
  const manifest = canonicalJson({ schemaVersion: 2, mediaType: mt.OCI_MANIFEST, config: { mediaType: mt.OCI_CONFIG, digest: sha256Digest(config), size: config.byteLength }, layers: layerDescriptors });
  const blobs = new Map<string, Uint8Array>([[sha256Digest(config), config], ...layers.map((l) => [sha256Digest(l.gzip), l.gzip] as [string, Uint8Array])]);
  return { bundle: bundleOf({ digest: sha256Digest(manifest), mediaType: mt.OCI_MANIFEST, bytes: manifest }, blobs), module };
}

describe("resource conversion", () => {
  test("v1: fields renamed as the OSSM migration guide says, pluginName keeps OSSM's root id", () => {
    const { resource, notes } = migrateExtension(sme({
      config: { "first-header": "some-value" },
      workloadSelector: { labels: { app: "productpage" } },
      imagePullSecrets: [{ name: "quay" }],
      imagePullPolicy: "Always",
      priority: 100,
    }));
    assert.deepEqual(resource, {
      apiVersion: "extensions.istio.io/v1alpha1",
      kind: "WasmPlugin",
      metadata: { name: "header-append", namespace: "bookinfo" },
      spec: {
        selector: { matchLabels: { app: "productpage" } },
        url: "oci://quay.io/maistra-dev/header-append-filter:2.1",
        imagePullPolicy: "Always",
        imagePullSecret: "quay",
        phase: "STATS",
        priority: 100,
        pluginName: "header-append_root",
        pluginConfig: { "first-header": "some-value" },
      },
    });
    assert.deepEqual(validateWasmPlugin(resource).filter((i) => i.severity === "error"), []);
    assert.ok(notes.some((n) => n.message.includes("PostAuthZ became STATS")));
  });

  test("every SME phase maps as PACKAGING.md §2.3 derives it", () => {
    assert.deepEqual(Object.fromEntries(SME_PHASES.map((p) => [p, migrateExtension(sme({ phase: p })).resource.spec])).PostStats, { url: "oci://quay.io/maistra-dev/header-append-filter:2.1", pluginName: "header-append_root" });
    for (const phase of SME_PHASES) {
      const spec = migrateExtension(sme({ phase })).resource.spec as Record<string, unknown>;
      assert.equal(spec.phase, PHASE_MAP[phase], phase);
    }
    assert.deepEqual(PHASE_MAP, { PreAuthN: "AUTHN", PostAuthN: "AUTHZ", PreAuthZ: "AUTHZ", PostAuthZ: "STATS", PreStats: "STATS", PostStats: undefined });
  });

  test("collapsing phases warn; PreAuthN does not; PostStats notes it runs last", () => {
    const warnings = (phase: string) => migrateExtension(sme({ phase })).notes.filter((n) => n.severity === "warning").map((n) => n.message);
    assert.deepEqual(warnings("PreAuthN"), []);
    assert.match(warnings("PreAuthZ")[0]!, /PreAuthZ became AUTHZ, which also takes PostAuthN/);
    assert.ok(migrateExtension(sme({ phase: "PostStats" })).notes.some((n) => /runs unspecified: last/.test(n.message)));
  });

  test("order changes are named when priorities invert the old phase order", () => {
    const plugins = [
      { id: "ns/a", name: "a", namespace: "ns", smePhase: "PostAuthN" as const, priority: 10 },
      { id: "ns/b", name: "b", namespace: "ns", smePhase: "PreAuthZ" as const, priority: 20 },
      { id: "ns/c", name: "c", namespace: "ns", smePhase: "PreAuthZ" as const, priority: 1 },
    ];
    const changes = orderChanges(plugins);
    assert.equal(changes.length, 1);
    assert.match(changes[0]!, /^ns\/a \(PostAuthN, priority 10\) ran before ns\/b \(PreAuthZ, priority 20\).*give ns\/a a priority above 20/);
  });

  test("v1alpha1: a JSON string config becomes an object; Never becomes IfNotPresent; extra secrets are dropped with a warning", () => {
    const { resource, notes } = migrateExtension(sme({ config: '{"allow": "true"}', imagePullPolicy: "Never", imagePullSecrets: [{ name: "a" }, { name: "b" }] }, "maistra.io/v1alpha1"));
    const spec = resource.spec as Record<string, unknown>;
    assert.deepEqual(spec.pluginConfig, { allow: "true" });
    assert.equal(spec.imagePullPolicy, "IfNotPresent");
    assert.equal(spec.imagePullSecret, "a");
    const messages = notes.map((n) => n.message).join("\n");
    assert.match(messages, /Never does not exist in WasmPlugin/);
    assert.match(messages, /kept a, dropped b/);
  });

  test("config that cannot be carried over is refused: raw text, raw_v1alpha1_config, a list", () => {
    assert.throws(() => migrateExtension(sme({ config: "key=value" }, "maistra.io/v1alpha1")), (e: unknown) => e instanceof MigrationError && /not JSON/.test(e.message));
    assert.throws(() => migrateExtension(sme({ config: { raw_v1alpha1_config: "key=value" } })), MigrationError);
    assert.throws(() => migrateExtension(sme({ config: "[1, 2]" }, "maistra.io/v1alpha1")), /JSON object/);
  });

  test("bad fields are refused: unknown phase, policy, apiVersion, no image", () => {
    assert.throws(() => migrateExtension(sme({ phase: "PreRouting" })), /not a ServiceMeshExtension phase/);
    assert.throws(() => migrateExtension(sme({ imagePullPolicy: "Sometimes" })), /imagePullPolicy/);
    assert.throws(() => migrateExtension({ ...sme({}), apiVersion: "maistra.io/v2" }), /apiVersion/);
    assert.throws(() => migrateExtension(sme({ image: undefined })), /spec\.image is missing/);
  });

  test("no phase: the image manifest's phase and priority when known, otherwise a warning", () => {
    const withDefaults = migrateExtension(sme({ phase: undefined }), { defaults: { phase: "PreAuthN", priority: 7 } });
    assert.equal((withDefaults.resource.spec as Record<string, unknown>).phase, "AUTHN");
    assert.equal((withDefaults.resource.spec as Record<string, unknown>).priority, 7);
    const without = migrateExtension(sme({ phase: undefined }));
    assert.equal((without.resource.spec as Record<string, unknown>).phase, undefined);
    assert.ok(without.notes.some((n) => n.severity === "warning" && /--image/.test(n.hint ?? "")));
  });
});

describe("pwas migrate", () => {
  test("converts every extension of a file, with the delete reminder in the YAML and on stderr", async () => {
    const file = await smeFile(sme({ phase: "PostAuthN", priority: 10 }), sme({ phase: "PreAuthZ", priority: 20 }, "maistra.io/v1", "authz"), { apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } });
    const out = join(await tmp(), "wasmplugins.yaml");
    const result = await runPwas(["migrate", file, "-o", out]);
    assert.equal(result.code, 0, result.stderr);
    const text = await readFile(out, "utf8");
    assert.deepEqual(docsOf(text).map((d) => [d.metadata.name, d.spec.phase, d.spec.priority]), [["header-append", "AUTHZ", 10], ["authz", "AUTHZ", 20]]);
    assert.match(text, /# {3}kubectl delete servicemeshextensions\.maistra\.io -n bookinfo header-append/);
    assert.match(result.stderr, /order changes: bookinfo\/header-append \(PostAuthN, priority 10\) ran before bookinfo\/authz/);
    assert.match(result.stderr, /1 document\(s\) that are not ServiceMeshExtensions were skipped/);
    assert.match(result.stderr, /delete the old resources first, then apply:\n {2}kubectl delete servicemeshextensions\.maistra\.io -n bookinfo header-append\n/);
    assert.equal((await runPwas(["validate", out])).code, 0);
  });

  test("one extension that cannot be converted: exit 3, every problem listed, nothing written", async () => {
    const file = await smeFile(sme({ config: "raw text" }, "maistra.io/v1alpha1"), sme({ phase: "Sometime" }, "maistra.io/v1", "other"));
    const out = join(await tmp(), "out.yaml");
    const result = await spawnPwas(["migrate", file, "-o", out]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /^pwas: bookinfo\/header-append: spec\.config is text that is not JSON/m);
    assert.match(result.stderr, /^pwas: bookinfo\/other: spec\.phase "Sometime"/m);
    assert.match(result.stderr, /nothing was written/);
    assert.equal(existsSync(out), false);
  });

  test("no extension, malformed YAML, a missing file, conflicting options", async () => {
    assert.equal((await runPwas(["migrate", await smeFile({ kind: "WasmPlugin" })])).code, 3);
    const dir = await tmp();
    await writeFile(join(dir, "broken.yaml"), "spec: {phase: [\n");
    const broken = await runPwas(["migrate", join(dir, "broken.yaml")]);
    assert.equal(broken.code, 3);
    assert.match(broken.stderr, /broken\.yaml:\d+:\d+: malformed YAML/);
    assert.equal((await runPwas(["migrate", join(dir, "none.yaml")])).code, 2);
    const two = await smeFile(sme({}), sme({}, "maistra.io/v1", "b"));
    assert.equal((await runPwas(["migrate", two, "--plugin-name", "x"])).code, 2);
    assert.equal((await runPwas(["migrate", await smeFile(sme({})), "--to", "out"])).code, 2);
  });

  describe("with the extension image", () => {
    let registry: RunningRegistry;
    before(async () => {
      registry = await startRegistry();
    });
    after(async () => {
      await registry?.stop();
    });

    test("--image <layout> --to <layout>: manifest.yaml's module becomes plugin.wasm in a compat image; phase and priority come from the manifest", async () => {
      const dir = await tmp();
      const { bundle, module } = await extensionImage("schemaVersion: 1\nname: header-append\nphase: PreAuthN\npriority: 42\nmodule: extension.wasm\n");
      await writeLayoutDir(join(dir, "sme-image"), bundle, "2.1");
      const before = await checkImage((await openLayoutPath(join(dir, "sme-image"))).source((await openLayoutPath(join(dir, "sme-image"))).select()));
      assert.equal(before.accepted, false); // Istio cannot load the extension image as it is
      const file = await smeFile(sme({ phase: undefined }));
      const result = await runPwas(["migrate", file, "--image", join(dir, "sme-image"), "--to", join(dir, "compat"), "--url", "oci://registry.example.com/header-append:2.1-wasmplugin"]);
      assert.equal(result.code, 0, result.stderr);
      const [doc] = docsOf(result.stdout);
      const layout = await openLayoutPath(join(dir, "compat"));
      const check = await checkImage(layout.source(layout.select("2.1-wasmplugin")));
      assert.equal(check.accepted, true);
      assert.equal(check.variant, "compat-oci");
      assert.deepEqual(Buffer.from(check.module!), Buffer.from(module));
      assert.equal(doc!.spec.url, "oci://registry.example.com/header-append:2.1-wasmplugin");
      assert.equal(doc!.spec.sha256, check.sha256);
      assert.equal(doc!.spec.phase, "AUTHN");
      assert.equal(doc!.spec.priority, 42);
    });

    test("--image <ref> --to <ref>: pulled from and pushed to a real registry; the sha256 is what a pull computes", async () => {
      const dir = await tmp();
      const { bundle } = await extensionImage("schemaVersion: 1\nphase: PreAuthZ\npriority: 100\nmodule: /filters/ext.wasm\n", "filters/ext.wasm");
      await writeLayoutDir(join(dir, "sme-image"), bundle, "1.0");
      // pwas push refuses an image Istio would reject unless forced: the extension image is one.
      const pushed = await runPwas(["push", join(dir, "sme-image"), `oci://${registry.host}/sme/ext:1.0`, "--force", "-q"]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const file = await smeFile(sme({ image: `${registry.host}/sme/ext:1.0`, phase: "PreAuthZ", priority: 100 }));
      const target = `oci://${registry.host}/wasm/ext:1.0`;
      const result = await runPwas(["migrate", file, "--image", "--to", target]);
      assert.equal(result.code, 0, result.stderr);
      const [doc] = docsOf(result.stdout);
      assert.equal(doc!.spec.url, target);
      const pull = await runPwas(["pull", target, "--output", join(dir, "pulled.wasm"), "--json"]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.equal(doc!.spec.sha256, JSON.parse(pull.stdout).sha256);
      assert.equal((await runPwas(["verify", target])).code, 0);
    });

    test("--image without --to: an extension image Istio cannot load keeps its url, with a warning; defaults still apply", async () => {
      const dir = await tmp();
      const { bundle } = await extensionImage("schemaVersion: 1\nphase: PostStats\npriority: 5\nmodule: extension.wasm\n");
      await writeLayoutDir(join(dir, "img"), bundle, "1");
      const result = await runPwas(["migrate", await smeFile(sme({ phase: undefined })), "--image", join(dir, "img")]);
      assert.equal(result.code, 0, result.stderr);
      const [doc] = docsOf(result.stdout);
      assert.equal(doc!.spec.url, "oci://quay.io/maistra-dev/header-append-filter:2.1");
      assert.equal(doc!.spec.sha256, undefined);
      assert.equal(doc!.spec.priority, 5);
      assert.match(result.stderr, /warning: Istio cannot load layout .* as it is .*pass --to <reference>/);
    });

    test("an image whose module is missing is exit 3; --to <layout> without --url is exit 2; nothing is written", async () => {
      const dir = await tmp();
      const { bundle } = await extensionImage("schemaVersion: 1\nphase: PreAuthZ\npriority: 1\nmodule: missing.wasm\n");
      await writeLayoutDir(join(dir, "img"), bundle, "1");
      const missingModule = await runPwas(["migrate", await smeFile(sme({})), "--image", join(dir, "img"), "--to", join(dir, "out"), "--url", "oci://a.io/b:1"]);
      assert.equal(missingModule.code, 3);
      assert.match(missingModule.stderr, /names the module missing\.wasm, which is not in the image/);
      assert.equal(existsSync(join(dir, "out")), false);
      const badConfig = await runPwas(["migrate", await smeFile(sme({ config: "raw" }, "maistra.io/v1alpha1")), "--image", join(dir, "img"), "--to", join(dir, "out"), "--url", "oci://a.io/b:1"]);
      assert.equal(badConfig.code, 3); // refused before the image is even read
      assert.match(badConfig.stderr, /spec\.config is text that is not JSON/);
      assert.equal(existsSync(join(dir, "out")), false);
      const good = await extensionImage("schemaVersion: 1\nphase: PreAuthZ\npriority: 1\nmodule: extension.wasm\n");
      await writeLayoutDir(join(dir, "good"), good.bundle, "1");
      const layoutWithoutUrl = await runPwas(["migrate", await smeFile(sme({})), "--image", join(dir, "good"), "--to", join(dir, "out")]);
      assert.equal(layoutWithoutUrl.code, 2);
      assert.match(layoutWithoutUrl.stderr, /--url/);
      assert.equal(existsSync(join(dir, "out")), false);
    });
  });
});
