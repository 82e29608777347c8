// What `npm pack` ships: what a consumer uses (the SDK's AssemblyScript, dist/ with types
// and source maps for import and require, the as-pect helpers, pwas init's templates) and
// nothing else; and no script that would run when the tarball is installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { REPO_ROOT } from "./support/pwas-run.js";

test("npm pack --dry-run lists the files a consumer uses, and only those", () => {
  const [packed] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })) as { files: { path: string }[] }[];
  const files = packed!.files.map((f) => f.path).sort();
  for (const needed of [
    "package.json", "README.md", "asconfig.json",
    "dist/index.js", "dist/index.js.map", "dist/index.d.ts", "dist/index.cjs", "dist/index.cjs.map", "dist/cli.js", "dist/coverage-transform.js",
    "assembly/index.ts", "assembly/exports.ts", "assembly/exports-http.ts", "assembly/testing/host.ts", "assembly/testing/callouts.ts",
    "aspect/host.mjs", "cli/templates/plugin/package.json.tmpl",
  ]) {
    assert.ok(files.includes(needed), `${needed} is shipped`);
  }
  const unwanted = files.filter((f) => /^(runtime-mock|test|bench|scripts|examples)\//.test(f) || f.startsWith("assembly/__tests__/") || (f.startsWith("cli/") && !f.startsWith("cli/templates/")));
  assert.deepEqual(unwanted, [], "the host's and the CLI's TypeScript sources, tests and examples stay out (dist/ has them built)");
  for (const file of files) {
    assert.ok(/^(dist|assembly|aspect|cli\/templates)\/|^(package\.json|README\.md|asconfig\.json|LICENSE)$/.test(file), `${file} is something a consumer uses`);
  }
});

test("installing the package runs no script of ours", () => {
  const { scripts } = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, "utf8")) as { scripts: Record<string, string> };
  for (const hook of ["preinstall", "install", "postinstall", "prepare"]) assert.equal(scripts[hook], undefined, `no ${hook} script (npm runs it in every consumer and clone)`);
  assert.ok(scripts.prepack, "dist/ is built when the tarball is packed");
});
