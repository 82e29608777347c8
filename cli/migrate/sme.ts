// ServiceMeshExtension (maistra.io v1 / v1alpha1) → WasmPlugin, field by field
// (PACKAGING.md §2.2–2.3), keeping what the plugin saw under OSSM:
//   - the root id: OSSM configured Envoy with root_id "<name>_root" (maistra/istio
//     pilot/pkg/networking/core/v1alpha3/extension, toEnvoyHTTPFilter), so pluginName keeps it;
//   - the configuration: v1 sent the config object as JSON; v1alpha1 sent its string as is
//     (converted to v1 when it parsed as JSON, else kept under "raw_v1alpha1_config").
//     WasmPlugin can only send a JSON object, so raw text cannot be carried over.
import { isObject } from "../wasmplugin/schema.js";
import { isSmePhase, PHASE_MAP, SME_PHASES, collapsedWith, type SmePhase } from "./phase.js";

export const SME_KIND = "ServiceMeshExtension";
export const SME_API_VERSIONS = ["maistra.io/v1", "maistra.io/v1alpha1"];
const RAW_V1ALPHA1_CONFIG = "raw_v1alpha1_config";
const SPEC_FIELDS = ["config", "image", "imagePullPolicy", "imagePullSecrets", "workloadSelector", "phase", "priority"];

export interface MigrationNote {
  severity: "warning" | "note";
  message: string;
  hint?: string;
}

/** A resource that cannot be converted faithfully; nothing is written. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

export interface ExtensionDefaults {
  /** From the extension image's manifest.yaml (OSSM fell back to them). */
  phase?: SmePhase;
  priority?: number;
}

export interface MigrationOptions {
  /** Replaces oci://<spec.image> (e.g. the repackaged image). */
  url?: string;
  sha256?: string;
  pluginName?: string;
  defaults?: ExtensionDefaults;
}

export interface Migrated {
  name: string;
  namespace: string;
  apiVersion: string;
  smePhase?: SmePhase;
  priority?: number;
  resource: Record<string, unknown>;
  notes: MigrationNote[];
}

export function isServiceMeshExtension(value: unknown): value is Record<string, unknown> {
  return isObject(value) && value.kind === SME_KIND;
}

export function migrateExtension(sme: Record<string, unknown>, options: MigrationOptions = {}): Migrated {
  const notes: MigrationNote[] = [];
  const apiVersion = String(sme.apiVersion ?? "");
  if (!SME_API_VERSIONS.includes(apiVersion)) {
    throw new MigrationError(`apiVersion ${apiVersion || "(missing)"} is not a ServiceMeshExtension version`, "Expected maistra.io/v1 or maistra.io/v1alpha1.");
  }
  const metadata = isObject(sme.metadata) ? sme.metadata : {};
  const name = typeof metadata.name === "string" ? metadata.name : undefined;
  if (!name) throw new MigrationError("metadata.name is missing");
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : "";
  if (!isObject(sme.spec)) throw new MigrationError("spec is missing");
  const spec = sme.spec;
  for (const key of Object.keys(spec)) {
    if (!SPEC_FIELDS.includes(key)) notes.push({ severity: "warning", message: `spec.${key} has no WasmPlugin equivalent and was dropped` });
  }

  const out: Record<string, unknown> = {};
  const selector = selectorOf(spec.workloadSelector, notes);
  if (selector) out.selector = { matchLabels: selector };

  out.url = options.url ?? imageUrl(spec.image);
  if (options.sha256) out.sha256 = options.sha256;
  const policy = pullPolicy(spec.imagePullPolicy, notes);
  if (policy) out.imagePullPolicy = policy;
  const secret = pullSecret(spec.imagePullSecrets, notes);
  if (secret) out.imagePullSecret = secret;

  const smePhase = phaseOf(spec.phase, options.defaults?.phase, notes);
  if (smePhase && PHASE_MAP[smePhase]) out.phase = PHASE_MAP[smePhase];
  const priority = priorityOf(spec.priority, options.defaults?.priority, notes);
  if (priority !== undefined) out.priority = priority;

  out.pluginName = options.pluginName ?? `${name}_root`;
  if (options.pluginName === undefined) {
    notes.push({ severity: "note", message: `pluginName is ${name}_root, the root_id OSSM gave the plugin; change it only if the plugin does not depend on its root id` });
  }
  const pluginConfig = configOf(spec.config, apiVersion);
  if (pluginConfig !== undefined) out.pluginConfig = pluginConfig;

  const newMetadata: Record<string, unknown> = { name, ...(namespace ? { namespace } : {}) };
  if (isObject(metadata.labels) && Object.keys(metadata.labels).length > 0) newMetadata.labels = metadata.labels;
  const resource = { apiVersion: "extensions.istio.io/v1alpha1", kind: "WasmPlugin", metadata: newMetadata, spec: out };
  return { name, namespace, apiVersion, ...(smePhase ? { smePhase } : {}), ...(priority !== undefined ? { priority } : {}), resource, notes };
}

