// pwas package: image shapes (compat, oci variant, Docker), reproducibility, layouts and
// archives, http(s) artifacts, and failures that leave nothing behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { sha256Digest, sha256Hex } from "../cli/oci/digest.js";
import { unboxLikeIstio } from "../cli/oci/http-artifact.js";
import { buildImage } from "../cli/oci/image-builder.js";
import { checkImage } from "../cli/oci/istio-acceptance.js";
import { openLayoutPath } from "../cli/oci/layout-archive.js";
import type { ImageManifest } from "../cli/oci/manifest.js";
import { readTar } from "../cli/oci/tar.js";
import { field, pwas, testModule } from "./support/oci-cli.js";

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array) => assert.equal(Buffer.compare(Buffer.from(a ?? []), Buffer.from(b)), 0);
const tmp = () => mkdtemp(join(tmpdir(), "pwas-package-"));

async function moduleFile(dir: string, salt = "pwas"): Promise<{ path: string; bytes: Uint8Array }> {
  const bytes = testModule(salt);
  const path = join(dir, `${salt}.wasm`);
  await writeFile(path, bytes);
  return { path, bytes };
}

async function readLayoutImage(path: string, tag?: string) {
  const layout = await openLayoutPath(path);
  const source = layout.source(layout.select(tag));
  const root = await source.root();
  const manifest = JSON.parse(Buffer.from(root.bytes).toString()) as ImageManifest;
  return { layout, source, root, manifest };
}

