// pwas wasmplugin: the url Istio accepts, the sha256 Istio compares for each scheme, and
// options that cannot work refused with one clear line.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parse } from "yaml";
import { sha256Hex } from "../cli/oci/digest.js";
import { buildImage } from "../cli/oci/image-builder.js";
import { writeLayoutDir } from "../cli/oci/layout.js";
import { REPO_ROOT, runPwas, spawnPwas } from "./support/pwas-run.js";

const MODULE = join(REPO_ROOT, "examples/header-append/build/release.wasm");
const tmp = () => mkdtemp(join(tmpdir(), "pwas-wasmplugin-"));

async function generate(...args: string[]) {
  const result = await runPwas(["wasmplugin", "--name", "hello", ...args]);
  return { ...result, doc: result.code === 0 ? (parse(result.stdout) as { metadata: Record<string, unknown>; spec: Record<string, unknown> }) : undefined };
}

describe("url", () => {
  test("a bare reference and host:port/repo get oci://; explicit schemes are kept", async () => {
    assert.equal((await generate("--url", "ghcr.io/acme/hello:1.0")).doc!.spec.url, "oci://ghcr.io/acme/hello:1.0");
    assert.equal((await generate("--url", "localhost:5000/hello:1.0")).doc!.spec.url, "oci://localhost:5000/hello:1.0");
    assert.equal((await generate("--url", "https://example.com/p.wasm")).doc!.spec.url, "https://example.com/p.wasm");
    assert.equal((await generate("--url", "file:///etc/istio/p.wasm")).doc!.spec.url, "file:///etc/istio/p.wasm");
  });

  test("an unsupported scheme or a bad reference is a usage error", async () => {
    const ftp = await generate("--url", "ftp://example.com/p.wasm");
    assert.equal(ftp.code, 2);
    assert.match(ftp.stderr, /^pwas: --url: scheme "ftp" is not one Istio accepts/);
    const upper = await generate("--url", "oci://ghcr.io/Acme/x:1");
    assert.equal(upper.code, 2);
    assert.match(upper.stderr, /invalid image reference/);
  });
});

describe("sha256 per scheme", () => {
  test("oci: --image gives the manifest digest of the layout, not the module's hash", async () => {
    const dir = await tmp();
    const bundle = await buildImage({ module: await readFile(MODULE) });
    await writeLayoutDir(join(dir, "out"), bundle, "1.0");
    const { doc, stdout, code, stderr } = await generate("--url", "oci://127.0.0.1:5000/hello:1.0", "--image", join(dir, "out"));
    assert.equal(code, 0, stderr);
    assert.equal(doc!.spec.sha256, bundle.root.digest.slice("sha256:".length));
    assert.notEqual(doc!.spec.sha256, sha256Hex(await readFile(MODULE)));
    assert.match(stdout, /^# spec\.sha256: manifest digest of layout /m);
  });

  test("oci: the url's digest is the sha256; a different --sha256 is a digest mismatch (exit 6)", async () => {
    const digest = "c".repeat(64);
    assert.equal((await generate("--url", `oci://ghcr.io/acme/h@sha256:${digest}`)).doc!.spec.sha256, digest);
    const mismatch = await generate("--url", `oci://ghcr.io/acme/h@sha256:${digest}`, "--sha256", "d".repeat(64));
    assert.equal(mismatch.code, 6);
    assert.match(mismatch.stderr, /^pwas: sha256 mismatch: /);
  });

  test("--sha256 accepts a sha256: prefix and uppercase, and writes the canonical form", async () => {
    const { doc } = await generate("--url", "oci://ghcr.io/acme/h:1", "--sha256", `sha256:${"AB".repeat(32)}`);
    assert.equal(doc!.spec.sha256, "ab".repeat(32));
    assert.equal((await generate("--url", "oci://ghcr.io/acme/h:1", "--sha256", "xyz")).code, 2);
  });

  test("http(s): --module hashes the module after gzip is removed, as Istio does", async () => {
    const dir = await tmp();
    const gz = join(dir, "plugin.wasm.gz");
    await writeFile(gz, gzipSync(await readFile(MODULE)));
    const { doc, code, stderr } = await generate("--url", "https://example.com/plugin.wasm.gz", "--module", gz);
    assert.equal(code, 0, stderr);
    assert.equal(doc!.spec.sha256, sha256Hex(await readFile(MODULE)));
  });

  test("http(s): --resolve downloads the module as istio-agent would and hashes it unwrapped; a 404 is exit 4", async () => {
    const module = await readFile(MODULE);
    const server = createServer((request, response) => {
      if (request.url === "/plugin.wasm.gz") response.writeHead(200, { "content-type": "application/gzip" }).end(gzipSync(module));
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { doc, code, stderr } = await generate("--url", `${base}/plugin.wasm.gz`, "--resolve");
      assert.equal(code, 0, stderr);
      assert.equal(doc!.spec.sha256, sha256Hex(module));
      const missing = await generate("--url", `${base}/nope.wasm`, "--resolve");
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /answered 404/);
    } finally {
      server.close();
    }
  });

  test("http(s): --module refuses a module Envoy would not load (exit 3)", async () => {
    const dir = await tmp();
    const bad = join(dir, "bad.wasm");
    await writeFile(bad, "(module)");
    const result = await generate("--url", "https://example.com/bad.wasm", "--module", bad);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /Envoy would not load this module/);
  });

  test("flags for the wrong scheme are usage errors, naming the right one", async () => {
    const fileSha = await generate("--url", "file:///p.wasm", "--sha256", "a".repeat(64));
    assert.equal(fileSha.code, 2);
    assert.match(fileSha.stderr, /--sha256 does not apply to file:\/\/ URLs/);
    const ociModule = await generate("--url", "oci://a.io/b:1", "--module", MODULE);
    assert.equal(ociModule.code, 2);
    assert.match(ociModule.stderr, /--image <layout> or --resolve/);
    const httpImage = await generate("--url", "https://a.io/b.wasm", "--image", "out");
    assert.equal(httpImage.code, 2);
  });

  test("no sha256 for an oci url: a note on how to pin it", async () => {
    const { stderr, doc } = await generate("--url", "oci://a.io/b:1");
    assert.equal(doc!.spec.sha256, undefined);
    assert.match(stderr, /note: no spec\.sha256/);
  });
});

