// What imagePullPolicy really does with a given URL (PACKAGING.md §1.4): Istio re-pulls
// `:latest` on every change to the resource unless told otherwise, never re-pulls an
// untagged reference, and keys its cache by sha256 when one is given. Shared by
// `pwas wasmplugin` (warnings while generating) and `pwas validate` (warnings on files).
import type { PluginUrl } from "./url.js";

export interface Advice {
  /** The spec field the advice is about. */
  field: "url" | "imagePullPolicy" | "imagePullSecret" | "sha256";
  message: string;
  hint?: string;
}

export function pullPolicyAdvice(url: PluginUrl, policy: string | undefined, sha256: string | undefined, pullSecret?: string): Advice[] {
  const advice: Advice[] = [];
  const effective = policy === undefined || policy === "UNSPECIFIED_POLICY" ? undefined : policy;
  if (url.scheme !== "oci") {
    if (effective !== undefined) advice.push({ field: "imagePullPolicy", message: `is ignored for ${url.scheme}:// URLs; it applies to oci:// images only` });
    if (pullSecret !== undefined) advice.push({ field: "imagePullSecret", message: `is ignored for ${url.scheme}:// URLs; it applies to oci:// images only` });
    return advice;
  }
  const ref = url.ref!;
  const pinned = sha256 !== undefined && sha256 !== "" ? "spec.sha256" : ref.digest !== undefined ? "the @sha256: digest" : undefined;
  if (ref.tag === "latest" && pinned === undefined) {
    if (effective === undefined) {
      advice.push({
        field: "url",
        message: "uses the tag latest with no imagePullPolicy: Istio then behaves as Always and pulls again whenever this WasmPlugin changes (any edit, even to metadata)",
        hint: "Push a version tag (e.g. :0.1.0) and use it, or set imagePullPolicy explicitly; give spec.sha256 to pin the exact image.",
      });
    } else if (effective === "IfNotPresent") {
      advice.push({ field: "url", message: "uses the tag latest with IfNotPresent: every node keeps whichever latest it pulled first", hint: "Use a version tag, or add spec.sha256." });
    }
  } else if (ref.tag === undefined && ref.digest === undefined) {
    advice.push({
      field: "url",
      message: "has no tag: the registry serves latest, but Istio treats it as IfNotPresent (the URL has no :latest suffix), so later pushes are never picked up",
      hint: "Add a version tag (oci://…/repo:0.1.0), or a digest (@sha256:…).",
    });
  }
  if (effective === "Always" && pinned !== undefined) {
    advice.push({ field: "imagePullPolicy", message: `Always has no effect: the module is cached by ${pinned}, so it is pulled once` });
  }
  return advice;
}
