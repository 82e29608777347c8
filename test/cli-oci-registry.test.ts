// push and pull against a real registry (docker-registry 2.8, anonymous): round trips for
// every image format, digests, reproducibility, indexes, refusals, tampering, retries.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../cli/oci/digest.js";
import { bundleOf } from "../cli/oci/image.js";
import { buildImage } from "../cli/oci/image-builder.js";
import { checkImage } from "../cli/oci/istio-acceptance.js";
import { writeLayoutDir } from "../cli/oci/layout.js";
import { canonicalJson } from "../cli/oci/manifest.js";
import * as mt from "../cli/oci/media-types.js";
import { parseReference } from "../cli/oci/reference.js";
import { RegistryClient } from "../cli/oci/registry-client.js";
import { registrySource } from "../cli/oci/registry-source.js";
import { storedManifest } from "../cli/oci/image-source.js";
import { pushBundle } from "../cli/oci/transfer.js";
import { openImage } from "../cli/oci/open-image.js";
import { field, pwas, pwasProcess, testModule } from "./support/oci-cli.js";
import { startProxy } from "./support/oci-proxy.js";
import { freePort, startRegistry, type RunningRegistry } from "./support/registry.js";

let registry: RunningRegistry;
before(async () => {
  registry = await startRegistry();
});
after(async () => {
  await registry?.stop();
});

const tmp = () => mkdtemp(join(tmpdir(), "pwas-registry-test-"));
const FAST_RETRY = { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 };

async function packaged(dir: string, salt: string, extra: string[] = []): Promise<{ layout: string; module: Uint8Array; digest: string }> {
  const module = testModule(salt);
  await writeFile(join(dir, `${salt}.wasm`), module);
  const layout = join(dir, `${salt}-layout`);
  const r = await pwas(["package", join(dir, `${salt}.wasm`), "--layout", layout, "--tag", "v1", ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return { layout, module, digest: field(r.stdout, "manifest digest:")! };
}

async function headManifest(host: string, repository: string, reference: string): Promise<{ status: number; digest: string | null; type: string | null }> {
  const r = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, { method: "HEAD", headers: { accept: mt.MANIFEST_ACCEPT } });
  return { status: r.status, digest: r.headers.get("docker-content-digest"), type: r.headers.get("content-type") };
}

async function layoutFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of await readdir(join(dir, "blobs", "sha256"))) files.set(name, await readFile(join(dir, "blobs", "sha256", name)));
  return files;
}

