// pwas build: compiles a plugin (release and debug targets) with the asc API, then runs
// the checks of `pwas verify` on every module. Outputs are written, atomically, only when
// everything compiled and every module would load in Envoy.
import { relative } from "node:path";
import { jsonResult } from "../json-output.js";
import type { Command } from "commander";
import { CliError, ExitCode } from "../errors.js";
import { writeFileAtomic } from "../oci/atomic-fs.js";
import { buildTarget, type CompiledFile } from "../compiler/compile.js";
import { openProject, selectTargets } from "../compiler/plugin-project.js";
import { checkModule, formatBytes, hasFailures, type ModuleReport } from "../module/checks.js";
import { DEFAULT_MAX_MODULE_BYTES } from "../module/unwrap.js";
import { parseByteSize } from "../option-parsers.js";
import { countStatuses, plural, renderChecks } from "../verify/render.js";

interface BuildFlags {
  target?: string[];
  config?: string;
  maxSize: number;
  instantiate: boolean;
  verbose?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("build")
    .description("Compile a plugin (release and debug targets) and check that Envoy would load the result.")
    .argument("[dir]", "the plugin project (with asconfig.json, or assembly/index.ts)", ".")
    .option("-t, --target <name...>", "asconfig targets to build (default: release, and debug if it has an outFile)")
    .option("--config <file>", "asconfig file, relative to the project (default asconfig.json)")
    .option("--max-size <bytes>", "Istio's ISTIO_WASM_MAX_BINARY_SIZE_BYTES (e.g. 256Mi)", parseByteSize, DEFAULT_MAX_MODULE_BYTES)
    .option("--no-instantiate", "skip instantiating the modules in the mock host")
    .option("-v, --verbose", "list every check, not only warnings and failures")
    .option("--json", "print the result as JSON (see the README: one shape for every command)")
    .addHelpText("after", `
The project's asconfig.json should extend node_modules/proxy-wasm-as/asconfig.json, which holds
the settings a real host needs (the SDK's runtime, --exportStart _initialize, abort/trace/seed
redirected to the SDK). Without asconfig.json, pwas builds assembly/index.ts with those settings
into build/plugin.wasm and build/plugin.debug.wasm.

Each module then gets the checks of \`pwas verify\`: wasm magic, ABI marker, imports Envoy
provides, exports (memory, allocator, signatures), start section, size, instantiation.

Exit codes: 0 built, 1 does not compile, 2 usage (no such directory or target), 3 a module
Envoy would not load. Nothing is written unless every target compiled and passed.`)
    .action(async (dir: string, flags: BuildFlags) => {
      const project = openProject(dir, flags.config);
      const targets = await selectTargets(project, flags.target);
      const files: CompiledFile[] = [];
      const reports: { target: string; report: ModuleReport }[] = [];
      for (const target of targets) {
        const result = await buildTarget(project.dir, project.configArgs(target.target), target);
        if (result.diagnostics.trim()) process.stderr.write(result.diagnostics);
        const built = result.files;
        files.push(...built);
        for (const file of built.filter((f) => f.path.endsWith(".wasm"))) {
          const report = await checkModule(file.contents, { source: display(file.path), unwrap: false, maxBytes: flags.maxSize, instantiate: flags.instantiate });
          reports.push({ target: target.target, report });
        }
      }
      if (reports.length === 0) throw new CliError("the build produced no .wasm file", ExitCode.Usage, "Set targets.<name>.outFile in asconfig.json.");

      for (const { target, report } of flags.json ? [] : reports) {
        const { failures, warnings } = countStatuses(report.checks);
        const status = failures > 0 ? `FAILED (${plural(failures, "failure")})` : warnings > 0 ? `ok (${plural(warnings, "warning")})` : "ok";
        process.stdout.write(`${target.padEnd(8)} ${report.source}  ${formatBytes(report.size)}${report.abiVersion ? `  ABI ${report.abiVersion}` : ""}  ${status}\n`);
        const shown = flags.verbose ? report.checks : report.checks.filter((c) => c.status === "fail" || c.status === "warn");
        if (shown.length > 0) process.stdout.write(renderChecks(shown) + "\n");
      }
      const failed = reports.filter((r) => hasFailures(r.report.checks));
      if (failed.length > 0) {
        throw new CliError(
          `${failed.map((f) => f.report.source).join(", ")} would not load in Envoy; nothing was written`,
          ExitCode.Invalid,
          "Fix what the FAIL lines say (most often: extend node_modules/proxy-wasm-as/asconfig.json and re-export \"proxy-wasm-as/assembly/exports\" from the entry file).",
        );
      }
      for (const file of files) await writeFileAtomic(file.path, file.contents);
      if (flags.json) {
        process.stdout.write(jsonResult("build", {
          written: files.map((f) => display(f.path)),
          modules: reports.map(({ target, report }) => ({ target, path: report.source, bytes: report.size, sha256: report.sha256, abiVersion: report.abiVersion ?? null, checks: report.checks })),
        }));
      } else {
        process.stdout.write(`wrote ${files.map((f) => display(f.path)).join(", ")}\n`);
      }
    });
}

const display = (path: string): string => {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
};
