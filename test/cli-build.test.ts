// pwas build: compiles with the asc API and the SDK's settings, verifies every module as
// `pwas verify` does, and writes nothing unless everything compiled and would load.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, runPwas, spawnPwas } from "./support/pwas-run.js";

/** A project made by pwas init, with node_modules linked to this checkout (no npm install). */
async function project(): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), "pwas-build-")), "plugin");
  const init = await runPwas(["init", dir]);
  assert.equal(init.code, 0, init.stderr);
  await mkdir(join(dir, "node_modules"));
  await symlink(REPO_ROOT, join(dir, "node_modules", "proxy-wasm-as"), "dir");
  await symlink(join(REPO_ROOT, "node_modules", "assemblyscript"), join(dir, "node_modules", "assemblyscript"), "dir");
  return dir;
}

describe("pwas build", () => {
  let built: string;
  before(async () => {
    built = await project();
  });

  test("the init template builds release and debug, both verified, both written", async () => {
    const result = await runPwas(["build", built]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /^release +\S*build\/plugin\.wasm +[\d.]+ KiB +ABI 0\.2\.1 +ok$/m);
    assert.match(result.stdout, /^debug +\S*build\/plugin\.debug\.wasm +[\d.]+ KiB +ABI 0\.2\.1 +ok$/m);
    assert.ok(existsSync(join(built, "build/plugin.wasm")));
    assert.ok(existsSync(join(built, "build/plugin.debug.wasm")));
    assert.equal((await runPwas(["verify", join(built, "build/plugin.wasm")])).code, 0);
  });

  test("a compile error: exit 1, the compiler's message, and the previous build left alone", async () => {
    const dir = await project();
    assert.equal((await runPwas(["build", dir, "--target", "release"])).code, 0);
    const before = await readFile(join(dir, "build/plugin.wasm"));
    const source = join(dir, "assembly/index.ts");
    await writeFile(source, (await readFile(source, "utf8")).replace("return FilterHeadersStatus.Continue;", "return 42 + \"x\";"));
    const result = await spawnPwas(["build", dir, "--target", "release"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ERROR/);
    assert.match(result.stderr, /^pwas: the release target does not compile/m);
    assert.deepEqual(await readFile(join(dir, "build/plugin.wasm")), before);
  });

  test("without the SDK's settings the module imports env.abort: exit 3 and nothing written", async () => {
    const dir = await project();
    await writeFile(join(dir, "asconfig.json"), JSON.stringify({ entries: ["assembly/index.ts"], targets: { release: { outFile: "build/plugin.wasm", runtime: "minimal" } } }));
    const result = await runPwas(["build", dir]);
    assert.equal(result.code, 3, result.stdout + result.stderr);
    assert.match(result.stdout, /FAIL {2}imports: Failed to load Wasm module due to a missing import: env\.abort/);
    assert.match(result.stdout, /warn {2}start section/);
    assert.match(result.stderr, /would not load in Envoy; nothing was written/);
    assert.equal(existsSync(join(dir, "build")), false);
  });

  test("no asconfig.json: assembly/index.ts is built with the SDK's settings into build/plugin.wasm", async () => {
    const dir = await project();
    await rm(join(dir, "asconfig.json"));
    const result = await runPwas(["build", dir, "--target", "release", "-v"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ok {4}instantiation/);
    assert.ok((await stat(join(dir, "build/plugin.wasm"))).size > 1000);
  });

  test("usage errors: no such directory, a target without outFile, a directory without a plugin", async () => {
    assert.equal((await runPwas(["build", "/nonexistent/plugin"])).code, 2);
    const noTarget = await runPwas(["build", built, "--target", "profile"]);
    assert.equal(noTarget.code, 2);
    assert.match(noTarget.stderr, /target "profile" has no outFile/);
    const empty = await mkdtemp(join(tmpdir(), "pwas-build-empty-"));
    const nothing = await runPwas(["build", empty]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /pwas init/);
  });
});
