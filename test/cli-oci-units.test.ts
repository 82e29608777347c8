// The small pieces of the OCI client: references, challenges, retry policy, credential
// lookup, Istio's http unboxing, wasm exports, determinism, progress rendering.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { envCredential } from "../cli/oci/credentials.js";
import { entryCredential, findAuthEntry, registryKeys } from "../cli/oci/docker-config.js";
import { gunzip, gzipDeterministic } from "../cli/oci/gzip.js";
import { buildHttpArtifact, unboxLikeIstio } from "../cli/oci/http-artifact.js";
import { readDockerConfigSecret } from "../cli/oci/k8s-secret.js";
import { terminalProgress } from "../cli/oci/progress.js";
import { formatReference, isLoopback, parseReference } from "../cli/oci/reference.js";
import { backoffDelay, isRetryableStatus, isTransientNetworkError, withRetry } from "../cli/oci/retry.js";
import { createTar } from "../cli/oci/tar.js";
import { proxyAbiVersions, wasmExportNames } from "../cli/oci/wasm-module.js";
import { parseWwwAuthenticate } from "../cli/oci/www-authenticate.js";
import { testModule } from "./support/oci-cli.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;

test("references: registries, Docker Hub defaults, tags, digests, oci:// prefix", () => {
  assert.deepEqual(parseReference("oci://ghcr.io/acme/plugin:v1"), { registry: "ghcr.io", repository: "acme/plugin", tag: "v1" });
  assert.deepEqual(parseReference("localhost:5000/plugin"), { registry: "localhost:5000", repository: "plugin" });
  assert.deepEqual(parseReference("nginx"), { registry: "docker.io", repository: "library/nginx" });
  assert.deepEqual(parseReference("index.docker.io/acme/x:1.0"), { registry: "docker.io", repository: "acme/x", tag: "1.0" });
  assert.deepEqual(parseReference(`127.0.0.1:5000/a/b:v1@${DIGEST}`), { registry: "127.0.0.1:5000", repository: "a/b", tag: "v1", digest: DIGEST });
  assert.deepEqual(parseReference("[::1]:5000/a"), { registry: "[::1]:5000", repository: "a" });
  assert.equal(formatReference(parseReference(`r.io/a@${DIGEST}`)), `r.io/a@${DIGEST}`);
  for (const bad of ["", "https://r.io/a", "r.io/A", "r.io/a:", "r.io/a@sha256:123", "r.io/a:-x", "r.io/a//b"]) {
    assert.throws(() => parseReference(bad), (e: Error & { exitCode?: number }) => e.exitCode === 2, bad);
  }
  assert.equal(isLoopback("localhost:5000"), true);
  assert.equal(isLoopback("127.0.0.9"), true);
  assert.equal(isLoopback("[::1]:5000"), true);
  assert.equal(isLoopback("registry.example.com"), false);
});

test("property: a formatted reference parses back to itself", () => {
  const component = fc.stringMatching(/^[a-z0-9]{1,8}$/);
  fc.assert(
    fc.property(fc.array(component, { minLength: 1, maxLength: 3 }), fc.option(fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,10}$/)), (parts, tag) => {
      const ref = { registry: "r.example.com:5000", repository: parts.join("/"), ...(tag ? { tag } : {}) };
      assert.deepEqual(parseReference(formatReference(ref)), ref);
    }),
  );
});

test("WWW-Authenticate: Bearer with quoted params, Basic, several challenges", () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://auth.example.com/token",service="reg",scope="repository:a/b:pull,push"'), [
    { scheme: "bearer", params: { realm: "https://auth.example.com/token", service: "reg", scope: "repository:a/b:pull,push" } },
  ]);
  assert.deepEqual(parseWwwAuthenticate('Basic realm="Registry Realm", Bearer realm=https://x/t, error="insufficient_scope"'), [
    { scheme: "basic", params: { realm: "Registry Realm" } },
    { scheme: "bearer", params: { realm: "https://x/t", error: "insufficient_scope" } },
  ]);
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="a\\"b"'), [{ scheme: "bearer", params: { realm: 'a"b' } }]);
});