describe("the other fields", () => {
  test("every option lands in its field, and the result passes pwas validate", async () => {
    const dir = await tmp();
    await writeFile(join(dir, "config.yaml"), "rules:\n  - prefix: /admin\n    allow: false\n");
    const out = join(dir, "wasmplugin.yaml");
    const result = await runPwas(["wasmplugin", "--name", "hello", "-n", "demo", "--url", "oci://ghcr.io/acme/hello:1.0", "--sha256", "e".repeat(64),
      "--pull-policy", "always", "--pull-secret", "regcred", "--phase", "authz", "--priority", "-10", "--plugin-name", "hello-root",
      "-c", join(dir, "config.yaml"), "--env", "REGION=eu=west", "--host-env", "POD_NAME", "--match-mode", "server", "--port", "8080", "--port", "8443",
      "--type", "http", "--selector", "app=web", "--selector", "version=v1", "--fail-strategy", "fail_open", "-o", out]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /imagePullPolicy Always has no effect/);
    const doc = parse(await readFile(out, "utf8"));
    assert.deepEqual(doc, {
      apiVersion: "extensions.istio.io/v1alpha1",
      kind: "WasmPlugin",
      metadata: { name: "hello", namespace: "demo" },
      spec: {
        selector: { matchLabels: { app: "web", version: "v1" } },
        url: "oci://ghcr.io/acme/hello:1.0",
        sha256: "e".repeat(64),
        imagePullPolicy: "Always",
        imagePullSecret: "regcred",
        phase: "AUTHZ",
        priority: -10,
        pluginName: "hello-root",
        failStrategy: "FAIL_OPEN",
        type: "HTTP",
        match: [{ mode: "SERVER", ports: [{ number: 8080 }, { number: 8443 }] }],
        vmConfig: { env: [{ name: "REGION", value: "eu=west" }, { name: "POD_NAME", valueFrom: "HOST" }] },
        pluginConfig: { rules: [{ prefix: "/admin", allow: false }] },
      },
    });
    assert.equal((await runPwas(["validate", "--strict", out])).code, 3); // the Always warning
    assert.equal((await runPwas(["validate", out])).code, 0);
  });

  test("--target-ref fills group from the kind; --phase unspecified leaves phase out", async () => {
    const { doc } = await generate("--url", "oci://a.io/b:1", "--target-ref", "Gateway/ingress", "--target-ref", "Service/reviews", "--phase", "unspecified");
    assert.deepEqual(doc!.spec.targetRefs, [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "ingress" }, { kind: "Service", name: "reviews" }]);
    assert.equal(doc!.spec.phase, undefined);
  });

  test(":latest without a policy is printed as a warning, and the YAML is still written", async () => {
    const { stderr, code } = await generate("--url", "oci://a.io/b:latest");
    assert.equal(code, 0);
    assert.match(stderr, /^pwas: warning: spec\.url uses the tag latest with no imagePullPolicy/m);
  });

  test("bad option values are one line with exit 2", async () => {
    for (const args of [["--phase", "PreAuthN"], ["--priority", "1.5"], ["--port", "70000"], ["--selector", "novalue"], ["--target-ref", "Gateway"], ["--pull-policy", "Never"]]) {
      const result = await spawnPwas(["wasmplugin", "--name", "x", "--url", "oci://a.io/b:1", ...args]);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, /^pwas: /);
    }
    const both = await generate("--url", "oci://a.io/b:1", "--selector", "a=b", "--target-ref", "Service/s");
    assert.equal(both.code, 2);
    const missingUrl = await spawnPwas(["wasmplugin", "--name", "x"]);
    assert.equal(missingUrl.code, 2);
    assert.match(missingUrl.stderr, /--url/);
  });

  test("a name Kubernetes rejects is exit 3 with the field path", async () => {
    const result = await runPwas(["wasmplugin", "--name", "Hello_World", "--url", "oci://a.io/b:1"]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /metadata\.name: must be a DNS subdomain/);
  });

  test("a config file that is not a mapping, or not YAML, is exit 3 and nothing is written", async () => {
    const dir = await tmp();
    const out = join(dir, "out.yaml");
    await writeFile(join(dir, "list.json"), "[1, 2]");
    await writeFile(join(dir, "broken.yaml"), "a: [1\n");
    const list = await runPwas(["wasmplugin", "--name", "x", "--url", "oci://a.io/b:1", "-c", join(dir, "list.json"), "-o", out]);
    assert.equal(list.code, 3);
    assert.match(list.stderr, /pluginConfig must be a mapping/);
    const broken = await runPwas(["wasmplugin", "--name", "x", "--url", "oci://a.io/b:1", "-c", join(dir, "broken.yaml"), "-o", out]);
    assert.equal(broken.code, 3);
    assert.match(broken.stderr, /broken\.yaml:\d+:\d+: malformed YAML/);
    const missing = await runPwas(["wasmplugin", "--name", "x", "--url", "oci://a.io/b:1", "-c", join(dir, "nope.json"), "-o", out]);
    assert.equal(missing.code, 2);
    assert.equal(existsSync(out), false);
  });
});
