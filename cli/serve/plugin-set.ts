// The plugins of a `pwas serve` chain, loaded into mock hosts in Istio's order, and their
// hot reload: a changed module or YAML builds a new generation; requests in flight finish
// on the generation they started with, and a generation whose load fails is discarded
// while the running one stays.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Host, LogLevel, type HostOptions, type LogEntry } from "../../runtime-mock/index.js";
import { CliError, ExitCode } from "../errors.js";
import { orderPlugins, readPluginDefinitions, type PluginDefinition } from "./plugin-definition.js";
import { RealUpstreams } from "./real-upstreams.js";
import type { UpstreamClient } from "./upstream-client.js";
import type { UpstreamTarget } from "./upstream-target.js";
import { findSourceMapBeside } from "../../runtime-mock/wasm/diagnostics/source-map.js";

export interface LoadedPlugin {
  definition: PluginDefinition;
  host: Host;
}

/** One consistent set of loaded plugins; in-flight requests hold on to theirs. */
export class Generation {
  private inFlight = 0;
  private retired = false;

  constructor(readonly plugins: LoadedPlugin[]) {}

  acquire(): void {
    this.inFlight++;
  }

  release(): void {
    this.inFlight--;
    this.shutdownIfIdle();
  }

  retire(): void {
    this.retired = true;
    this.shutdownIfIdle();
  }

  /** Shut down: retired and no request left on it. */
  get finished(): boolean {
    return this.retired && this.inFlight === 0;
  }

  private shutdownIfIdle(): void {
    if (this.finished) for (const plugin of this.plugins) plugin.host.shutdown();
  }
}

export interface PluginSource {
  /** WasmPlugin YAML files. */
  files: string[];
  /** Plugins given inline (--wasm), already defined. */
  inline: PluginDefinition[];
}

export interface LoadOptions {
  /** Callout clusters: name → where and in which protocol. */
  clusters: Record<string, UpstreamTarget>;
  /** The client callouts go through (HTTP/2 sessions shared with the proxy's upstream). */
  client: UpstreamClient;
  /** Called after a callout's answer was delivered to a plugin. */
  afterCallout(): void;
  logLevelFor(plugin: PluginDefinition): LogLevel;
  onLog(plugin: PluginDefinition, entry: LogEntry): void;
  /** Fetches a module that is not a local file (oci://, http(s)://). */
  fetchModule?(definition: PluginDefinition): Promise<{ bytes: Uint8Array; digest?: string }>;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function moduleBytes(definition: PluginDefinition, options: LoadOptions): Promise<Uint8Array> {
  if (definition.modulePath) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(definition.modulePath);
    } catch (error) {
      throw new CliError(`${definition.name}: cannot read the module ${definition.modulePath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, ExitCode.Failure, "build the plugin first, or fix spec.url");
    }
    // For a file, the WasmPlugin's sha256 is the module's own digest (PACKAGING.md §1.3).
    if (definition.sha256 && sha256(bytes) !== definition.sha256) {
      throw new CliError(
        `${definition.name}: module ${definition.modulePath} has sha256 ${sha256(bytes)}, which does not match spec.sha256 ${definition.sha256}`,
        ExitCode.DigestMismatch,
        "rebuild, or update spec.sha256 (pwas wasmplugin computes it)",
      );
    }
    return bytes;
  }
  if (!options.fetchModule) {
    throw new CliError(`${definition.name}: pwas serve cannot fetch ${definition.url}`, ExitCode.Failure, "use a file:// url or a path to the .wasm");
  }
  const fetched = await options.fetchModule(definition);
  return fetched.bytes;
}

/** Loads and starts every plugin; any failure is one CliError naming the plugin and why. */
export async function loadGeneration(definitions: PluginDefinition[], options: LoadOptions): Promise<Generation> {
  const plugins: LoadedPlugin[] = [];
  for (const definition of orderPlugins(definitions)) {
    const bytes = await moduleBytes(definition, options);
    let host: Host;
    const upstreams = new RealUpstreams(options.clusters, options.client, options.afterCallout, (message) =>
      options.onLog(definition, { level: LogLevel.Warn, message, contextId: 0, formatted: "", origin: "host" }),
    );
    const hostOptions: HostOptions = {
      upstreams,
      rootId: definition.rootId,
      pluginName: definition.name,
      pluginConfig: definition.pluginConfig,
      environment: definition.environment,
      failStrategy: definition.failStrategy === "FAIL_OPEN" ? "failOpen" : "failClosed",
      logLevel: options.logLevelFor(definition),
      onLog: (entry) => options.onLog(definition, entry),
      // A trap is the plugin's failure, handled as Envoy handles it (503 or fail-open), never the proxy's.
      throwOnTrap: false,
      ...(definition.modulePath ? { sourceMap: findSourceMapBeside(definition.modulePath, bytes) ?? false } : {}),
    };
    try {
      host = await Host.load(bytes, hostOptions);
    } catch (error) {
      const hint = (error as { hint?: string }).hint;
      throw new CliError(`${definition.name}: the module does not load: ${(error as Error).message}`, ExitCode.Invalid, hint);
    }
    upstreams.attach(host.vm);
    const started = host.start();
    if (!started.ok) {
      const log = await startLog(bytes, hostOptions);
      throw new CliError(
        `${definition.name}: the plugin failed to start (${started.reason}): ${started.message}${log.length > 0 ? `\n  the plugin's log while starting (at trace level):\n${log.map((line) => `    ${line}`).join("\n")}` : ""}`,
        ExitCode.Invalid,
        started.reason === "vmFailed" ? "the plugin trapped while starting: fix the line the report names" : "fix what the plugin's lines say (its pluginConfig, or its pluginName / root id)",
      );
    }
    plugins.push({ definition, host });
  }
  return new Generation(plugins);
}

/**
 * Why a start failed is in the plugin's own lines, but the SDKs drop lines below the level
 * the host reports, so a second VM starts at trace level, on its own, just to collect them:
 * the error names the cause whatever --log-level hides.
 */
async function startLog(bytes: Uint8Array, options: HostOptions): Promise<string[]> {
  const lines: string[] = [];
  try {
    const probe = await Host.load(bytes, { ...options, upstreams: undefined, logLevel: LogLevel.Trace, onLog: (entry) => entry.origin === "plugin" && lines.push(`[${LogLevel[entry.level]!.toLowerCase()}] ${entry.message}`) });
    probe.start();
    probe.shutdown();
  } catch {
    // the first start already said what it could
  }
  return lines;
}

export async function readDefinitions(source: PluginSource): Promise<PluginDefinition[]> {
  const definitions = [...source.inline];
  for (const file of source.files) definitions.push(...(await readPluginDefinitions(file)));
  const names = new Set<string>();
  for (const d of definitions) {
    const key = `${d.namespace}/${d.name}`;
    if (names.has(key)) throw new CliError(`two plugins are named ${key}`, ExitCode.Invalid, "WasmPlugin names must be unique in a namespace");
    names.add(key);
  }
  return definitions;
}
