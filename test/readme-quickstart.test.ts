// The README's Quickstart, run as a new user runs it, from a fresh folder: every file it
// shows is written as shown and every command runs as shown (the package from this
// checkout, packed). Each step must show that tests really ran, so a Quickstart command
// that runs no test (as `node --test test/` did on Node 20) cannot pass again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkoutTarball, REPO_ROOT } from "./support/checkout-package.js";
import { registryUnreachable, runChild } from "./support/child-run.js";

type Step = { kind: "run"; lines: string[] } | { kind: "file"; path: string; text: string };

/** The Quickstart's steps, in order: fenced blocks after `<!-- quickstart:run -->` or `<!-- quickstart:file <path> -->`. */
export function quickstartSteps(readme: string): Step[] {
  const steps: Step[] = [];
  const marker = /<!-- quickstart:(run|file) ?([^\s]*) -->\n```[a-z]*\n([\s\S]*?)```/g;
  for (const [, kind, path, body] of readme.matchAll(marker)) {
    if (kind === "file") steps.push({ kind: "file", path: path!, text: body! });
    else steps.push({ kind: "run", lines: body!.split("\n").filter((l) => l.trim() !== "") });
  }
  return steps;
}

test("the README Quickstart, from a fresh folder: build, test and coverage all run the plugin's test", { timeout: 10 * 60_000 }, async (t) => {
  const steps = quickstartSteps(readFileSync(join(REPO_ROOT, "README.md"), "utf8"));
  assert.deepEqual(steps.map((s) => (s.kind === "file" ? s.path : "run")), ["run", "assembly/index.ts", "asconfig.json", "run", "test/plugin.test.ts", "run"], "the Quickstart's blocks are all marked");
  const tarball = await checkoutTarball();
  const root = await mkdtemp(join(tmpdir(), "pwas-quickstart-"));
  // The first command creates the project folder and enters it; the others run inside it.
  let cwd = root;
  for (const step of steps) {
    if (step.kind === "file") {
      await runChild("mkdir", ["-p", join(cwd, step.path, "..")], cwd);
      await writeFile(join(cwd, step.path), step.text);
      continue;
    }
    for (const line of step.lines) {
      const command = line.replace("/path/to/proxy-wasm-as-0.1.0.tgz", tarball);
      const enters = /^mkdir (\S+) && cd \1 && (.*)$/.exec(command);
      if (enters) {
        await runChild("mkdir", [enters[1]!], cwd);
        cwd = join(cwd, enters[1]!);
      }
      const result = await runChild("bash", ["-c", enters ? enters[2]! : command], cwd, { npm_config_prefer_offline: "true", npm_config_audit: "false", npm_config_fund: "false" });
      if (result.code !== 0 && command.startsWith("npm install") && registryUnreachable(result.output)) {
        t.skip(`the npm registry is unreachable, so the Quickstart's dependencies cannot be installed:\n${result.output.slice(-500)}`);
        return;
      }
      assert.equal(result.code, 0, `\`${line}\` failed:\n${result.output}`);
      if (command.startsWith("npx pwas build")) {
        assert.match(result.output, /release +build\/plugin\.wasm .* ok/);
        for (const map of ["build/plugin.wasm.map", "build/plugin.debug.wasm.map"]) assert.ok(existsSync(join(cwd, map)), `${map} is written beside the module`);
      }
      if (command.startsWith("node --import tsx --test")) assert.match(result.output, /# tests 1\n# suites 0\n# pass 1\n/, `the plugin's test ran:\n${result.output}`);
      if (command.startsWith("npx pwas coverage")) {
        assert.match(result.output, /# pass 1/, `the coverage run ran the test:\n${result.output}`);
        // The 204 branch is not tested: 1 of its 2 arms; every function ran.
        assert.match(result.output, /index\.ts\s*\|\s*[\d.]+\s*\|\s*50\s*\|\s*100\s*\|/, result.output);
      }
    }
  }
  assert.ok(existsSync(join(cwd, "coverage", "lcov.info")), "lcov is written to coverage/");
});
