// pwas coverage: line, branch and function coverage of a plugin's AssemblyScript sources,
// from the project's own tests. It builds each target as `pwas build` does (rewriting
// outputs only when they changed) and a counting copy beside it, runs the test command with
// PWAS_COVERAGE set (the mock host then runs the counting copy of any module it recognises),
// and reports with istanbul: a text table and lcov by default.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { CliError, ExitCode } from "../errors.js";
import { writeFileAtomic } from "../oci/atomic-fs.js";
import { buildTarget } from "../compiler/compile.js";
import { openProject, selectTargets } from "../compiler/plugin-project.js";
import CoverageTransform from "../coverage/transform.js";
import { coverageMapOf, writeReports } from "../coverage/report.js";
import { COVERAGE_DIR_ENV, moduleDigest, readBuildMaps, readHits, writeFileSyncAtomic, type CoverageManifest } from "../../runtime-mock/wasm/coverage-files.js";

interface CoverageFlags {
  command: string;
  reporter: string[];
  reportDir: string;
  target?: string[];
  config?: string;
}

const REPORTERS = ["clover", "cobertura", "html", "html-spa", "json", "json-summary", "lcov", "lcovonly", "none", "teamcity", "text", "text-lcov", "text-summary"];

export function register(program: Command): void {
  program
    .command("coverage")
    .description("Run a plugin's tests and report line, branch and function coverage of its AssemblyScript sources.")
    .argument("[dirs...]", "plugin projects (with asconfig.json, or assembly/index.ts)", ["."])
    .option("-c, --command <shell command>", "the test command to run", "npm test")
    .option("-r, --reporter <name...>", `istanbul reporters (${REPORTERS.join(", ")})`, ["text", "lcov"])
    .option("--report-dir <dir>", "where file reports (lcov.info, html) go", "coverage")
    .option("-t, --target <name...>", "asconfig targets to build (default: release, and debug if it has an outFile)")
    .option("--config <file>", "asconfig file, relative to each project (default asconfig.json)")
    .addHelpText("after", `
Tests load the modules as usual (build/release.wasm, build/debug.wasm): while the command
runs, the mock host recognises those builds by content and runs a counting copy instead.
as-pect specs are counted too when the as-pect asconfig lists the transform
"proxy-wasm-as/coverage-transform" (see the README).

Counted: statements, functions, and branch arms of if/else (an if without else has two arms),
?: and switch cases; lines follow from statements, as in istanbul. && and || operands are not
branches here.

Exit codes: 0 tests passed, 1 tests failed or loaded no counted module, 2 usage.`)
    .action(async (dirs: string[], flags: CoverageFlags) => {
      const unknown = flags.reporter.filter((r) => !REPORTERS.includes(r));
      if (unknown.length > 0) throw new CliError(`unknown reporter ${unknown.join(", ")}`, ExitCode.Usage, `Use one of: ${REPORTERS.join(", ")}.`);
      const work = mkdtempSync(join(tmpdir(), "pwas-coverage-"));
      try {
        const manifest = await buildCounted(dirs, flags, work);
        const code = await runTests(flags.command, work);
        const maps = readBuildMaps(work);
        const hits = readHits(work);
        if (hits.size === 0) {
          throw new CliError(
            `no test loaded a counted module (${Object.keys(manifest.modules).length} built), so there is no coverage to report`,
            ExitCode.Failure,
            `Check that \`${flags.command}\` runs the tests and that they load the modules the build writes (e.g. build/release.wasm).`,
          );
        }
        writeReports(coverageMapOf(maps, hits), { reporters: flags.reporter, dir: resolve(flags.reportDir) });
        if (code !== 0) throw new CliError(`the tests failed (\`${flags.command}\` exited ${code}); the coverage above is of what ran`, ExitCode.Failure);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
}

/** Builds every target of every project, and its counting copy; returns the manifest the host reads. */
async function buildCounted(dirs: string[], flags: CoverageFlags, work: string): Promise<CoverageManifest> {
  const manifest: CoverageManifest = { modules: {} };
  for (const dir of dirs) {
    const project = openProject(dir, flags.config);
    for (const target of await selectTargets(project, flags.target)) {
      const args = project.configArgs(target.target);
      const built = await buildTarget(project.dir, args, target);
      for (const file of built.files) {
        // As pwas build writes it, but only what changed: the tests' own build step may have written it already.
        if (!existsSync(file.path) || !readFileSync(file.path).equals(file.contents)) await writeFileAtomic(file.path, file.contents);
      }
      const transform = new CoverageTransform({ outDir: work, baseDir: project.dir });
      const counted = await buildTarget(project.dir, args, target, [transform]);
      if (!transform.map) continue; // no source of the project's own (all in packages)
      for (const module of built.files.filter((f) => f.path.endsWith(".wasm"))) {
        const copy = counted.files.find((f) => f.path === module.path);
        const map = counted.files.find((f) => f.path === `${module.path}.map`);
        if (!copy) continue;
        const name = `builds/${transform.map.buildId}-${target.target}-${Object.keys(manifest.modules).length}.wasm`;
        writeFileSyncAtomic(join(work, name), copy.contents);
        if (map) writeFileSyncAtomic(join(work, `${name}.map`), map.contents);
        manifest.modules[moduleDigest(module.contents)] = { module: name };
        process.stderr.write(`counting ${relative(process.cwd(), module.path) || module.path}\n`);
      }
    }
  }
  writeFileSyncAtomic(join(work, "manifest.json"), JSON.stringify(manifest));
  return manifest;
}

/** Runs the test command in a shell with the coverage folder in the environment; resolves its exit code. */
function runTests(command: string, work: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    // The tests are a run of their own, even when pwas itself runs under node --test.
    const { NODE_TEST_CONTEXT: _parentRun, ...env } = process.env;
    const child = spawn(command, { shell: true, stdio: "inherit", env: { ...env, [COVERAGE_DIR_ENV]: work } });
    child.on("error", (error) => reject(new CliError(`cannot run \`${command}\`: ${error.message}`, ExitCode.Failure)));
    child.on("exit", (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}
