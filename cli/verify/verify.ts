// pwas verify, as data: the image acceptance checks of cli/oci (istio-agent's rules) for
// images, then the module checks (Envoy's rules) on the module Istio would extract.
import { checkImage, type ImageCheck, type IstioVariant } from "../oci/istio-acceptance.js";
import type { ImageSource } from "../oci/image-source.js";
import { checkModule, hasFailures, type Check, type ModuleReport } from "../module/checks.js";
import type { VerifyTarget } from "./target.js";

export interface ImageSummary {
  description: string;
  accepted: boolean;
  variant?: IstioVariant;
  manifestDigest?: string;
  /** spec.sha256 for an oci:// URL to this image. */
  sha256?: string;
  indexDigest?: string;
  istioError?: string;
  checks: Check[];
}

export interface VerifyReport {
  target: string;
  kind: "module" | "image";
  ok: boolean;
  image?: ImageSummary;
  module?: ModuleReport;
}

export interface VerifyOptions {
  maxBytes?: number;
  instantiate?: boolean;
  /** Layout entry to check when the layout holds several images. */
  tag?: string;
  /** Opens a registry reference; supplied by the command (it owns the registry options). */
  openRemote?: (target: Extract<VerifyTarget, { kind: "remote" }>) => Promise<ImageSource>;
}

export async function verifyTarget(arg: string, target: VerifyTarget, options: VerifyOptions = {}): Promise<VerifyReport> {
  const moduleOptions = { ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}), ...(options.instantiate !== undefined ? { instantiate: options.instantiate } : {}) };
  if (target.kind === "module") {
    const module = await checkModule(target.bytes, { source: target.path, ...moduleOptions });
    return { target: arg, kind: "module", ok: !hasFailures(module.checks), module };
  }

  let source: ImageSource;
  let reference;
  if (target.kind === "layout") {
    source = target.layout.source(target.layout.select(options.tag));
  } else {
    if (!options.openRemote) throw new Error("verifyTarget: a registry reference needs openRemote");
    source = await options.openRemote(target);
    reference = target.reference;
  }
  const check = await checkImage(source, { ...(reference ? { reference } : {}), ...(options.maxBytes !== undefined ? { maxBinaryBytes: options.maxBytes } : {}) });
  const image = summarize(source.description, check);
  let module: ModuleReport | undefined;
  if (check.module && check.errors.length === 0) {
    // Istio hands the extracted bytes to Envoy as they are: no unwrapping here.
    module = await checkModule(check.module, { source: `plugin.wasm in ${source.description}`, unwrap: false, ...moduleOptions });
  }
  const ok = image.accepted && module !== undefined && !hasFailures(module.checks);
  return { target: arg, kind: "image", ok, image, ...(module ? { module } : {}) };
}

function summarize(description: string, check: ImageCheck): ImageSummary {
  const checks: Check[] = [];
  if (check.accepted) {
    checks.push({ id: "image", status: "pass", message: `istio-agent accepts it (${variantName(check.variant)})` });
  }
  for (const e of check.errors) checks.push({ id: "image", status: "fail", message: e.message, hint: e.fix });
  for (const w of check.warnings) checks.push({ id: w.message.startsWith("oci://") ? "reference" : "image", status: "warn", message: w.message, hint: w.fix });
  return {
    description,
    accepted: check.accepted,
    ...(check.variant ? { variant: check.variant } : {}),
    ...(check.manifestDigest ? { manifestDigest: check.manifestDigest } : {}),
    ...(check.sha256 ? { sha256: check.sha256 } : {}),
    ...(check.indexDigest ? { indexDigest: check.indexDigest } : {}),
    ...(check.istioError ? { istioError: check.istioError } : {}),
    checks,
  };
}

export function variantName(variant: IstioVariant | undefined): string {
  switch (variant) {
    case "compat-oci":
      return "compat variant, OCI media types";
    case "compat-docker":
      return "compat variant, Docker media types";
    case "oci":
      return "oci variant (wasme)";
    default:
      return "no variant";
  }
}
