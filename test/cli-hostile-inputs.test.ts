// The CLI trusts nothing it did not verify (issue 15): a registry that sends more than a
// descriptor declares, a layer that inflates like a bomb, YAML built to exhaust or confuse
// the parser, text in the wrong encoding, and a pull killed halfway. Each gets a clear error
// (exit code and hint), bounded work, and no half-written file.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { field, pwas, REPO_ROOT, testModule } from "./support/oci-cli.js";
import { startProxy } from "./support/oci-proxy.js";
import { startRegistry, type RunningRegistry } from "./support/registry.js";

const tmp = () => mkdtemp(join(tmpdir(), "pwas-hostile-"));

async function packaged(dir: string, module: Uint8Array, name: string): Promise<string> {
  await writeFile(join(dir, `${name}.wasm`), module);
  const layout = join(dir, `${name}-layout`);
  const r = await pwas(["package", join(dir, `${name}.wasm`), "--layout", layout, "--tag", "v1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(field(r.stdout, "manifest digest:"));
  return layout;
}

/** A module padded with a custom section of `bytes` zeros: it compresses to almost nothing. */
function paddedModule(bytes: number): Uint8Array {
  const base = testModule("bomb");
  const name = new TextEncoder().encode("pad");
  const payloadLength = 1 + name.length + bytes;
  const leb: number[] = [];
  for (let v = payloadLength; ; ) {
    const b = v & 0x7f;
    v = Math.floor(v / 128);
    leb.push(v ? b | 0x80 : b);
    if (!v) break;
  }
  const out = new Uint8Array(base.length + 1 + leb.length + payloadLength);
  out.set(base);
  out.set([0, ...leb, name.length, ...name], base.length);
  return out;
}

describe("a hostile registry", () => {
  let registry: RunningRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry.stop());

  test("a blob larger than its descriptor says: pull stops reading at the declared size, exit 6, writes nothing", async () => {
    const dir = await tmp();
    const layout = await packaged(dir, testModule("oversize"), "oversize");
    assert.equal((await pwas(["push", layout, `${registry.host}/plugins/oversize:v1`])).code, 0);
    const hostile = await startProxy(registry.host, { oversizeBlobs: 512 * 1024 * 1024 });
    try {
      const out = join(dir, "pulled.wasm");
      const r = await pwas(["pull", `${hostile.host}/plugins/oversize:v1`, "--output", out, "--insecure"]);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /blob sha256:[0-9a-f]{64} from .*: the registry sends more, more than the \d+ bytes expected/);
      assert.match(r.stderr, /hint: .*do not use this image/);
      assert.ok(hostile.junkBytesSent() < 32 * 1024 * 1024, `stopped early: ${hostile.junkBytesSent()} bytes were sent of 512 MiB`);
      assert.equal(existsSync(out), false);
    } finally {
      await hostile.stop();
    }
  });

  test("a pull killed mid-download leaves no module where serve or Envoy would load it", async () => {
    const dir = await tmp();
    const layout = await packaged(dir, testModule("killed"), "killed");
    assert.equal((await pwas(["push", layout, `${registry.host}/plugins/killed:v1`])).code, 0);
    // The hostile proxy keeps sending: the pull is still downloading when it is killed.
    const slow = await startProxy(registry.host, { oversizeBlobs: 4 * 1024 * 1024 * 1024 });
    try {
      const out = join(dir, "out", "plugin.wasm");
      const child = spawn(process.execPath, ["--import", "tsx", "cli/index.ts", "pull", `${slow.host}/plugins/killed:v1`, "--output", out, "--insecure"], { cwd: REPO_ROOT, stdio: "ignore" });
      while (slow.junkBytesSent() === 0) await new Promise((r) => setTimeout(r, 20));
      child.kill("SIGKILL");
      await new Promise((r) => child.on("exit", r));
      assert.equal(existsSync(out), false);
      if (existsSync(join(dir, "out"))) assert.deepEqual((await readdir(join(dir, "out"))).filter((f) => f.endsWith(".wasm")), []);
    } finally {
      await slow.stop();
    }
  });
});

describe("a layer that inflates like a bomb", () => {
  test("decompression stops at the module limit and says too large (not 'name the module plugin.wasm')", async () => {
    const dir = await tmp();
    const layout = await packaged(dir, paddedModule(8 * 1024 * 1024), "bomb");
    const r = await pwas(["verify", layout, "--max-size", "1Mi"]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const text = r.stdout + r.stderr;
    assert.match(text, /layer sha256:[0-9a-f]{64} is too large: it decompresses to more than \d+ bytes: larger than any module istio-agent accepts \(1048576 bytes/);
    assert.doesNotMatch(text, /plugin\.wasm not found|name the module/);
  });
});

describe("YAML built to exhaust or confuse", () => {
  const validate = async (name: string, content: string | Uint8Array) => {
    const dir = await tmp();
    const file = join(dir, name);
    await writeFile(file, content);
    return pwas(["validate", file]);
  };
  const plugin = (spec: string) => `apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: p\n  namespace: istio-system\nspec:\n${spec}`;

  test("an alias bomb, and 150 harmless aliases: exit 3 with a hint, not an unexpected error", async () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${"bcdefghi"[i]}: &${"bcdefghi"[i]} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(", ")}]`)].join("\n");
    const many = `base: &v 1\nlist:\n${Array.from({ length: 150 }, () => "  - *v").join("\n")}\n`;
    for (const [name, text] of [["bomb.yaml", bomb], ["many.yaml", many]]) {
      const r = await validate(name, text);
      assert.equal(r.code, 3, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /uses YAML aliases more than 100 times/);
      assert.match(r.stderr, /hint: Write the values out instead of \*aliases/);
      assert.doesNotMatch(r.stderr, /unexpected error|ReferenceError/);
    }
  });

  test("a __proto__ key is an unknown field with a real hint", async () => {
    const r = await validate("proto.yaml", plugin("  url: oci://ghcr.io/acme/p:v1\n  __proto__: {polluted: true}\n"));
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const text = r.stdout + r.stderr;
    assert.match(text, /spec\.__proto__.*unknown field/);
    assert.doesNotMatch(text, /\[object Object\]/);
  });

  test("invalid UTF-8 is refused with the byte offset; UTF-16 with a byte order mark is read", async () => {
    const valid = plugin("  url: oci://ghcr.io/acme/p:v1\n");
    const bad = Buffer.concat([Buffer.from(valid.replace("name: p", "name: p\u00e9")).subarray(0, 60), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from("\n")]);
    const r = await validate("latin.yaml", bad);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /latin\.yaml: not valid UTF-8 \(byte 60\)/);
    assert.match(r.stderr, /hint: Save the file as UTF-8/);

    for (const [encoding, bom] of [["utf16le", [0xff, 0xfe]], ["utf16be", [0xfe, 0xff]]] as const) {
      let body = Buffer.from(valid, "utf16le");
      if (encoding === "utf16be") body = Buffer.from(body).swap16();
      const ok = await validate(`${encoding}.yaml`, Buffer.concat([Buffer.from(bom), body]));
      assert.equal(ok.code, 0, `${encoding}: ${ok.stdout}${ok.stderr}`);
    }
  });
});
