// checkImage: istio-agent's PrepareFetch rules restated (PACKAGING.md §1.2–1.5), image shape
// by image shape, with the message and fix for each refusal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256Digest, sha256Hex } from "../cli/oci/digest.js";
import { gzipDeterministic } from "../cli/oci/gzip.js";
import { bundleOf, type ImageBundle } from "../cli/oci/image.js";
import { buildImage } from "../cli/oci/image-builder.js";
import { bundleSource, storedManifest } from "../cli/oci/image-source.js";
import { checkImage, referenceWarnings } from "../cli/oci/istio-acceptance.js";
import { readImageFiles } from "../cli/oci/image-filesystem.js";
import { canonicalJson, type Descriptor, type Platform } from "../cli/oci/manifest.js";
import * as mt from "../cli/oci/media-types.js";
import { createTar } from "../cli/oci/tar.js";
import { testModule } from "./support/oci-cli.js";

const MODULE = testModule("acceptance");

interface LayerSpec {
  mediaType: string;
  data: Uint8Array;
  annotations?: Record<string, string>;
}

function image(layers: LayerSpec[], options: { manifestType?: string; config?: LayerSpec; omitMediaType?: boolean } = {}): ImageBundle {
  const config = options.config ?? { mediaType: mt.OCI_CONFIG, data: canonicalJson({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [] } }) };
  const d = (l: LayerSpec): Descriptor => ({ mediaType: l.mediaType, digest: sha256Digest(l.data), size: l.data.byteLength, ...(l.annotations ? { annotations: l.annotations } : {}) });
  const manifestType = options.manifestType ?? mt.OCI_MANIFEST;
  const manifest = { schemaVersion: 2, ...(options.omitMediaType ? {} : { mediaType: manifestType }), config: d(config), layers: layers.map(d) };
  const blobs = new Map<string, Uint8Array>([[sha256Digest(config.data), config.data], ...layers.map((l): [string, Uint8Array] => [sha256Digest(l.data), l.data])]);
  return bundleOf(storedManifest(canonicalJson(manifest), manifestType), blobs);
}

function index(children: Array<{ bundle: ImageBundle; platform?: Platform }>): ImageBundle {
  const manifests = children.map(({ bundle, platform }) => ({
    mediaType: bundle.root.mediaType,
    digest: bundle.root.digest,
    size: bundle.root.bytes.byteLength,
    ...(platform ? { platform } : {}),
  }));
  const root = storedManifest(canonicalJson({ schemaVersion: 2, mediaType: mt.OCI_INDEX, manifests }), mt.OCI_INDEX);
  const blobs = new Map<string, Uint8Array>();
  for (const { bundle } of children) for (const [k, v] of bundle.blobs) blobs.set(k, v);
  return bundleOf(root, blobs, children.map((c) => c.bundle.root));
}

const tarGz = async (files: Array<{ name: string; data: Uint8Array }>) => gzipDeterministic(await createTar(files));
const check = (bundle: ImageBundle, reference?: string) => checkImage(bundleSource(bundle, "test image"), reference ? { reference } : {});

test("compat with OCI media types: the last layer's plugin.wasm, found by base name, even after other layers", async () => {
  const spec = { mediaType: mt.OCI_LAYER_TAR_GZIP, data: await tarGz([{ name: "spec.yaml", data: Buffer.from("name: x") }]) };
  const plugin = { mediaType: mt.OCI_LAYER_TAR_GZIP, data: await tarGz([{ name: "README.md", data: Buffer.from("hi") }, { name: "some/dir/plugin.wasm", data: MODULE }]) };
  const bundle = image([spec, plugin]);
  const result = await check(bundle);
  assert.equal(result.accepted, true, JSON.stringify(result.errors));
  assert.equal(result.variant, "compat-oci");
  assert.equal(result.manifestDigest, bundle.root.digest);
  assert.equal(result.sha256, bundle.root.digest.slice(7));
  assert.equal(result.moduleSha256, sha256Hex(MODULE));
  // The annotation is not required by Istio.
  assert.equal(JSON.parse(Buffer.from(bundle.root.bytes).toString()).annotations, undefined);
});

