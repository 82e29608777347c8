// WasmPlugin (extensions.istio.io/v1alpha1) checked offline against the CRD's OpenAPI/CEL
// rules and the admission webhook (istio/istio pkg/config/validation ValidateWasmPlugin),
// as summarized in PACKAGING.md §2.1, plus the fetch-time rules that would certainly fail
// (a bad image reference, a sha256 that contradicts the URL's digest). Each issue names
// the field path, e.g. `spec.sha256: must be 64 lowercase hex characters`.
import type { PathSegment } from "../yaml-source.js";
import { pullPolicyAdvice } from "./pull-policy.js";
import { goUrlScheme, looksLikeHostPort, parsePluginUrl, PluginUrlError, URL_SCHEMES } from "./url.js";

export const API_VERSION = "extensions.istio.io/v1alpha1";
export const KIND = "WasmPlugin";

export const PHASES = ["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"] as const;
export const PULL_POLICIES = ["UNSPECIFIED_POLICY", "IfNotPresent", "Always"] as const;
export const FAIL_STRATEGIES = ["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"] as const;
export const PLUGIN_TYPES = ["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"] as const;
export const MATCH_MODES = ["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"] as const;
export const ENV_VALUE_FROM = ["INLINE", "HOST"] as const;
/** group/kind pairs a targetRef may name (webhook). */
export const TARGET_KINDS = [
  { group: "gateway.networking.k8s.io", kind: "Gateway" },
  { group: "gateway.networking.k8s.io", kind: "GatewayClass" },
  { group: "", kind: "Service" },
  { group: "networking.istio.io", kind: "ServiceEntry" },
] as const;

export const SHA256 = /^[a-f0-9]{64}$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const TARGET_KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

export type Severity = "error" | "warning";

export interface Issue {
  severity: Severity;
  path: PathSegment[];
  message: string;
  hint?: string;
  /** Point at the field's key rather than its value (unknown or misplaced fields). */
  atKey?: boolean;
}

const SPEC_FIELDS = [
  "selector", "targetRef", "targetRefs", "url", "sha256", "imagePullPolicy", "imagePullSecret", "verificationKey",
  "pluginConfig", "pluginName", "phase", "priority", "failStrategy", "vmConfig", "match", "type",
];

/** Field names people carry over from other APIs, and what WasmPlugin calls them. */
const RENAMED: Record<string, string> = {
  config: "pluginConfig (ServiceMeshExtension's config)",
  workloadSelector: "selector.matchLabels (ServiceMeshExtension's workloadSelector.labels)",
  image: "url: oci://<image> (ServiceMeshExtension's image)",
  imagePullSecrets: "imagePullSecret, a single Secret name",
  failOpen: "failStrategy: FAIL_OPEN (failOpen was removed in Istio 1.29)",
  rootId: "pluginName (it becomes Envoy's root_id)",
  root_id: "pluginName (it becomes Envoy's root_id)",
  configuration: "pluginConfig",
};

/** "spec.match[0].ports[1].number"; keys that are not identifiers are quoted. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out || "(document)";
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const typeName = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "a list" : isObject(v) ? "a mapping" : `a ${typeof v}`);

/** Collects issues; the helpers return whether the value passed, so callers can stop early. */
class Checker {
  readonly issues: Issue[] = [];

  error(path: PathSegment[], message: string, hint?: string, atKey = false): false {
    this.issues.push({ severity: "error", path, message, ...(hint ? { hint } : {}), ...(atKey ? { atKey } : {}) });
    return false;
  }

  warn(path: PathSegment[], message: string, hint?: string): void {
    this.issues.push({ severity: "warning", path, message, ...(hint ? { hint } : {}) });
  }

  object(value: unknown, path: PathSegment[]): value is Record<string, unknown> {
    return isObject(value) || this.error(path, `must be a mapping, not ${typeName(value)}`);
  }

  list(value: unknown, path: PathSegment[], max?: number): value is unknown[] {
    if (!Array.isArray(value)) return this.error(path, `must be a list, not ${typeName(value)}`);
    if (max !== undefined && value.length > max) return this.error(path, `must have at most ${max} items (has ${value.length})`);
    return true;
  }

