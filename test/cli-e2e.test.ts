// From source to a WasmPlugin, as a user does it, in a fresh directory: pwas init (the SDK
// packed from this checkout), npm install, npm test (pwas build + the mock-host tests),
// then the installed pwas packages the module, pushes it to a real registry, writes the
// WasmPlugin with the digest resolved from the registry, and validates it; a pull of the
// image must compute the same sha256 and give back the same module.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { checkoutTarball } from "./support/checkout-package.js";
import { runPwas } from "./support/pwas-run.js";
import { registryUnreachable, runChild } from "./support/child-run.js";
import { startRegistry, type RunningRegistry } from "./support/registry.js";

const run = runChild;
/** This checkout's TypeScript: the scaffold does not depend on it, an editor brings its own. */
const REPO_TSC = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));

let registry: RunningRegistry;
before(async () => {
  registry = await startRegistry();
});
after(async () => {
  await registry?.stop();
});

test("init → npm install → npm test → package → push → wasmplugin → validate; the sha256 matches a pull", { timeout: 15 * 60_000 }, async (t) => {
  const tarball = await checkoutTarball();
  const dir = join(await mkdtemp(join(tmpdir(), "pwas-e2e-")), "hello-filter");

  const init = await runPwas(["init", dir, "--from", tarball]);
  assert.equal(init.code, 0, init.stderr);

  const install = await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], dir);
  if (install.code !== 0 && registryUnreachable(install.output)) {
    t.skip(`the npm registry is unreachable, so the project's dependencies cannot be installed:\n${install.output.slice(-500)}`);
    return;
  }
  assert.equal(install.code, 0, install.output);

  // The editor's type-check of the scaffold (its assembly/tsconfig.json) finds nothing in the SDK.
  const typecheck = await run(process.execPath, [REPO_TSC, "-p", join(dir, "assembly"), "--noEmit"], dir);
  assert.equal(typecheck.code, 0, `tsc -p assembly --noEmit on a fresh scaffold:\n${typecheck.output}`);

  const npmTest = await run("npm", ["test"], dir);
  assert.equal(npmTest.code, 0, npmTest.output);
  assert.match(npmTest.output, /release +build\/plugin\.wasm .* ok/);
  assert.match(npmTest.output, /# pass 5/);
  // Source maps beside both modules: failure reports name the plugin's lines.
  for (const map of ["build/plugin.wasm.map", "build/plugin.debug.wasm.map"]) assert.ok(existsSync(join(dir, map)), `${map} is written`);

  const coverage = await run("npm", ["run", "coverage"], dir);
  assert.equal(coverage.code, 0, coverage.output);
  assert.match(coverage.output, /# pass 5/, "the coverage run ran the tests");
  assert.match(coverage.output, /index\.ts\s*\|\s*\d+(\.\d+)?\s*\|/, coverage.output);
  assert.match(await readFile(join(dir, "coverage", "lcov.info"), "utf8"), /^SF:.*assembly\/index\.ts$/m);

  // From here on, the pwas the project installed (dist/cli.js of the packed SDK).
  const pwas = (...args: string[]) => run(join(dir, "node_modules", ".bin", "pwas"), args, dir);
  const image = `${registry.host}/demo/hello-filter:0.1.0`;

  // The installed CLI finds its templates inside the package too.
  const again = await pwas("init", join(dir, "..", "second"), "--name", "second");
  assert.equal(again.code, 0, again.output);
  assert.match(await readFile(join(dir, "..", "second", "assembly", "index.ts"), "utf8"), /registerRootContext\(.*"second"\)/);

  const packaged = await pwas("package", "build/plugin.wasm", "--layout", "out/image", "--tag", "0.1.0", "--root-id", "hello-filter");
  assert.equal(packaged.code, 0, packaged.output);
  const pushed = await pwas("push", "out/image", `oci://${image}`);
  assert.equal(pushed.code, 0, pushed.output);

  // A bare host:port reference: pwas writes it with oci://, which Istio needs.
  const generated = await pwas("wasmplugin", "--name", "hello-filter", "--namespace", "demo", "--url", image, "--resolve", "--image", "out/image",
    "--plugin-name", "hello-filter", "--phase", "STATS", "--config", "config.json", "--selector", "app=web", "-o", "wasmplugin.yaml");
  assert.equal(generated.code, 0, generated.output);
  const validated = await pwas("validate", "--strict", "wasmplugin.yaml");
  assert.equal(validated.code, 0, validated.output);

  const wasmPlugin = parse(await readFile(join(dir, "wasmplugin.yaml"), "utf8")) as { spec: Record<string, unknown> };
  assert.equal(wasmPlugin.spec.url, `oci://${image}`);
  assert.deepEqual(wasmPlugin.spec.pluginConfig, JSON.parse(await readFile(join(dir, "config.json"), "utf8")));

  const pulled = await pwas("pull", `oci://${image}`, "--output", "pulled.wasm", "--json");
  assert.equal(pulled.code, 0, pulled.output);
  const pull = JSON.parse(pulled.stdout) as { sha256: string; accepted: boolean };
  assert.equal(pull.accepted, true);
  assert.equal(wasmPlugin.spec.sha256, pull.sha256);
  assert.deepEqual(await readFile(join(dir, "pulled.wasm")), await readFile(join(dir, "build", "plugin.wasm")));

  const verified = await pwas("verify", `oci://${image}`);
  assert.equal(verified.code, 0, verified.output);
  assert.match(verified.stdout, new RegExp(`WasmPlugin spec\\.sha256 for an oci:// url: ${pull.sha256}`));
});