test("retry policy: 5xx except 501/505/511, transient socket errors, exponential backoff", async () => {
  assert.deepEqual([500, 502, 503, 504, 501, 505, 511, 404, 429, 401].map(isRetryableStatus), [true, true, true, true, false, false, false, false, false, false]);
  const reset = new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) });
  assert.equal(isTransientNetworkError(reset), true);
  assert.equal(isTransientNetworkError(new TypeError("fetch failed", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) })), false);
  const policy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 1500 };
  assert.deepEqual([1, 2, 3].map((a) => backoffDelay(a, policy)), [500, 1000, 1500]);
  const slept: number[] = [];
  let calls = 0;
  const value = await withRetry(
    async () => {
      if (++calls < 3) throw reset;
      return "ok";
    },
    isTransientNetworkError,
    policy,
    undefined,
    async (ms) => void slept.push(ms),
  );
  assert.equal(value, "ok");
  assert.deepEqual(slept, [500, 1000]);
  calls = 0;
  await assert.rejects(withRetry(async () => { calls++; throw new Error("permanent"); }, () => false, policy, undefined, async () => undefined), /permanent/);
  assert.equal(calls, 1);
});

test("docker config lookup: host keys with or without scheme, Docker Hub's aliases, auth decoding", () => {
  const auths = {
    "https://index.docker.io/v1/": { auth: Buffer.from("hub:pw").toString("base64") },
    "http://registry.example.com:5000": { username: "u", password: "p" },
    "ghcr.io": { auth: Buffer.from("<token>:").toString("base64"), identitytoken: "refresh" },
    "quay.io": {},
  };
  assert.deepEqual(entryCredential(findAuthEntry(auths, "docker.io")!, "cfg"), { username: "hub", password: "pw", source: "cfg" });
  assert.deepEqual(entryCredential(findAuthEntry(auths, "registry.example.com:5000")!, "cfg"), { username: "u", password: "p", source: "cfg" });
  assert.deepEqual(entryCredential(findAuthEntry(auths, "ghcr.io")!, "cfg"), { username: "<token>", identityToken: "refresh", source: "cfg" });
  assert.equal(entryCredential(findAuthEntry(auths, "quay.io")!, "cfg"), undefined, "an empty entry is a credsStore placeholder");
  assert.equal(findAuthEntry(auths, "registry.example.com"), undefined, "the port is part of the key");
  assert.deepEqual(registryKeys("docker.io"), ["index.docker.io", "docker.io", "registry-1.docker.io"]);
  assert.throws(() => entryCredential({ auth: Buffer.from("nocolon").toString("base64") }, "cfg"), /not base64 of user:password/);
});

test("environment credentials: token, or both username and password", () => {
  assert.deepEqual(envCredential({ PWAS_REGISTRY_TOKEN: "t" }).credential, { registryToken: "t", source: "PWAS_REGISTRY_TOKEN" });
  assert.deepEqual(envCredential({ PWAS_REGISTRY_USERNAME: "u", PWAS_REGISTRY_PASSWORD: "" }).credential, { username: "u", password: "", source: "PWAS_REGISTRY_USERNAME/PWAS_REGISTRY_PASSWORD" });
  assert.equal(envCredential({}).credential, undefined);
  assert.throws(() => envCredential({ PWAS_REGISTRY_USERNAME: "u" }), /set both PWAS_REGISTRY_USERNAME and PWAS_REGISTRY_PASSWORD/);
});

