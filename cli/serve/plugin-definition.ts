// What `pwas serve` needs to know about one plugin of the chain: the parts of a
// WasmPlugin resource that decide which module runs, with what configuration, and where
// in the filter chain (PACKAGING.md §2.1).
import { dirname, resolve } from "node:path";
import { CliError, ExitCode } from "../errors.js";
import { parseYamlDocuments, readTextInput } from "../yaml-source.js";

export type Phase = "AUTHN" | "AUTHZ" | "STATS" | "UNSPECIFIED_PHASE";

export interface PluginDefinition {
  /** metadata.name */
  name: string;
  namespace: string;
  /** spec.url as written (file://, a path, oci://, http(s)://). */
  url: string;
  /** Absolute path of a local module, when the url is file:// or a path. */
  modulePath?: string;
  sha256?: string;
  phase: Phase;
  priority: number;
  /** spec.pluginName: Envoy's root id ("" when unset). */
  rootId: string;
  /** spec.pluginConfig, as the JSON text the plugin reads in onConfigure. */
  pluginConfig: string;
  failStrategy: "FAIL_CLOSE" | "FAIL_OPEN";
  /** spec.vmConfig.env (inline values). */
  environment: Record<string, string>;
  /** Where it came from, for messages and hot reload. */
  source: string;
}

const PHASES = new Set<Phase>(["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"]);

function fail(source: string, message: string, hint?: string): never {
  throw new CliError(`${source}: ${message}`, ExitCode.Invalid, hint);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Resolves a spec.url to a local module path, if it names one. */
export function localModulePath(url: string, baseDir: string): string | undefined {
  if (url.startsWith("file://")) return new URL(url).pathname;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return undefined;
  // Istio reads a schemeless url as oci://; a path that ends in .wasm is meant as a file here.
  if (url.endsWith(".wasm") || url.startsWith("./") || url.startsWith("../") || url.startsWith("/")) return resolve(baseDir, url);
  return undefined;
}

/** Reads every WasmPlugin document of a YAML file (other kinds are skipped). */
export async function readPluginDefinitions(file: string): Promise<PluginDefinition[]> {
  return parsePluginDefinitions(await readTextInput(file), file);
}

export function parsePluginDefinitions(text: string, source: string): PluginDefinition[] {
  const definitions: PluginDefinition[] = [];
  for (const document of parseYamlDocuments(text, source)) {
    const resource = asRecord(document.value);
    if (!resource) continue;
    if (resource.kind !== "WasmPlugin") continue;
    definitions.push(toDefinition(resource, source));
  }
  if (definitions.length === 0) fail(source, "no WasmPlugin resource found", "a plugin file holds `kind: WasmPlugin` resources (apiVersion extensions.istio.io/v1alpha1)");
  return definitions;
}

function toDefinition(resource: Record<string, unknown>, source: string): PluginDefinition {
  const metadata = asRecord(resource.metadata) ?? {};
  const spec = asRecord(resource.spec);
  const name = typeof metadata.name === "string" ? metadata.name : "";
  const where = `${source} (WasmPlugin ${name || "without a name"})`;
  if (!name) fail(where, "metadata.name is missing");
  if (!spec) fail(where, "spec is missing");
  const url = spec.url;
  if (typeof url !== "string" || url.length === 0) fail(where, "spec.url is missing", "give the module's location: file:///path/plugin.wasm, a path, or oci://registry/repo:tag");
  const phase = (spec.phase ?? "UNSPECIFIED_PHASE") as Phase;
  if (!PHASES.has(phase)) fail(where, `spec.phase: unknown phase "${String(spec.phase)}"`, "use AUTHN, AUTHZ, STATS, or leave it unset");
  const priority = spec.priority ?? 0;
  if (typeof priority !== "number" || !Number.isInteger(priority) || priority < -(2 ** 31) || priority >= 2 ** 31) fail(where, "spec.priority must be a 32-bit integer");
  const pluginName = spec.pluginName ?? "";
  if (typeof pluginName !== "string") fail(where, "spec.pluginName must be a string");
  const sha256 = spec.sha256;
  if (sha256 !== undefined && (typeof sha256 !== "string" || !/^([a-f0-9]{64})?$/.test(sha256))) fail(where, "spec.sha256 must be 64 lowercase hex characters");
  const failStrategy = spec.failStrategy ?? "FAIL_CLOSE";
  if (failStrategy !== "FAIL_CLOSE" && failStrategy !== "FAIL_OPEN") {
    fail(where, `spec.failStrategy "${String(failStrategy)}" is not supported by pwas serve`, "use FAIL_CLOSE or FAIL_OPEN (FAIL_RELOAD needs a real istio-agent)");
  }
  const environment: Record<string, string> = {};
  const vmConfig = asRecord(spec.vmConfig);
  if (vmConfig && Array.isArray(vmConfig.env)) {
    for (const entry of vmConfig.env) {
      const variable = asRecord(entry);
      if (variable && typeof variable.name === "string" && typeof variable.value === "string") environment[variable.name] = variable.value;
    }
  }
  const definition: PluginDefinition = {
    name,
    namespace: typeof metadata.namespace === "string" ? metadata.namespace : "default",
    url,
    phase,
    priority,
    rootId: pluginName,
    pluginConfig: spec.pluginConfig === undefined ? "" : JSON.stringify(spec.pluginConfig),
    failStrategy,
    environment,
    source,
  };
  const modulePath = localModulePath(url, dirname(resolve(source)));
  if (modulePath) definition.modulePath = modulePath;
  if (typeof sha256 === "string" && sha256) definition.sha256 = sha256;
  return definition;
}

/** Istio's order on one workload: AUTHN, AUTHZ, STATS, then no phase; higher priority first; then name, namespace. */
export function orderPlugins<T extends Pick<PluginDefinition, "phase" | "priority" | "name" | "namespace">>(plugins: readonly T[]): T[] {
  const rank: Record<Phase, number> = { AUTHN: 0, AUTHZ: 1, STATS: 2, UNSPECIFIED_PHASE: 3 };
  return [...plugins].sort(
    (a, b) =>
      rank[a.phase] - rank[b.phase] ||
      b.priority - a.priority ||
      a.name.localeCompare(b.name) ||
      a.namespace.localeCompare(b.namespace),
  );
}