function selectorOf(workloadSelector: unknown, notes: MigrationNote[]): Record<string, string> | undefined {
  if (workloadSelector === undefined || workloadSelector === null) {
    notes.push({ severity: "note", message: "no workloadSelector: the WasmPlugin applies to every workload in its namespace (mesh-wide in the control-plane namespace), as the extension did" });
    return undefined;
  }
  if (!isObject(workloadSelector)) throw new MigrationError("spec.workloadSelector must be a mapping");
  const labels = workloadSelector.labels;
  if (labels === undefined || labels === null) return undefined;
  if (!isObject(labels)) throw new MigrationError("spec.workloadSelector.labels must be a mapping of label to value");
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
}

function imageUrl(image: unknown): string {
  if (typeof image !== "string" || image.trim() === "") throw new MigrationError("spec.image is missing", "The extension's image becomes the WasmPlugin url (oci://<image>).");
  const trimmed = image.trim();
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `oci://${trimmed}`;
}

function pullPolicy(value: unknown, notes: MigrationNote[]): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (value === "Always" || value === "IfNotPresent") return value;
  if (value === "Never") {
    notes.push({ severity: "warning", message: "imagePullPolicy Never does not exist in WasmPlugin; it became IfNotPresent (the image is pulled once per node)", hint: "Pin the image with spec.sha256 to make sure no other module is ever pulled." });
    return "IfNotPresent";
  }
  throw new MigrationError(`spec.imagePullPolicy "${String(value)}" is not Always, IfNotPresent or Never`);
}

function pullSecret(value: unknown, notes: MigrationNote[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new MigrationError("spec.imagePullSecrets must be a list of {name: …}");
  const names = value.map((s) => (isObject(s) && typeof s.name === "string" ? s.name : undefined));
  if (names.some((n) => n === undefined)) throw new MigrationError("every spec.imagePullSecrets entry needs a name");
  if (names.length > 1) {
    notes.push({
      severity: "warning",
      message: `WasmPlugin takes one imagePullSecret: kept ${names[0]}, dropped ${names.slice(1).join(", ")}`,
      hint: "If the image needs credentials from the others, merge them into one kubernetes.io/dockerconfigjson Secret in the WasmPlugin's namespace.",
    });
  }
  return names[0];
}

function phaseOf(value: unknown, fallback: SmePhase | undefined, notes: MigrationNote[]): SmePhase | undefined {
  let phase: SmePhase | undefined;
  if (value === undefined || value === null) {
    if (fallback) {
      notes.push({ severity: "note", message: `spec.phase is not set; used ${fallback} from the image's manifest.yaml, as OSSM did` });
      phase = fallback;
    } else {
      notes.push({ severity: "warning", message: "spec.phase is not set and OSSM took it from the image's manifest.yaml; the WasmPlugin has no phase (it runs last)", hint: "Pass --image to read the manifest, or set the phase in the WasmPlugin." });
      return undefined;
    }
  } else if (isSmePhase(value)) {
    phase = value;
  } else {
    throw new MigrationError(`spec.phase "${String(value)}" is not a ServiceMeshExtension phase`, `Use one of ${SME_PHASES.join(", ")}.`);
  }
  const target = PHASE_MAP[phase];
  const other = collapsedWith(phase);
  if (target === undefined) {
    notes.push({ severity: "note", message: `${phase} has no WasmPlugin phase; the plugin runs unspecified: last, just before the router` });
  } else if (other) {
    notes.push({
      severity: "warning",
      message: `${phase} became ${target}, which also takes ${other} extensions: within ${target} only priority (higher first) orders plugins`,
      hint: "Check the priorities of the plugins that share the phase (priority was kept).",
    });
  }
  return phase;
}

function priorityOf(value: unknown, fallback: number | undefined, notes: MigrationNote[]): number | undefined {
  if (value === undefined || value === null) {
    if (fallback !== undefined) notes.push({ severity: "note", message: `spec.priority is not set; used ${fallback} from the image's manifest.yaml, as OSSM did` });
    return fallback;
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 31 - 1) {
    throw new MigrationError(`spec.priority must be a 32-bit integer, not ${JSON.stringify(value)}`);
  }
  return value;
}

function configOf(config: unknown, apiVersion: string): Record<string, unknown> | undefined {
  if (config === undefined || config === null || config === "") return undefined;
  let value = config;
  if (isObject(value) && typeof value[RAW_V1ALPHA1_CONFIG] === "string") value = value[RAW_V1ALPHA1_CONFIG];
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      throw new MigrationError(
        `spec.config is text that is not JSON (${apiVersion === "maistra.io/v1alpha1" ? "v1alpha1 passed it to the plugin as is" : "kept as raw_v1alpha1_config"}); a WasmPlugin can only pass a JSON object`,
        "Change the plugin to read a JSON object, write that object as spec.config, then migrate again.",
      );
    }
  }
  if (!isObject(value)) {
    throw new MigrationError(`spec.config must become a JSON object, but it is ${Array.isArray(value) ? "a list" : typeof value}`, "Wrap it in a key (and read that key in the plugin): WasmPlugin's pluginConfig is a google.protobuf.Struct.");
  }
  return Object.keys(value).length === 0 ? undefined : value;
}
