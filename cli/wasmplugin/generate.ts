// Builds WasmPlugin resources and renders them as YAML, with the fields in the order a
// reader expects (what, where, which module, how it runs, its configuration).
import { Document } from "yaml";
import { API_VERSION, KIND } from "./schema.js";

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: "INLINE" | "HOST";
}

export interface TargetRef {
  group?: string;
  kind: string;
  name: string;
}

export interface MatchRule {
  mode?: string;
  ports?: number[];
}

export interface WasmPluginSpecInput {
  selector?: Record<string, string>;
  targetRefs?: TargetRef[];
  url: string;
  sha256?: string;
  imagePullPolicy?: string;
  imagePullSecret?: string;
  phase?: string;
  priority?: number;
  pluginName?: string;
  failStrategy?: string;
  type?: string;
  match?: MatchRule[];
  env?: EnvVar[];
  pluginConfig?: Record<string, unknown>;
}

export interface WasmPluginInput extends WasmPluginSpecInput {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The resource as plain data; undefined fields are left out. */
export function buildWasmPlugin(input: WasmPluginInput): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: input.name };
  if (input.namespace) metadata.namespace = input.namespace;
  if (input.labels && Object.keys(input.labels).length > 0) metadata.labels = input.labels;
  if (input.annotations && Object.keys(input.annotations).length > 0) metadata.annotations = input.annotations;

  const spec: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) spec[key] = value;
  };
  if (input.selector) set("selector", { matchLabels: input.selector });
  if (input.targetRefs && input.targetRefs.length > 0) {
    set("targetRefs", input.targetRefs.map((r) => ({ ...(r.group !== undefined ? { group: r.group } : {}), kind: r.kind, name: r.name })));
  }
  set("url", input.url);
  set("sha256", input.sha256);
  set("imagePullPolicy", input.imagePullPolicy);
  set("imagePullSecret", input.imagePullSecret);
  set("phase", input.phase);
  set("priority", input.priority);
  set("pluginName", input.pluginName);
  set("failStrategy", input.failStrategy);
  set("type", input.type);
  if (input.match && input.match.length > 0) {
    set("match", input.match.map((m) => ({
      ...(m.mode !== undefined ? { mode: m.mode } : {}),
      ...(m.ports && m.ports.length > 0 ? { ports: m.ports.map((number) => ({ number })) } : {}),
    })));
  }
  if (input.env && input.env.length > 0) {
    set("vmConfig", { env: input.env.map((e) => ({ name: e.name, ...(e.valueFrom !== undefined ? { valueFrom: e.valueFrom } : {}), ...(e.value !== undefined ? { value: e.value } : {}) })) });
  }
  if (input.pluginConfig !== undefined) set("pluginConfig", input.pluginConfig);
  return { apiVersion: API_VERSION, kind: KIND, metadata, spec };
}

export interface RenderedResource {
  resource: unknown;
  /** Lines printed as `# …` above the document. */
  comment?: string[];
}

/** Multi-document YAML; long strings are never folded, so values round-trip exactly. */
export function renderYaml(resources: readonly RenderedResource[]): string {
  return resources
    .map(({ resource, comment }) => {
      const doc = new Document(resource);
      // On the root mapping rather than the document, so no blank line separates the two.
      if (comment && comment.length > 0 && doc.contents) doc.contents.commentBefore = comment.map((line) => ` ${line}`).join("\n");
      return doc.toString({ lineWidth: 0, minContentWidth: 0 });
    })
    .join("---\n");
}
