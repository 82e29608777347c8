// Compiles a plugin with the AssemblyScript compiler's API, as scripts/build-examples.ts
// does, but keeps every output in memory: `pwas build` writes them only once every target
// compiled and every module passed Envoy's load checks, so a failed build never replaces a
// good one.
import { resolve } from "node:path";
import { CliError, ExitCode } from "../errors.js";
import { moveNamesIntoMaps, sourceMapArgs, type BuiltFile } from "./source-maps.js";
import { sdkRuntimeArgs } from "./sdk-runtime.js";

/** What asc resolved for a target (`--showConfig`: asconfig, its extends chain, the command line). */
export interface TargetConfig {
  target: string;
  outFile?: string;
  entries: string[];
  options: Record<string, unknown>;
}

/** An output asc wanted to write (absolute path). */
export type CompiledFile = BuiltFile;

export interface CompileResult {
  target: string;
  files: CompiledFile[];
  /** Compiler warnings (empty when clean). */
  diagnostics: string;
}

type Asc = typeof import("assemblyscript/asc").default;
let ascModule: Asc | undefined;

/** Loads the compiler lazily: only `pwas build` needs it, and it is a peer dependency. */
async function loadAsc(): Promise<Asc> {
  if (ascModule) return ascModule;
  try {
    ascModule = (await import("assemblyscript/asc")).default;
  } catch (error) {
    throw new CliError(`the AssemblyScript compiler is not installed (${(error as Error).message.split("\n")[0]})`, ExitCode.Failure, "npm install --save-dev assemblyscript@^0.27.37 in the plugin project.");
  }
  return ascModule;
}

function sink(): { stream: { write(chunk: string | Uint8Array): boolean }; text(): string } {
  const chunks: string[] = [];
  return {
    stream: { write: (chunk) => (chunks.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)), true) },
    text: () => chunks.join(""),
  };
}

/** The options asc would use for `target`, without compiling. */
export async function resolveTarget(baseDir: string, configArgs: string[], target: string): Promise<TargetConfig> {
  const asc = await loadAsc();
  const out = sink();
  const { error } = await asc.main([...configArgs, "--baseDir", baseDir, "--target", target, "--showConfig"], { stdout: out.stream, stderr: out.stream });
  if (error) throw configError(error, out.text());
  let shown: { options: Record<string, unknown>; entries: string[] };
  try {
    shown = JSON.parse(out.text());
  } catch {
    throw new CliError(`asc --showConfig printed something unexpected for target ${target}`, ExitCode.Failure, out.text().slice(0, 300));
  }
  const outFile = typeof shown.options.outFile === "string" ? shown.options.outFile : undefined;
  return { target, entries: shown.entries, options: shown.options, ...(outFile ? { outFile } : {}) };
}

/** `transforms`: asc transform instances to apply (the coverage build's). */
export async function compileTarget(baseDir: string, configArgs: string[], target: string, transforms: object[] = []): Promise<CompileResult> {
  const asc = await loadAsc();
  const out = sink();
  const files: CompiledFile[] = [];
  const { error } = await asc.main([...configArgs, "--baseDir", baseDir, "--target", target], {
    transforms: transforms as never,
    stdout: out.stream,
    stderr: out.stream,
    writeFile: (name, contents, dir) => {
      files.push({ path: resolve(dir, name), contents: typeof contents === "string" ? new TextEncoder().encode(contents) : contents });
    },
  });
  if (error) {
    process.stderr.write(out.text());
    const errors = (out.text().match(/\bERROR\b/g) ?? []).length;
    throw new CliError(
      `the ${target} target does not compile${errors > 0 ? ` (${errors} error${errors === 1 ? "" : "s"} above)` : `: ${error.message}`}`,
      ExitCode.Failure,
      "Fix the AssemblyScript errors above; nothing was written.",
    );
  }
  // asc's --converge says so when its last round grew the module (and it kept the smaller one): not a finding.
  return { target, files, diagnostics: out.text().replace(/^Last converge was suboptimal\.\r?\n/gm, "") };
}

/**
 * A target as pwas builds it: with its source map beside each module, a release's names
 * moved into the map, and the SDK's runtime found wherever the SDK is.
 */
export async function buildTarget(baseDir: string, configArgs: string[], target: TargetConfig, transforms: object[] = []): Promise<CompileResult> {
  const mapArgs = sourceMapArgs(target.options);
  const args = [...configArgs, ...mapArgs, ...sdkRuntimeArgs(baseDir, target.options.runtime)];
  const result = await compileTarget(baseDir, args, target.target, transforms);
  return mapArgs.includes("--debug") ? { ...result, files: moveNamesIntoMaps(result.files) } : result;
}

function configError(error: Error, output: string): CliError {
  const detail = (output.trim() || error.message).split("\n")[0];
  return new CliError(`asconfig.json cannot be used: ${detail}`, ExitCode.Failure, "Check the file's JSON and its \"extends\" path (node_modules/proxy-wasm-as/asconfig.json needs npm install).");
}
