// pwas init: the files of a new plugin project, where its SDK comes from, and directories
// it must not touch. (Building the template: cli-build.test.ts; npm install && npm test in
// it: cli-e2e.test.ts.)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { renderTemplates, substitute } from "../cli/init/templates.js";
import { runningPackageOrigin } from "../cli/init/sdk-dependency.js";
import { runPwas, spawnPwas } from "./support/pwas-run.js";

const tmp = () => mkdtemp(join(tmpdir(), "pwas-init-test-"));
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
/** init's staging directory: ".<name>.pwas-init-<pid>-<random>" next to the target. */
const isStaging = (name: string) => name.startsWith(".") && name.includes(".pwas-init-");
const EXPECTED_FILES = [".gitignore", "README.md", "asconfig.json", "assembly/index.ts", "assembly/tsconfig.json", "config.json", "package.json", "test/plugin.test.ts", "wasmplugin.yaml"];

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(join(dir, entry.name), path)));
    else out.push(path);
  }
  return out.sort();
}

describe("pwas init", () => {
  test("creates the project: every file rendered, scripts, asconfig extending the SDK's, a valid WasmPlugin", async () => {
    const dir = join(await tmp(), "hello-filter");
    const result = await runPwas(["init", dir]);
    assert.equal(result.code, 0, result.stderr);
    // Run from this checkout, pwas packs this same checkout for the project (it is not published).
    assert.match(result.stdout, /with proxy-wasm-as from proxy-wasm-as-\d+\.\d+\.\d+\.tgz \(packed from .* into vendor\/\): the checkout this pwas runs from \(--from takes another\)/);
    assert.deepEqual(await listFiles(dir), [...EXPECTED_FILES, `vendor/proxy-wasm-as-${VERSION}.tgz`].sort());
    for (const file of EXPECTED_FILES) assert.doesNotMatch(await readFile(join(dir, file), "utf8"), /\{\{/, file);
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    assert.equal(pkg.name, "hello-filter");
    assert.equal(pkg.type, "module");
    assert.equal(pkg.scripts.build, "pwas build");
    assert.match(pkg.scripts.test, /node --import tsx --test/);
    assert.deepEqual(Object.keys(pkg.devDependencies).sort(), ["assemblyscript", "proxy-wasm-as", "tsx"]);
    assert.equal(pkg.devDependencies["proxy-wasm-as"], `file:vendor/proxy-wasm-as-${VERSION}.tgz`);
    assert.equal(JSON.parse(await readFile(join(dir, "asconfig.json"), "utf8")).extends, "./node_modules/proxy-wasm-as/asconfig.json");
    assert.match(await readFile(join(dir, "assembly/index.ts"), "utf8"), /registerRootContext\(.*"hello-filter"\)/);
    assert.match(await readFile(join(dir, "test/plugin.test.ts"), "utf8"), /from "proxy-wasm-as"/);
    const validate = await runPwas(["validate", "--strict", join(dir, "wasmplugin.yaml")]);
    assert.equal(validate.code, 0, validate.stdout);
    assert.match(result.stdout, /next:\n {2}cd .*\n {2}npm install\n {2}npm test/);
    assert.deepEqual((await readdir(dirname(dir))).filter(isStaging), []); // no staging left over
  });

  test("--name, --root-id and a scoped name: the WasmPlugin gets a DNS name", async () => {
    const dir = join(await tmp(), "x");
    const result = await runPwas(["init", dir, "--name", "@acme/Auth.Filter".toLowerCase(), "--root-id", "auth_root"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(await readFile(join(dir, "package.json"), "utf8")).name, "@acme/auth.filter");
    const yaml = await readFile(join(dir, "wasmplugin.yaml"), "utf8");
    assert.match(yaml, /^ {2}name: auth-filter$/m);
    assert.match(yaml, /^ {2}pluginName: auth_root$/m);
    assert.match(await readFile(join(dir, "assembly/index.ts"), "utf8"), /"auth_root"\);/);
  });

  test("a non-empty directory is refused (exit 2) and left exactly as it was", async () => {
    const dir = await tmp();
    await writeFile(join(dir, "notes.txt"), "mine");
    const result = await spawnPwas(["init", dir]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr.split("\n")[0], `pwas: ${dir} is not empty`);
    assert.match(result.stderr, /^hint: .*--force/m);
    assert.deepEqual(await readdir(dir), ["notes.txt"]);
    assert.deepEqual((await readdir(dirname(dir))).filter(isStaging), []);
  });

  test("--force writes the template into a non-empty directory and keeps other files", async () => {
    const dir = await tmp();
    await writeFile(join(dir, "notes.txt"), "mine");
    await mkdir(join(dir, "assembly"));
    await writeFile(join(dir, "assembly", "helper.ts"), "export const x = 1;");
    const result = await runPwas(["init", dir, "--name", "forced", "--force"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(join(dir, "notes.txt"), "utf8"), "mine");
    assert.ok(existsSync(join(dir, "assembly", "helper.ts")));
    assert.ok(existsSync(join(dir, "assembly", "index.ts")));
  });

  test("a directory name npm rejects needs --name; a file in the way is refused", async () => {
    const parent = await tmp();
    const bad = await runPwas(["init", join(parent, "Hello Filter")]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a valid npm package name/);
    assert.equal(existsSync(join(parent, "Hello Filter")), false);
    await writeFile(join(parent, "file"), "");
    assert.equal((await runPwas(["init", join(parent, "file")])).code, 2);
  });

  test("--install without npm on the PATH: exit 1, and the project stays created", async () => {
    const dir = join(await tmp(), "p");
    // A tarball, so that no npm pack is needed before npm install is.
    const tarball = join(dirname(dir), "proxy-wasm-as-0.0.1.tgz");
    await writeFile(tarball, "not really a tarball");
    const path = process.env.PATH;
    process.env.PATH = join(dir, "no-bin-here");
    let result;
    try {
      result = await runPwas(["init", dir, "--install", "--from", tarball]);
    } finally {
      process.env.PATH = path;
    }
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^pwas: cannot run npm/);
    assert.ok(existsSync(join(dir, "package.json")));
  });

  describe("--from", () => {
    test("a tarball is copied into vendor/ and depended on as file:vendor/…", async () => {
      const parent = await tmp();
      const tarball = join(parent, "proxy-wasm-as-9.9.9.tgz");
      await writeFile(tarball, "not really a tarball, but init only copies it");
      const dir = join(parent, "p");
      const result = await runPwas(["init", dir, "--from", tarball]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(await readFile(join(dir, "package.json"), "utf8")).devDependencies["proxy-wasm-as"], "file:vendor/proxy-wasm-as-9.9.9.tgz");
      assert.ok(existsSync(join(dir, "vendor", "proxy-wasm-as-9.9.9.tgz")));
    });

    test("a checkout is packed with npm pack into vendor/", async () => {
      const parent = await tmp();
      const checkout = join(parent, "checkout");
      await mkdir(join(checkout, "dist"), { recursive: true });
      await writeFile(join(checkout, "package.json"), JSON.stringify({ name: "proxy-wasm-as", version: "0.0.7", files: ["dist"] }));
      await writeFile(join(checkout, "dist", "index.js"), "export {};\n");
      await writeFile(join(checkout, "dist", "cli.js"), "export {};\n");
      const dir = join(parent, "p");
      const result = await runPwas(["init", dir, "--from", checkout]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(await readFile(join(dir, "package.json"), "utf8")).devDependencies["proxy-wasm-as"], "file:vendor/proxy-wasm-as-0.0.7.tgz");
      assert.ok(existsSync(join(dir, "vendor", "proxy-wasm-as-0.0.7.tgz")));
      assert.deepEqual((await readdir(checkout)).sort(), ["dist", "package.json"]); // nothing written into the checkout
    });

    test("a missing path, another package, or a checkout without dist/ is exit 2 and creates nothing", async () => {
      const parent = await tmp();
      const other = join(parent, "other");
      await mkdir(other);
      await writeFile(join(other, "package.json"), JSON.stringify({ name: "left-pad" }));
      const unbuilt = join(parent, "unbuilt");
      await mkdir(unbuilt);
      await writeFile(join(unbuilt, "package.json"), JSON.stringify({ name: "proxy-wasm-as" }));
      for (const [from, message] of [[join(parent, "nope"), /no such file/], [other, /is left-pad, not proxy-wasm-as/], [unbuilt, /npm run build:host/]] as const) {
        const result = await runPwas(["init", join(parent, "p"), "--from", from]);
        assert.equal(result.code, 2, from);
        assert.match(result.stderr, message);
        assert.equal(existsSync(join(parent, "p")), false);
      }
      assert.deepEqual((await readdir(parent)).filter(isStaging), []);
    });
  });
});

describe("templates", () => {
  test("every placeholder is provided; an unknown one is a bug reported by name", async () => {
    const files = await renderTemplates({ packageName: "p", k8sName: "p", rootId: "r", sdkDependency: "^1", assemblyscriptVersion: "^0.27", tsxVersion: "^4" });
    assert.ok(files.every((f) => !/\{\{\w+\}\}/.test(f.contents)));
    assert.throws(() => substitute("{{nope}}", {}, "x.tmpl"), /template x\.tmpl uses \{\{nope\}\}/);
  });
});

describe("where pwas init's default SDK comes from", () => {
  test("a checkout packs itself; an install from a tarball packs its folder; the registry only when npm resolved it there", async () => {
    const root = await tmp();
    assert.equal(runningPackageOrigin(join(root, "proxy-wasm-as")), "checkout");
    const installed = join(root, "project", "node_modules", "proxy-wasm-as");
    await mkdir(installed, { recursive: true });
    assert.equal(runningPackageOrigin(installed), "registry", "no lockfile to say otherwise");
    const lock = (resolved: string) =>
      writeFile(join(root, "project", "node_modules", ".package-lock.json"), JSON.stringify({ packages: { "node_modules/proxy-wasm-as": { version: "0.1.0", resolved } } }));
    await lock("file:vendor/proxy-wasm-as-0.1.0.tgz");
    assert.equal(runningPackageOrigin(installed), "tarball");
    await lock("https://registry.npmjs.org/proxy-wasm-as/-/proxy-wasm-as-0.1.0.tgz");
    assert.equal(runningPackageOrigin(installed), "registry");
  });
});