test("compat: a tar+gzip last layer without plugin.wasm names the files it has", async () => {
  const result = await check(image([{ mediaType: mt.OCI_LAYER_TAR_GZIP, data: await tarGz([{ name: "filter.wasm", data: MODULE }]) }]));
  assert.equal(result.accepted, false);
  assert.match(result.errors[0]!.message, /plugin\.wasm not found in the archive \(the layer holds filter\.wasm\)/);
  assert.match(result.errors[0]!.fix, /name the module plugin\.wasm/);
  assert.match(result.istioError!, /could not parse as compat variant: could not extract wasm binary: plugin\.wasm not found in the archive/);
  assert.match(result.istioError!, /could not parse as oci variant: number of layers must be 2 but got 1/);
});

test("Docker schema2: only the Docker extractor is tried; an OCI layer type is refused", async () => {
  const ok = await check(image([{ mediaType: mt.DOCKER_LAYER_TAR_GZIP, data: await tarGz([{ name: "plugin.wasm", data: MODULE }]) }], { manifestType: mt.DOCKER_MANIFEST, config: { mediaType: mt.DOCKER_CONFIG, data: Buffer.from("{}") } }));
  assert.equal(ok.variant, "compat-docker");
  assert.equal(ok.accepted, true);
  const wrong = await check(image([{ mediaType: mt.OCI_LAYER_TAR_GZIP, data: await tarGz([{ name: "plugin.wasm", data: MODULE }]) }], { manifestType: mt.DOCKER_MANIFEST }));
  assert.equal(wrong.accepted, false);
  assert.match(wrong.errors[0]!.message, /Docker schema2 manifest must have a tar\.gzip last layer/);
  assert.match(wrong.istioError!, /^could not extract Wasm file from the image as Docker container invalid media type application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip/);
});

test("oci variant: exactly two layers with one module layer, whatever the config type", async () => {
  const runtime = { mediaType: mt.WASM_CONFIG, data: Buffer.from("{}") };
  const wasm = { mediaType: mt.WASM_CONTENT_LAYER, data: MODULE };
  // oras with two file layers and the empty config works.
  const oras = await check(image([runtime, wasm], { config: { mediaType: mt.OCI_EMPTY, data: Buffer.from("{}") } }));
  assert.equal(oras.variant, "oci");
  assert.equal(oras.accepted, true);

  const single = await check(image([wasm], { config: { mediaType: mt.OCI_EMPTY, data: Buffer.from("{}") } }));
  assert.equal(single.accepted, false);
  assert.match(single.errors[0]!.message, /needs exactly 2 layers .* has 1/);
  assert.match(single.errors[0]!.fix, /push two files/);

  const three = await check(image([runtime, wasm, { mediaType: "application/vnd.example.readme", data: Buffer.from("readme") }]));
  assert.match(three.errors[0]!.message, /has 3/);
  assert.match(three.istioError!, /number of layers must be 2 but got 3/);

  const noWasm = await check(image([runtime, { mediaType: "application/octet-stream", data: MODULE }]));
  assert.match(noWasm.errors[0]!.message, /no layer has the module media type/);
});

test("rejected formats: uncompressed tar, zstd, wasm-to-oci, CNCF Wasm artifacts, no layers", async () => {
  const tar = await createTar([{ name: "plugin.wasm", data: MODULE }]);
  const cases: Array<[LayerSpec[], RegExp, LayerSpec?]> = [
    [[{ mediaType: mt.OCI_LAYER_TAR, data: tar }], /uncompressed tar/],
    [[{ mediaType: mt.OCI_LAYER_TAR_ZSTD, data: tar }], /zstd-compressed/],
    [[{ mediaType: mt.WASM_TO_OCI_LAYER, data: MODULE }], /wasm-to-oci/, { mediaType: mt.WASM_TO_OCI_CONFIG, data: Buffer.from("{}") }],
    [[{ mediaType: mt.CNCF_WASM_LAYER, data: MODULE }], /CNCF Wasm OCI artifact/, { mediaType: mt.CNCF_WASM_CONFIG, data: Buffer.from("{}") }],
    [[], /no layers/],
  ];
  for (const [layers, message, config] of cases) {
    const result = await check(image(layers, config ? { config } : {}));
    assert.equal(result.accepted, false, String(message));
    assert.match(result.errors[0]!.message, message);
    assert.match(result.errors[0]!.fix, /pwas package/);
  }
});

test("the extracted module must be WebAssembly with at least 8 bytes", async () => {
  for (const data of [Buffer.from("\0asm"), Buffer.from("(module)"), Buffer.alloc(0)]) {
    const result = await check(image([{ mediaType: mt.OCI_LAYER_TAR_GZIP, data: await tarGz([{ name: "plugin.wasm", data }]) }]));
    assert.equal(result.accepted, false);
    assert.match(result.errors[0]!.message, /not WebAssembly/);
    assert.match(result.istioError!, /fetched Wasm binary from .* is invalid/);
  }
});

