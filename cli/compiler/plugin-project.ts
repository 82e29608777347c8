// How to compile a plugin directory: its own asconfig.json (normally extending
// node_modules/proxy-wasm-as/asconfig.json), or, without one, assembly/index.ts with the
// SDK's settings and build/plugin.wasm + build/plugin.debug.wasm as outputs.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { CliError, ExitCode } from "../errors.js";
import { packageInfo } from "../package-root.js";
import { resolveTarget, type TargetConfig } from "./compile.js";

export interface PluginProject {
  dir: string;
  /** asc arguments that select the configuration for `target`. */
  configArgs(target: string): string[];
  /** Where they come from, for messages. */
  description: string;
}

const DEFAULT_OUT: Record<string, string> = { release: "build/plugin.wasm", debug: "build/plugin.debug.wasm" };

export function openProject(dirArg: string, config: string | undefined): PluginProject {
  const dir = resolve(dirArg);
  if (!existsSync(dir)) throw new CliError(`${dirArg}: no such directory`, ExitCode.Usage, "Give the plugin project's directory (the one with asconfig.json).");
  const configFile = config ?? "asconfig.json";
  if (existsSync(resolve(dir, configFile))) {
    return { dir, description: configFile, configArgs: () => ["--config", configFile] };
  }
  if (config !== undefined) throw new CliError(`${config}: no such file in ${dirArg}`, ExitCode.Usage, "--config is relative to the project directory.");
  const entry = "assembly/index.ts";
  if (!existsSync(join(dir, entry))) {
    throw new CliError(`${dirArg} has neither asconfig.json nor ${entry}`, ExitCode.Usage, "Create a plugin with `pwas init <dir>`, or run pwas build in the plugin's directory.");
  }
  const local = join(dir, "node_modules", "proxy-wasm-as", "asconfig.json");
  const sdkConfig = existsSync(local) ? local : join(packageInfo().root, "asconfig.json");
  return {
    dir,
    description: `${entry} with the SDK's settings (no asconfig.json)`,
    configArgs: (target) => [entry, "--config", sdkConfig, ...(DEFAULT_OUT[target] ? ["--outFile", DEFAULT_OUT[target]!] : [])],
  };
}

/** The targets to build: those asked for, or release plus debug when the config defines it. */
export async function selectTargets(project: PluginProject, requested: string[] | undefined): Promise<TargetConfig[]> {
  const names = requested ?? ["release", "debug"];
  const configs: TargetConfig[] = [];
  for (const name of names) {
    const config = await resolveTarget(project.dir, project.configArgs(name), name);
    if (config.outFile === undefined || !config.outFile.endsWith(".wasm")) {
      if (requested === undefined && name === "debug") continue; // optional
      throw new CliError(`target "${name}" has no outFile ending in .wasm in ${project.description}`, ExitCode.Usage, `Add "targets": { "${name}": { "outFile": "build/${name === "release" ? "plugin" : `plugin.${name}`}.wasm" } } to asconfig.json.`);
    }
    configs.push(config);
  }
  return configs;
}