test("the default is the compat variant: OCI manifest, one tar+gzip layer with plugin.wasm, a valid config", async () => {
  const dir = await tmp();
  const mod = await moduleFile(dir);
  const r = await pwas(["package", mod.path, "--layout", join(dir, "out"), "--tag", "v1"]);
  assert.equal(r.code, 0, r.stderr);
  const { root, manifest, source } = await readLayoutImage(join(dir, "out"), "v1");
  assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assert.equal(root.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assert.deepEqual(manifest.annotations, { "module.wasm.image/variant": "compat" });
  assert.equal(manifest.layers.length, 1);
  assert.equal(manifest.layers[0]!.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
  assert.equal(manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");

  const layer = await source.blob(manifest.layers[0]!);
  // gzip header: no FNAME flag, mtime 0, OS unknown.
  assert.equal(layer[3], 0);
  assert.deepEqual([...layer.subarray(4, 8)], [0, 0, 0, 0]);
  assert.equal(layer[9], 0xff);
  const tarBytes = gunzipSync(layer);
  const entries = await readTar(tarBytes);
  assert.deepEqual(entries.map((e) => e.name), ["plugin.wasm"]);
  sameBytes(entries[0]!.data, mod.bytes);
  // tar header: mode 0644, uid/gid 0, mtime 0 (octal fields at fixed offsets).
  const header = Buffer.from(tarBytes.subarray(0, 512)).toString("latin1");
  const octal = (from: number, to: number) => parseInt(header.slice(from, to).replace(/[\0 ]/g, ""), 8);
  assert.deepEqual([octal(100, 108), octal(108, 116), octal(116, 124), octal(136, 148)], [0o644, 0, 0, 0]);

  const config = JSON.parse(Buffer.from(await source.blob(manifest.config)).toString()) as { os: string; architecture: string; rootfs: { type: string; diff_ids: string[] } };
  assert.equal(config.rootfs.type, "layers");
  assert.deepEqual(config.rootfs.diff_ids, [sha256Digest(tarBytes)]);
  assert.equal(`${config.os}/${config.architecture}`, "linux/amd64");

  const index = JSON.parse(await readFile(join(dir, "out", "index.json"), "utf8"));
  assert.equal(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "v1");
  assert.deepEqual(JSON.parse(await readFile(join(dir, "out", "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });

  // The printed sha256 is the manifest digest (what an oci:// WasmPlugin compares), not the module's.
  assert.equal(field(r.stdout, "manifest digest:"), root.digest);
  assert.equal(field(r.stdout, "oci:// url:"), root.digest.slice(7));
  assert.notEqual(root.digest.slice(7), sha256Hex(mod.bytes));

  const check = await checkImage(source);
  assert.equal(check.accepted, true);
  assert.equal(check.variant, "compat-oci");
  sameBytes(check.module, mod.bytes);
});

test("packaging is reproducible: same module, same digest and byte-identical archives", async () => {
  const dir = await tmp();
  const mod = await moduleFile(dir);
  const runs = [];
  for (const n of [1, 2]) {
    const r = await pwas(["package", mod.path, "--output", join(dir, `img${n}.tar`), "--layout", join(dir, `lay${n}`), "--tag", "v1", "--root-id", "hello"]);
    assert.equal(r.code, 0, r.stderr);
    runs.push(field(r.stdout, "manifest digest:"));
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a different second: no timestamp may leak in
  }
  assert.equal(runs[0], runs[1]);
  assert.deepEqual(await readFile(join(dir, "img1.tar")), await readFile(join(dir, "img2.tar")));
  for (const variant of ["compat", "oci"] as const) {
    const a = await buildImage({ module: mod.bytes, variant });
    const b = await buildImage({ module: mod.bytes, variant });
    assert.equal(a.root.digest, b.root.digest);
  }
});

test("property: any module gives the same digest twice, and different modules give different digests", async () => {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.uint8Array({ maxLength: 4096 }), fc.constantFrom("compat" as const, "oci" as const), async (x, y, variant) => {
      const m1 = new Uint8Array([...header, ...x]);
      const m2 = new Uint8Array([...header, ...y]);
      const [a, b, c] = await Promise.all([buildImage({ module: m1, variant }), buildImage({ module: m1, variant }), buildImage({ module: m2, variant })]);
      assert.equal(a.root.digest, b.root.digest);
      assert.equal(sha256Hex(m1) === sha256Hex(m2), a.root.digest === c.root.digest);
    }),
    { numRuns: 40 },
  );
});

test("--root-id and --runtime-config put runtime-config.json next to plugin.wasm", async () => {
  const dir = await tmp();
  const mod = await moduleFile(dir);
  let r = await pwas(["package", mod.path, "--layout", join(dir, "gen"), "--root-id", "hello", "--root-id", "other"]);
  assert.equal(r.code, 0, r.stderr);
  let { manifest, source } = await readLayoutImage(join(dir, "gen"));
  let entries = await readTar(gunzipSync(await source.blob(manifest.layers[0]!)));
  assert.deepEqual(entries.map((e) => e.name), ["plugin.wasm", "runtime-config.json"]);
  assert.deepEqual(JSON.parse(Buffer.from(entries[1]!.data).toString()), {
    type: "envoy_proxy",
    abiVersions: ["proxy_abi_version_0_2_1"],
    config: { rootIds: ["hello", "other"] },
  });

  const custom = '{"type":"envoy_proxy","config":{"rootIds":["mine"]}}\n';
  await writeFile(join(dir, "rc.json"), custom);
  r = await pwas(["package", mod.path, "--layout", join(dir, "given"), "--runtime-config", join(dir, "rc.json")]);
  assert.equal(r.code, 0, r.stderr);
  ({ manifest, source } = await readLayoutImage(join(dir, "given")));
  entries = await readTar(gunzipSync(await source.blob(manifest.layers[0]!)));
  assert.equal(Buffer.from(entries[1]!.data).toString(), custom);

  await writeFile(join(dir, "bad.json"), "{not json");
  r = await pwas(["package", mod.path, "--layout", join(dir, "bad"), "--runtime-config", join(dir, "bad.json")]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /runtime config .*bad\.json is not JSON/);
  assert.equal(existsSync(join(dir, "bad")), false);
});

test("--variant oci: exactly two layers, runtime config (also the config) and the raw module, as wasme pushes it", async () => {
  const dir = await tmp();
  const mod = await moduleFile(dir);
  const r = await pwas(["package", mod.path, "--variant", "oci", "--layout", join(dir, "out"), "--root-id", "hello"]);
  assert.equal(r.code, 0, r.stderr);
  const { manifest, source } = await readLayoutImage(join(dir, "out"));
  assert.equal(manifest.layers.length, 2);
  assert.equal(manifest.config.mediaType, "application/vnd.module.wasm.config.v1+json");
  assert.deepEqual(manifest.layers[0], manifest.config);
  assert.equal(manifest.layers[0]!.annotations?.["org.opencontainers.image.title"], "runtime-config.json");
  assert.equal(manifest.layers[1]!.mediaType, "application/vnd.module.wasm.content.layer.v1+wasm");
  sameBytes(await source.blob(manifest.layers[1]!), mod.bytes);
  assert.deepEqual(manifest.annotations, { "module.wasm.runtime/abi_version": "proxy_abi_version_0_2_1", "module.wasm.runtime/type": "envoy_proxy" });
  const runtime = JSON.parse(Buffer.from(await source.blob(manifest.config)).toString());
  assert.deepEqual(runtime.config.rootIds, ["hello"]);
  const check = await checkImage(source);
  assert.equal(check.variant, "oci");
  assert.equal(check.accepted, true);
});

test("--format docker: Docker schema2 media types, no annotations, accepted as compat", async () => {
  const dir = await tmp();
  const mod = await moduleFile(dir);
  const r = await pwas(["package", mod.path, "--format", "docker", "--output", join(dir, "img.tar")]);
  assert.equal(r.code, 0, r.stderr);
  const { manifest, root, source } = await readLayoutImage(join(dir, "img.tar"));
  assert.equal(root.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
  assert.equal(manifest.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
  assert.equal(manifest.config.mediaType, "application/vnd.docker.container.image.v1+json");
  assert.equal(manifest.layers[0]!.mediaType, "application/vnd.docker.image.rootfs.diff.tar.gzip");
  assert.equal(manifest.annotations, undefined);
  assert.equal((await checkImage(source)).variant, "compat-docker");

  const both = await pwas(["package", mod.path, "--format", "docker", "--variant", "oci", "--output", join(dir, "x.tar")]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--format docker applies to the compat variant only/);
  assert.equal(existsSync(join(dir, "x.tar")), false);
});

test("--http artifacts: the printed sha256 is the unwrapped module's, for .wasm, .wasm.gz, .tar and .tar.gz", async () => {
  const dir = await tmp();
  const mod = await moduleFile(dir);
  for (const name of ["p.wasm", "p.wasm.gz", "p.tar", "p.tar.gz", "p.tgz"]) {
    const r = await pwas(["package", mod.path, "--http", join(dir, name), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { http: { sha256: string }; manifestDigest?: string };
    assert.equal(result.http.sha256, sha256Hex(mod.bytes), name);
    assert.equal(result.manifestDigest, undefined, "no image was written, so no oci digest is printed");
    const artifact = await readFile(join(dir, name));
    assert.equal(sha256Hex(await unboxLikeIstio(artifact)), sha256Hex(mod.bytes), name);
  }
  const bad = await pwas(["package", mod.path, "--http", join(dir, "p.zip")]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /cannot tell the artifact kind/);
  assert.equal(existsSync(join(dir, "p.zip")), false);
});

test("an existing layout gains images by tag; a tag packaged again is replaced", async () => {
  const dir = await tmp();
  const a = await moduleFile(dir, "a");
  const b = await moduleFile(dir, "b");
  const lay = join(dir, "lay");
  assert.equal((await pwas(["package", a.path, "--layout", lay, "--tag", "v1"])).code, 0);
  assert.equal((await pwas(["package", b.path, "--layout", lay, "--tag", "v2"])).code, 0);
  let layout = await openLayoutPath(lay);
  assert.deepEqual(layout.entries.map((e) => e.refName), ["v1", "v2"]);
  assert.equal((await pwas(["package", b.path, "--layout", lay, "--tag", "v1"])).code, 0);
  layout = await openLayoutPath(lay);
  assert.deepEqual(layout.entries.map((e) => e.refName), ["v2", "v1"]);
  assert.equal(layout.entries[0]!.descriptor.digest, layout.entries[1]!.descriptor.digest);
  assert.throws(() => layout.select(), /holds several images/);
});

test("failures leave nothing behind and name the fix", async () => {
  const dir = await tmp();
  const mod = await moduleFile(dir);
  let r = await pwas(["package", mod.path]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nothing to write/);
  assert.match(r.stderr, /hint: add --layout/);

  r = await pwas(["package", join(dir, "missing.wasm"), "--layout", join(dir, "out")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot read module/);

  await writeFile(join(dir, "text.wasm"), "(module)");
  r = await pwas(["package", join(dir, "text.wasm"), "--layout", join(dir, "out"), "--output", join(dir, "o.tar")]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /not a WebAssembly module/);
  assert.equal(existsSync(join(dir, "out")), false);
  assert.equal(existsSync(join(dir, "o.tar")), false);

  r = await pwas(["package", mod.path, "--variant", "wasme", "--layout", join(dir, "out")]);
  assert.equal(r.code, 2);

  r = await pwas(["package", mod.path, "--layout", join(dir, "out"), "--tag", "-bad"]);
  assert.equal(r.code, 2);

  // A non-empty directory that is not a layout is left alone.
  await mkdir(join(dir, "busy"));
  await writeFile(join(dir, "busy", "keep.txt"), "mine");
  r = await pwas(["package", mod.path, "--layout", join(dir, "busy")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not an OCI image layout/);
  assert.deepEqual(await readdir(join(dir, "busy")), ["keep.txt"]);

  // An unwritable target: the parent is a file. No temporary files remain.
  await writeFile(join(dir, "afile"), "x");
  r = await pwas(["package", mod.path, "--output", join(dir, "afile", "img.tar")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot write .*afile\/img\.tar/);
  assert.deepEqual((await readdir(dir)).filter((n) => n.includes("pwas-tmp")), []);
});