  string(value: unknown, path: PathSegment[], rules: { min?: number; max?: number; pattern?: RegExp; patternMessage?: string; hint?: string } = {}): value is string {
    if (typeof value !== "string") {
      const hint = typeof value === "number" || typeof value === "boolean" ? `Quote it: "${String(value)}".` : undefined;
      return this.error(path, `must be a string, not ${typeName(value)}`, hint);
    }
    if (rules.min !== undefined && value.length < rules.min) return this.error(path, rules.min === 1 ? "must not be empty" : `must be at least ${rules.min} characters`);
    if (rules.max !== undefined && value.length > rules.max) return this.error(path, `must be at most ${rules.max} characters (has ${value.length})`);
    if (rules.pattern && !rules.pattern.test(value)) return this.error(path, rules.patternMessage ?? `must match ${rules.pattern.source}`, rules.hint);
    return true;
  }

  enumeration(value: unknown, path: PathSegment[], values: readonly string[], extraHint?: (v: string) => string | undefined): boolean {
    if (typeof value !== "string") return this.error(path, `must be one of ${values.join(", ")}, not ${typeName(value)}`);
    if (values.includes(value)) return true;
    const near = values.find((v) => v.toLowerCase() === value.toLowerCase());
    const hint = near ? `Values are case-sensitive: write ${near}.` : extraHint?.(value);
    return this.error(path, `"${value}" is not one of ${values.join(", ")}`, hint);
  }

  integer(value: unknown, path: PathSegment[], min: number, max: number): boolean {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      const hint = typeof value === "string" && /^-?\d+$/.test(value) ? `Write it without quotes: ${value}.` : undefined;
      return this.error(path, `must be an integer, not ${typeName(value)}`, hint);
    }
    if (value < min || value > max) return this.error(path, `must be between ${min} and ${max} (is ${value})`);
    return true;
  }

  /** Structural schemas reject unknown fields (kubectl's default strict field validation). */
  knownFields(value: Record<string, unknown>, path: PathSegment[], allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (allowed.includes(key)) continue;
      const renamed = Object.hasOwn(RENAMED, key) ? RENAMED[key] : undefined;
      const near = renamed ? undefined : closest(key, allowed);
      const hint = renamed ? `WasmPlugin calls it ${renamed}.` : near ? `Did you mean ${near}?` : `Known fields: ${allowed.join(", ")}.`;
      this.error([...path, key], "unknown field", hint, true);
    }
  }
}

/** Validates one document that claims to be a WasmPlugin. */
export function validateWasmPlugin(document: unknown): Issue[] {
  const c = new Checker();
  if (!c.object(document, [])) return c.issues;
  c.knownFields(document, [], ["apiVersion", "kind", "metadata", "spec", "status"]);
  if (document.apiVersion !== API_VERSION) {
    c.error(["apiVersion"], `must be ${API_VERSION}${typeof document.apiVersion === "string" ? `, not ${document.apiVersion}` : ""}`, "WasmPlugin is served only as extensions.istio.io/v1alpha1.");
  }
  if (document.kind !== KIND) c.error(["kind"], `must be ${KIND}`);
  checkMetadata(c, document.metadata);
  if (document.spec === undefined || document.spec === null) {
    c.error(["spec"], "is required");
    return c.issues;
  }
  if (!c.object(document.spec, ["spec"])) return c.issues;
  checkSpec(c, document.spec);
  return c.issues;
}