test("Kubernetes secrets: data (base64) or stringData, inside a List too", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pwas-secret-"));
  const json = JSON.stringify({ auths: { "r.io": { auth: "dTpw" } } });
  await writeFile(join(dir, "list.yaml"), `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  type: kubernetes.io/dockerconfigjson\n  metadata: {name: s}\n  stringData:\n    .dockerconfigjson: '${json}'\n`);
  assert.deepEqual((await readDockerConfigSecret(join(dir, "list.yaml"))).auths, { "r.io": { auth: "dTpw" } });
  await writeFile(join(dir, "nokey.yaml"), "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\nmetadata: {name: s}\ndata: {}\n");
  await assert.rejects(readDockerConfigSecret(join(dir, "nokey.yaml")), /has no \.dockerconfigjson key/);
  await writeFile(join(dir, "broken.yaml"), "kind: [unclosed");
  await assert.rejects(readDockerConfigSecret(join(dir, "broken.yaml")), (e: Error & { exitCode?: number }) => e.exitCode === 3 && /broken\.yaml:\d+:\d+: malformed YAML/.test(e.message));
});

test("unboxLikeIstio: gzip and tar layers come off until the wasm magic; failures give the original bytes", async () => {
  const wasm = testModule("unbox");
  const tar = await createTar([{ name: "anything.wasm", data: wasm }]);
  for (const wrapped of [wasm, gzipSync(wasm), tar, gzipSync(tar), gzipSync(gzipSync(tar))]) {
    assert.deepEqual(Buffer.from(await unboxLikeIstio(wrapped)), Buffer.from(wasm));
  }
  const notWasm = gzipSync(Buffer.from("hello"));
  assert.deepEqual(await unboxLikeIstio(notWasm), notWasm);
  // Only the first file of a tar counts.
  const twoFiles = await createTar([{ name: "a.txt", data: Buffer.from("readme") }, { name: "b.wasm", data: wasm }]);
  assert.deepEqual(await unboxLikeIstio(twoFiles), twoFiles);
  for (const kind of ["wasm", "wasm.gz", "tar", "tar.gz"] as const) {
    assert.deepEqual(Buffer.from(await unboxLikeIstio(await buildHttpArtifact(wasm, kind))), Buffer.from(wasm), kind);
  }
});

test("wasm exports and ABI markers", () => {
  const wasm = testModule("abi");
  assert.deepEqual(wasmExportNames(wasm)?.sort(), ["memory", "proxy_abi_version_0_2_1", "proxy_on_memory_allocate"]);
  assert.deepEqual(proxyAbiVersions(wasm), ["proxy_abi_version_0_2_1"]);
  assert.equal(wasmExportNames(Buffer.from("not wasm")), undefined);
  assert.equal(wasmExportNames(wasm.subarray(0, 12)), undefined, "truncated inside the first section");
});

test("gzip is deterministic and bounded", () => {
  const data = Buffer.from("x".repeat(10_000));
  const a = gzipDeterministic(data);
  assert.deepEqual(a, gzipDeterministic(data));
  assert.equal(a[9], 0xff);
  assert.deepEqual(Buffer.from(gunzip(a, "t")), data);
  assert.throws(() => gunzip(a, "t", 100), (e: Error & { exitCode?: number }) => e.exitCode === 3 && /t is too large: it decompresses to more than 100 bytes/.test(e.message));
  assert.throws(() => gunzip(Buffer.from("nope"), "t"), /not valid gzip/);
});

test("progress redraws one line, throttled, and ends with a newline", () => {
  const written: string[] = [];
  let now = 0;
  const stream = { write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WriteStream;
  const task = terminalProgress(stream, () => now).task("blob 1/2", 2048);
  task.update(512);
  task.update(600); // within 100 ms: skipped
  now = 200;
  task.update(1024);
  task.finish("2.0 KiB");
  assert.equal(written.length, 4);
  assert.match(written[0]!, /^\r\x1b\[2Kblob 1\/2 \[=====>\s+\]\s+25% 512 B\/2\.0 KiB$/);
  assert.match(written[1]!, / 50% 1\.0 KiB\/2\.0 KiB$/);
  assert.match(written[2]!, /100% 2\.0 KiB\/2\.0 KiB$/);
  assert.equal(written[3], " 2.0 KiB\n");
});