for (const [variant, extra, expectedType, istioVariant] of [
  ["compat", [], mt.OCI_MANIFEST, "compat-oci"],
  ["oci", ["--variant", "oci", "--root-id", "hello"], mt.OCI_MANIFEST, "oci"],
  ["docker", ["--format", "docker"], mt.DOCKER_MANIFEST, "compat-docker"],
] as const) {
  test(`round trip (${variant}): push, then pull back byte for byte, accepted by Istio's rules`, async () => {
    const dir = await tmp();
    const image = await packaged(dir, `rt-${variant}`, [...extra]);
    const ref = `${registry.host}/plugins/${variant}:v1`;
    const pushed = await pwas(["push", image.layout, `oci://${ref}`]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(field(pushed.stdout, "digest:"), image.digest);
    assert.equal(field(pushed.stdout, "sha256: "), image.digest.slice(7));

    const head = await headManifest(registry.host, `plugins/${variant}`, "v1");
    assert.equal(head.digest, image.digest, "Docker-Content-Digest is the packaged manifest digest");
    assert.equal(head.type, expectedType);

    const pulled = await pwas(["pull", `oci://${ref}`, "--output", join(dir, "pulled.wasm"), "--layout", join(dir, "pulled")]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(field(pulled.stdout, "digest:"), image.digest);
    assert.equal(field(pulled.stdout, "sha256: "), image.digest.slice(7));
    assert.deepEqual(await readFile(join(dir, "pulled.wasm")), Buffer.from(image.module));
    assert.deepEqual(await layoutFiles(join(dir, "pulled")), await layoutFiles(image.layout));

    const client = new RegistryClient({ registry: registry.host });
    const check = await checkImage(registrySource(client, parseReference(ref)), { reference: ref });
    assert.equal(check.accepted, true);
    assert.equal(check.variant, istioVariant);
    assert.equal(check.manifestDigest, image.digest);
    assert.equal(check.moduleSha256, sha256Hex(image.module));
  });
}

test("reproducible through the registry: two separate packagings, one digest, nothing uploaded twice", async () => {
  const dirA = await tmp();
  const dirB = await tmp();
  const a = await packaged(dirA, "repro");
  const b = await packaged(dirB, "repro");
  assert.equal(a.digest, b.digest);
  const first = await pwas(["push", a.layout, `${registry.host}/plugins/repro:a`]);
  const second = await pwas(["push", b.layout, `${registry.host}/plugins/repro:b`]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /0 blob\(s\) uploaded, 2 already there/);
  assert.equal((await headManifest(registry.host, "plugins/repro", "a")).digest, (await headManifest(registry.host, "plugins/repro", "b")).digest);
});

test("push from an archive, by the layout's tag, and by digest; a wrong pinned digest is refused", async () => {
  const dir = await tmp();
  const module = testModule("archive");
  await writeFile(join(dir, "m.wasm"), module);
  const r = await pwas(["package", join(dir, "m.wasm"), "--output", join(dir, "img.tar"), "--tag", "v7"]);
  assert.equal(r.code, 0, r.stderr);
  const digest = field(r.stdout, "manifest digest:")!;

  let push = await pwas(["push", join(dir, "img.tar"), `${registry.host}/plugins/archive`]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, new RegExp(`pushed oci://${registry.host}/plugins/archive:v7`));
  assert.equal((await headManifest(registry.host, "plugins/archive", "v7")).digest, digest);

  push = await pwas(["push", join(dir, "img.tar"), `${registry.host}/plugins/bydigest@${digest}`]);
  assert.equal(push.code, 0, push.stderr);
  assert.equal((await headManifest(registry.host, "plugins/bydigest", digest)).status, 200);

  push = await pwas(["push", join(dir, "img.tar"), `${registry.host}/plugins/bydigest@sha256:${"0".repeat(64)}`]);
  assert.equal(push.code, 6);
  assert.match(push.stderr, /pins sha256:0+, but the image in/);
});

test("pushing an untagged image to an untagged reference asks for a tag", async () => {
  const dir = await tmp();
  await writeFile(join(dir, "m.wasm"), testModule("untagged"));
  assert.equal((await pwas(["package", join(dir, "m.wasm"), "--layout", join(dir, "lay")])).code, 0);
  const r = await pwas(["push", join(dir, "lay"), `${registry.host}/plugins/untagged`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /has no tag and the image in .* has no name/);
  assert.match(r.stderr, /hint: add a tag/);
});

test("pull of a missing tag: Registry exit code, the registry's error code and a hint", async () => {
  const dir = await tmp();
  const r = await pwasProcess(["pull", `oci://${registry.host}/plugins/nothing:v9`, "--output", join(dir, "x.wasm")]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /pwas: GET manifest plugins\/nothing:v9 at 127\.0\.0\.1:\d+ failed: HTTP 404 \((NAME|MANIFEST)_UNKNOWN/);
  assert.match(r.stderr, /hint: check the repository, tag or digest/);
  assert.equal(existsSync(join(dir, "x.wasm")), false);
});

test("registry down: Registry exit code and a message naming the address", async () => {
  const dir = await tmp();
  const port = await freePort();
  const r = await pwasProcess(["pull", `oci://127.0.0.1:${port}/plugins/x:v1`, "--output", join(dir, "x.wasm")]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, new RegExp(`pwas: cannot reach registry 127\\.0\\.0\\.1:${port} at http://127\\.0\\.0\\.1:${port}: connection refused`));
  assert.match(r.stderr, /hint: check the registry address and that the registry is running/);
});

test("a tampered blob in a layout is caught before anything is pushed", async () => {
  const dir = await tmp();
  const image = await packaged(dir, "tamper-layout");
  const manifest = JSON.parse(await readFile(join(image.layout, "blobs", "sha256", image.digest.slice(7)), "utf8"));
  const layerFile = join(image.layout, "blobs", "sha256", manifest.layers[0].digest.slice(7));
  const bytes = await readFile(layerFile);
  bytes[bytes.length - 1] ^= 0xff;
  await writeFile(layerFile, bytes);
  const r = await pwasProcess(["push", image.layout, `${registry.host}/plugins/tampered:v1`]);
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /content does not match its digest/);
  assert.equal((await headManifest(registry.host, "plugins/tampered", "v1")).status, 404);
});

test("a registry serving wrong bytes for a blob: pull fails with DigestMismatch and writes nothing", async () => {
  const dir = await tmp();
  const image = await packaged(dir, "tamper-registry");
  assert.equal((await pwas(["push", image.layout, `${registry.host}/plugins/served:v1`])).code, 0);
  const manifest = JSON.parse(await readFile(join(image.layout, "blobs", "sha256", image.digest.slice(7)), "utf8"));
  const hex = manifest.layers[0].digest.slice(7) as string;
  const stored = join(registry.storageDir, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
  const bytes = await readFile(stored);
  bytes[20] ^= 0xff;
  await writeFile(stored, bytes);
  const r = await pwas(["pull", `${registry.host}/plugins/served:v1`, "--output", join(dir, "p.wasm"), "--layout", join(dir, "lay")]);
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /blob sha256:[0-9a-f]{64} from .*: content does not match its digest/);
  assert.equal(existsSync(join(dir, "p.wasm")), false);
  assert.equal(existsSync(join(dir, "lay")), false);
});

test("an index: pushed with its children; pull resolves linux/amd64 like istio-agent and prints the child's digest", async () => {
  const dir = await tmp();
  const amd = await buildImage({ module: testModule("idx-amd") });
  const arm = await buildImage({ module: testModule("idx-arm") });
  const manifests = [
    { mediaType: mt.OCI_MANIFEST, digest: arm.root.digest, size: arm.root.bytes.byteLength, platform: { os: "linux", architecture: "arm64" } },
    { mediaType: mt.OCI_MANIFEST, digest: amd.root.digest, size: amd.root.bytes.byteLength, platform: { os: "linux", architecture: "amd64" } },
  ];
  const root = storedManifest(canonicalJson({ schemaVersion: 2, mediaType: mt.OCI_INDEX, manifests }), mt.OCI_INDEX);
  const bundle = bundleOf(root, new Map([...amd.blobs, ...arm.blobs]), [arm.root, amd.root]);
  await writeLayoutDir(join(dir, "lay"), bundle, "multi");
  const push = await pwas(["push", join(dir, "lay"), `${registry.host}/plugins/index:multi`]);
  assert.equal(push.code, 0, push.stderr);
  assert.equal(field(push.stdout, "digest:"), root.digest);
  assert.equal(field(push.stdout, "sha256: "), amd.root.digest.slice(7), "the WasmPlugin sha256 is the linux/amd64 child's");
  assert.match(push.stderr, /points to an index/);
  assert.equal((await headManifest(registry.host, "plugins/index", arm.root.digest)).status, 200);

  const pull = await pwas(["pull", `${registry.host}/plugins/index:multi`, "--output", join(dir, "p.wasm"), "--json"]);
  assert.equal(pull.code, 0, pull.stderr);
  const result = JSON.parse(pull.stdout);
  assert.equal(result.digest, amd.root.digest);
  assert.equal(result.indexDigest, root.digest);
  assert.deepEqual(await readFile(join(dir, "p.wasm")), Buffer.from(testModule("idx-amd")));

  const pinned = await pwas(["pull", `${registry.host}/plugins/index@${root.digest}`, "--output", join(dir, "q.wasm")]);
  assert.equal(pinned.code, 3);
  assert.match(pinned.stderr, /pins the index digest/);
});

test("an image Istio would reject is not pushed without --force, and pull explains the refusal", async () => {
  const dir = await tmp();
  // What a plain `oras push ref plugin.wasm:<wasm type>` makes: one layer, empty config.
  const module = testModule("oras");
  const empty = Buffer.from("{}");
  const d = (mediaType: string, data: Uint8Array) => ({ mediaType, digest: `sha256:${sha256Hex(data)}`, size: data.byteLength });
  const root = storedManifest(canonicalJson({ schemaVersion: 2, mediaType: mt.OCI_MANIFEST, config: d(mt.OCI_EMPTY, empty), layers: [d(mt.WASM_CONTENT_LAYER, module)] }), mt.OCI_MANIFEST);
  await writeLayoutDir(join(dir, "lay"), bundleOf(root, new Map([[`sha256:${sha256Hex(empty)}`, empty], [`sha256:${sha256Hex(module)}`, module]])), "v1");

  let r = await pwas(["push", join(dir, "lay"), `${registry.host}/plugins/oras:v1`]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /error: the oci variant needs exactly 2 layers/);
  assert.match(r.stderr, /was not pushed/);
  assert.equal((await headManifest(registry.host, "plugins/oras", "v1")).status, 404);

  r = await pwas(["push", join(dir, "lay"), `${registry.host}/plugins/oras:v1`, "--force"]);
  assert.equal(r.code, 0, r.stderr);

  r = await pwas(["pull", `${registry.host}/plugins/oras:v1`, "--output", join(dir, "p.wasm")]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /nothing was written/);
  assert.equal(existsSync(join(dir, "p.wasm")), false);

  r = await pwas(["pull", `${registry.host}/plugins/oras:v1`, "--layout", join(dir, "copy")]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /the image was written to .*copy, but istio-agent would not load a module from it/);
  assert.equal(existsSync(join(dir, "copy", "index.json")), true);
});

test("retries: transient 5xx and connection resets are retried with backoff; 501 and 4xx are not", async () => {
  const bundle = await buildImage({ module: testModule("retry") });
  const flaky = await startProxy(registry.host, { failFirst: 2, failStatus: 503 });
  const retries: string[] = [];
  try {
    const client = new RegistryClient({ registry: flaky.host, retry: FAST_RETRY, onRetry: (m) => retries.push(m) });
    const result = await pushBundle(client, "plugins/retry", bundle, "v1");
    assert.equal(result.digest, bundle.root.digest);
    assert.equal(retries.length, 2);
    assert.match(retries[0]!, /HTTP 503\); retry 1\/2/);
  } finally {
    await flaky.stop();
  }

  const reset = await startProxy(registry.host, { resetFirst: 1 });
  try {
    const client = new RegistryClient({ registry: reset.host, retry: FAST_RETRY });
    assert.equal(await client.headManifest("plugins/retry", "v1"), bundle.root.digest);
  } finally {
    await reset.stop();
  }

  for (const [status, expectedRequests] of [[501, 1], [500, 3], [400, 1]] as const) {
    const broken = await startProxy(registry.host, { failAlways: true, failStatus: status });
    try {
      const client = new RegistryClient({ registry: broken.host, retry: FAST_RETRY });
      await assert.rejects(client.ping(), (e: Error & { exitCode?: number }) => e.exitCode === 4);
      assert.equal(broken.seen.length, expectedRequests, `HTTP ${status}`);
    } finally {
      await broken.stop();
    }
  }
});

test("the CLI says when it retries", async () => {
  const dir = await tmp();
  const image = await packaged(dir, "cli-retry");
  const flaky = await startProxy(registry.host, { failFirst: 1, failStatus: 502 });
  try {
    const r = await pwas(["push", image.layout, `${flaky.host}/plugins/cli-retry:v1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: checking the registry API \(GET \/v2\/\) failed \(HTTP 502\); retry 1\/3 in 500 ms/);
  } finally {
    await flaky.stop();
  }
});

test("--insecure: a registry that does not speak TLS is retried over plain HTTP; without it, the error says what to pass", async (t) => {
  // A non-loopback address, so pwas starts with HTTPS (loopback registries get HTTP directly).
  const address = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
  if (!address) {
    t.skip("this machine has no non-loopback IPv4 address to reach a plain-HTTP registry over");
    return;
  }
  const proxy = await startProxy(registry.host, { listen: "0.0.0.0" });
  try {
    const dir = await tmp();
    const image = await packaged(dir, "insecure");
    const host = `${address}:${proxy.host.split(":")[1]}`;
    let r = await pwas(["push", image.layout, `${host}/plugins/insecure:v1`]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /TLS with registry .* failed/);
    assert.match(r.stderr, /hint: if the registry speaks plain HTTP pass --plain-http \(or --insecure/);
    r = await pwas(["push", image.layout, `${host}/plugins/insecure:v1`, "--insecure"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /did not speak TLS; using plain HTTP \(--insecure\)/);
    r = await pwas(["pull", `${host}/plugins/insecure:v1`, "--plain-http", "--output", join(dir, "p.wasm")]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await proxy.stop();
  }
});

test("openImage opens a layout, an archive or a registry reference alike (for verify and migrate)", async () => {
  const dir = await tmp();
  const image = await packaged(dir, "open");
  assert.equal((await pwas(["push", image.layout, `${registry.host}/plugins/open:v1`])).code, 0);
  const archive = join(dir, "img.tar");
  assert.equal((await pwas(["package", join(dir, "open.wasm"), "--output", archive, "--tag", "v1"])).code, 0);
  for (const spec of [image.layout, archive, `oci://${registry.host}/plugins/open:v1`]) {
    const opened = await openImage(spec);
    const check = await checkImage(opened.source, opened.reference ? { reference: opened.reference } : {});
    assert.equal(check.accepted, true, spec);
    assert.equal(check.manifestDigest, image.digest, spec);
  }
  assert.equal((await openImage(archive)).kind, "archive");
  assert.equal((await openImage(`${registry.host}/plugins/open:v1`)).kind, "registry");
});