function checkMetadata(c: Checker, metadata: unknown): void {
  if (metadata === undefined) {
    c.error(["metadata"], "is required", "Add metadata.name (and metadata.namespace).");
    return;
  }
  if (!c.object(metadata, ["metadata"])) return;
  if (metadata.name === undefined) {
    if (metadata.generateName === undefined) c.error(["metadata", "name"], "is required");
  } else {
    c.string(metadata.name, ["metadata", "name"], {
      min: 1, max: 253, pattern: DNS_SUBDOMAIN,
      patternMessage: "must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    });
  }
  if (metadata.namespace !== undefined) {
    c.string(metadata.namespace, ["metadata", "namespace"], { min: 1, max: 63, pattern: DNS_LABEL, patternMessage: "must be a DNS label: lowercase letters, digits and '-'" });
  }
}

function checkSpec(c: Checker, spec: Record<string, unknown>): void {
  const at = (...rest: PathSegment[]): PathSegment[] => ["spec", ...rest];
  c.knownFields(spec, ["spec"], SPEC_FIELDS);

  // One-of: CEL `has(selector) + has(targetRef) + has(targetRefs) <= 1`.
  const targeting = ["selector", "targetRef", "targetRefs"].filter((k) => spec[k] !== undefined && spec[k] !== null);
  if (targeting.length > 1) {
    c.error(at(targeting[1]!), `only one of selector, targetRef or targetRefs can be set (found ${targeting.join(" and ")})`, "Use selector for sidecars, targetRefs for gateways and waypoints.");
  }
  if (spec.selector !== undefined && spec.selector !== null) checkSelector(c, spec.selector);
  if (spec.targetRef !== undefined && spec.targetRef !== null) {
    checkTargetRef(c, spec.targetRef, at("targetRef"));
    c.warn(at("targetRef"), "is deprecated", "Use targetRefs (a list).");
  }
  if (spec.targetRefs !== undefined && spec.targetRefs !== null && c.list(spec.targetRefs, at("targetRefs"), 16)) {
    spec.targetRefs.forEach((ref, i) => checkTargetRef(c, ref, at("targetRefs", i)));
  }

  checkUrlAndDigest(c, spec);

  if (spec.imagePullPolicy !== undefined) c.enumeration(spec.imagePullPolicy, at("imagePullPolicy"), PULL_POLICIES, (v) => (v === "Never" ? "WasmPlugin has no Never (that was ServiceMeshExtension's Kubernetes pull policy): use IfNotPresent." : undefined));
  if (spec.imagePullSecret !== undefined) c.string(spec.imagePullSecret, at("imagePullSecret"), { min: 1, max: 253 });
  if (spec.verificationKey !== undefined && c.string(spec.verificationKey, at("verificationKey"))) {
    c.warn(at("verificationKey"), "is not implemented by Istio; the module is not verified with it");
  }
  if (spec.pluginConfig !== undefined && spec.pluginConfig !== null && !isObject(spec.pluginConfig)) {
    c.error(at("pluginConfig"), `must be a mapping (a google.protobuf.Struct), not ${typeName(spec.pluginConfig)}`, "Istio sends pluginConfig to the plugin as JSON text; wrap a list or scalar in a key, e.g. pluginConfig: {value: …}.");
  }
  if (spec.pluginName !== undefined) c.string(spec.pluginName, at("pluginName"), { min: 1, max: 256 });
  if (spec.phase !== undefined) c.enumeration(spec.phase, at("phase"), PHASES, phaseHint);
  if (spec.priority !== undefined && spec.priority !== null) c.integer(spec.priority, at("priority"), INT32.min, INT32.max);
  if (spec.failStrategy !== undefined) c.enumeration(spec.failStrategy, at("failStrategy"), FAIL_STRATEGIES);
  if (spec.type !== undefined) c.enumeration(spec.type, at("type"), PLUGIN_TYPES);
  if (spec.vmConfig !== undefined && spec.vmConfig !== null) checkVmConfig(c, spec.vmConfig);
  if (spec.match !== undefined && spec.match !== null) checkMatch(c, spec.match);
}

function phaseHint(value: string): string | undefined {
  const sme: Record<string, string> = { PreAuthN: "AUTHN", PostAuthN: "AUTHZ", PreAuthZ: "AUTHZ", PostAuthZ: "STATS", PreStats: "STATS", PostStats: "no phase (leave it out)" };
  if (sme[value]) return `${value} is a ServiceMeshExtension phase; in WasmPlugin it becomes ${sme[value]} (pwas migrate converts whole resources).`;
  return "AUTHN runs before Istio authentication, AUTHZ before authorization, STATS before stats; leave phase out to run last, before the router.";
}

function checkSelector(c: Checker, selector: unknown): void {
  const path: PathSegment[] = ["spec", "selector"];
  if (!c.object(selector, path)) return;
  c.knownFields(selector, path, ["matchLabels"]);
  const labels = selector.matchLabels;
  if (labels === undefined || labels === null || (isObject(labels) && Object.keys(labels).length === 0)) {
    c.warn(path, "has no labels, so it selects every workload in the namespace (mesh-wide in the root namespace)", "Add matchLabels, or leave selector out if that is intended.");
    return;
  }
  if (!c.object(labels, [...path, "matchLabels"])) return;
  const keys = Object.keys(labels);
  if (keys.length > 4096) c.error([...path, "matchLabels"], `must have at most 4096 labels (has ${keys.length})`);
  for (const key of keys) {
    const keyPath: PathSegment[] = [...path, "matchLabels", key];
    if (key === "") c.error(keyPath, "label keys must not be empty", undefined, true);
    else if (key.includes("*")) c.error(keyPath, "wildcards are not allowed in label keys", "Selectors match exact labels.", true);
    const value = labels[key];
    if (c.string(value, keyPath, { max: 63 }) && value.includes("*")) c.error(keyPath, "wildcards are not allowed in label values", "Selectors match exact labels.");
  }
}

function checkTargetRef(c: Checker, ref: unknown, path: PathSegment[]): void {
  if (!c.object(ref, path)) return;
  c.knownFields(ref, path, ["group", "kind", "name", "namespace"]);
  const kindOk = ref.kind === undefined ? c.error([...path, "kind"], "is required") : c.string(ref.kind, [...path, "kind"], { min: 1, max: 63, pattern: TARGET_KIND, patternMessage: "must be a kind name such as Gateway or Service" });
  if (ref.name === undefined) c.error([...path, "name"], "is required");
  else c.string(ref.name, [...path, "name"], { min: 1, max: 253 });
  const groupOk = ref.group === undefined || c.string(ref.group, [...path, "group"], { max: 253, pattern: /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, patternMessage: "must be an API group such as gateway.networking.k8s.io, or empty for core" });
  if (ref.namespace !== undefined && ref.namespace !== "") {
    c.error([...path, "namespace"], "must be empty: cross-namespace references are not supported", "Create the WasmPlugin in the namespace of its target.");
  }
  if (kindOk && groupOk) {
    const group = (ref.group as string | undefined) ?? "";
    if (!TARGET_KINDS.some((t) => t.group === group && t.kind === ref.kind)) {
      const sameKind = TARGET_KINDS.find((t) => t.kind === ref.kind);
      c.error(path, `${group ? `${group}/` : ""}${String(ref.kind)} is not a supported target`, sameKind
        ? `${sameKind.kind} lives in the group "${sameKind.group}".`
        : "Supported: gateway.networking.k8s.io Gateway or GatewayClass, core Service (group \"\"), networking.istio.io ServiceEntry.");
    }
  }
}

function checkUrlAndDigest(c: Checker, spec: Record<string, unknown>): void {
  const urlPath: PathSegment[] = ["spec", "url"];
  const shaPath: PathSegment[] = ["spec", "sha256"];
  let sha: string | undefined;
  if (spec.sha256 !== undefined && spec.sha256 !== null) {
    const raw = spec.sha256;
    if (typeof raw === "string" && (raw === "" || SHA256.test(raw))) sha = raw === "" ? undefined : raw;
    else if (typeof raw !== "string") c.error(shaPath, `must be 64 lowercase hex characters, not ${typeName(raw)}`);
    else {
      const hint = raw.startsWith("sha256:") ? "Drop the sha256: prefix." : /^[a-fA-F0-9]{64}$/.test(raw) ? "Use lowercase hex." : `It has ${raw.length} characters; a sha256 is 64 hex characters.`;
      c.error(shaPath, "must be 64 lowercase hex characters", hint);
    }
  }
  if (spec.url === undefined || spec.url === null) {
    c.error(urlPath, "is required", "Set url: oci://<registry>/<repository>:<tag> (or https://…, file://…).");
    return;
  }
  if (!c.string(spec.url, urlPath, { min: 1 })) return;
  const url = spec.url;
  const scheme = goUrlScheme(url);
  if (scheme !== "" && !(URL_SCHEMES as readonly string[]).includes(scheme)) {
    c.error(urlPath, `scheme "${scheme}" is not one of oci, http, https, file`, looksLikeHostPort(url) ? `Istio parses "${url}" with the scheme "${scheme}": write oci://${url}.` : undefined);
    return;
  }
  if (scheme === "") c.warn(urlPath, "has no scheme; Istio assumes oci://", `Write it explicitly: oci://${url}.`);
  let parsed;
  try {
    parsed = parsePluginUrl(scheme === "" ? `oci://${url}` : url);
  } catch (error) {
    if (!(error instanceof PluginUrlError)) throw error;
    c.error(urlPath, error.message, error.hint);
    return;
  }
  const digest = parsed.ref?.digest?.slice("sha256:".length);
  if (digest !== undefined && sha !== undefined && digest !== sha) {
    c.error(shaPath, "differs from the @sha256: digest in spec.url, so the pulled image can never match", "Remove spec.sha256, or make it the same digest (the image manifest digest).");
  }
  if (parsed.scheme === "file" && sha !== undefined) {
    c.warn(shaPath, "is not used for file:// URLs: the proxy loads the file itself", "Remove spec.sha256.");
  }
  const policy = typeof spec.imagePullPolicy === "string" ? spec.imagePullPolicy : undefined;
  const secret = typeof spec.imagePullSecret === "string" ? spec.imagePullSecret : undefined;
  for (const advice of pullPolicyAdvice(parsed, policy, sha, secret)) c.warn(["spec", advice.field], advice.message, advice.hint);
}

function checkVmConfig(c: Checker, vmConfig: unknown): void {
  const path: PathSegment[] = ["spec", "vmConfig"];
  if (!c.object(vmConfig, path)) return;
  c.knownFields(vmConfig, path, ["env"]);
  if (vmConfig.env === undefined || vmConfig.env === null || !c.list(vmConfig.env, [...path, "env"], 256)) return;
  const seen = new Map<string, number>();
  vmConfig.env.forEach((entry, i) => {
    const at: PathSegment[] = [...path, "env", i];
    if (!c.object(entry, at)) return;
    c.knownFields(entry, at, ["name", "value", "valueFrom"]);
    if (entry.name === undefined) c.error([...at, "name"], "is required");
    else if (c.string(entry.name, [...at, "name"], { min: 1, max: 256 })) {
      const first = seen.get(entry.name);
      if (first !== undefined) c.error([...at, "name"], `duplicate name "${entry.name}" (also spec.vmConfig.env[${first}])`);
      else seen.set(entry.name, i);
    }
    if (entry.value !== undefined) c.string(entry.value, [...at, "value"], { max: 2048 });
    if (entry.valueFrom !== undefined && c.enumeration(entry.valueFrom, [...at, "valueFrom"], ENV_VALUE_FROM) && entry.valueFrom === "HOST" && entry.value !== undefined && entry.value !== "") {
      c.error([...at, "value"], "must be empty when valueFrom is HOST", "HOST copies the variable from the proxy's environment; remove value, or use valueFrom: INLINE.");
    }
  });
}

function checkMatch(c: Checker, match: unknown): void {
  const path: PathSegment[] = ["spec", "match"];
  if (!c.list(match, path)) return;
  match.forEach((rule, i) => {
    const at: PathSegment[] = [...path, i];
    if (!c.object(rule, at)) return;
    c.knownFields(rule, at, ["mode", "ports"]);
    if (rule.mode !== undefined) c.enumeration(rule.mode, [...at, "mode"], MATCH_MODES);
    if (rule.ports === undefined || rule.ports === null || !c.list(rule.ports, [...at, "ports"])) return;
    const seen = new Set<number>();
    rule.ports.forEach((port, j) => {
      const portPath: PathSegment[] = [...at, "ports", j];
      if (!c.object(port, portPath)) return;
      c.knownFields(port, portPath, ["number"]);
      if (port.number === undefined || port.number === null) {
        c.error([...portPath, "number"], "is required");
      } else if (c.integer(port.number, [...portPath, "number"], 1, 65535)) {
        if (seen.has(port.number as number)) c.error([...portPath, "number"], `duplicate port ${String(port.number)}`);
        seen.add(port.number as number);
      }
    });
  });
}

/** The allowed name closest to `name`: equal ignoring case, one a prefix of the other, or within edit distance 2. */
function closest(name: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const [a, b] = [candidate.toLowerCase(), name.toLowerCase()];
    if (a === b) return candidate;
    if (a.length >= 4 && b.length >= 4 && (a.startsWith(b) || b.startsWith(a))) return candidate;
    const d = editDistance(b, a);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