test("an index resolves to its linux/amd64 child (no platform counts as linux/amd64); sha256 is the child's", async () => {
  const amd = await buildImage({ module: MODULE });
  const arm = await buildImage({ module: testModule("arm") });
  const multi = index([{ bundle: arm, platform: { os: "linux", architecture: "arm64" } }, { bundle: amd, platform: { os: "linux", architecture: "amd64", variant: "v2" } }]);
  const result = await check(multi, "registry.example.com/acme/plugin:v1");
  assert.equal(result.accepted, true);
  assert.equal(result.manifestDigest, amd.root.digest);
  assert.equal(result.indexDigest, multi.root.digest);
  assert.match(result.warnings.map((w) => w.message).join("\n"), /points to an index .* sha256 must be/);

  const noPlatform = await check(index([{ bundle: amd }]));
  assert.equal(noPlatform.manifestDigest, amd.root.digest);

  const armOnly = await check(index([{ bundle: arm, platform: { os: "linux", architecture: "arm64" } }, { bundle: amd, platform: { os: "unknown", architecture: "unknown" } }]));
  assert.equal(armOnly.accepted, false);
  assert.match(armOnly.errors[0]!.message, /no linux\/amd64 image \(it has: linux\/arm64, unknown\/unknown\)/);
  assert.match(armOnly.errors[0]!.fix, /--provenance=false/);

  const pinned = await check(multi, `registry.example.com/acme/plugin@${multi.root.digest}`);
  assert.equal(pinned.accepted, false);
  assert.match(pinned.errors[0]!.message, /pins the index digest/);
  assert.match(pinned.errors[0]!.fix, new RegExp(amd.root.digest));
});

test("guardrails: :latest, untagged references, and the 256 MiB limit are warnings", async () => {
  assert.match(referenceWarnings("oci://r.example.com/a:latest")[0]!.message, /treats an unset imagePullPolicy as Always/);
  assert.match(referenceWarnings("r.example.com/a")[0]!.message, /treats it as IfNotPresent/);
  assert.deepEqual(referenceWarnings("r.example.com/a:v1"), []);
  assert.deepEqual(referenceWarnings(`r.example.com/a@sha256:${"a".repeat(64)}`), []);
  const bundle = await buildImage({ module: MODULE });
  const big = await checkImage(bundleSource(bundle), { maxBinaryBytes: 64 });
  assert.equal(big.accepted, true);
  assert.match(big.warnings[0]!.message, /over istio-agent's .* limit \(ISTIO_WASM_MAX_BINARY_SIZE_BYTES\)/);
  const near = await checkImage(bundleSource(bundle), { maxBinaryBytes: Math.ceil(MODULE.byteLength * 1.1) });
  assert.match(near.warnings[0]!.message, /close to/);
});

test("a blob that does not match its digest is a DigestMismatch, not an Istio finding", async () => {
  const bundle = await buildImage({ module: MODULE });
  const manifest = JSON.parse(Buffer.from(bundle.root.bytes).toString());
  bundle.blobs.set(manifest.layers[0].digest, gzipDeterministic(Buffer.from("tampered")));
  await assert.rejects(check(bundle), (error: Error & { exitCode?: number }) => error.exitCode === 6 && /does not match its digest/.test(error.message));
});

test("readImageFiles applies layers in order with whiteouts, and names artifact layers by title", async () => {
  const lower = { mediaType: mt.OCI_LAYER_TAR_GZIP, data: await tarGz([{ name: "manifest.yaml", data: Buffer.from("module: extension.wasm") }, { name: "old.txt", data: Buffer.from("x") }, { name: "extension.wasm", data: MODULE }]) };
  const upper = { mediaType: mt.DOCKER_LAYER_TAR_GZIP, data: await tarGz([{ name: ".wh.old.txt", data: Buffer.alloc(0) }, { name: "./new.txt", data: Buffer.from("y") }]) };
  const files = await readImageFiles(bundleSource(image([lower, upper])));
  assert.deepEqual([...files.keys()].sort(), ["extension.wasm", "manifest.yaml", "new.txt"]);
  const oci = await buildImage({ module: MODULE, variant: "oci" });
  const ociFiles = await readImageFiles(bundleSource(oci));
  assert.deepEqual([...ociFiles.keys()].sort(), ["filter.wasm", "runtime-config.json"]);
});
