// Text and JSON forms of a VerifyReport.
import { formatBytes } from "../module/checks.js";
import { countStatuses, plural, renderChecks } from "./render.js";
import type { VerifyReport } from "./verify.js";

export function renderReport(report: VerifyReport): string {
  const out: string[] = [];
  if (report.image) {
    const image = report.image;
    out.push(`image ${image.description}`);
    if (image.manifestDigest) out.push(`  manifest digest ${image.manifestDigest}${image.indexDigest ? ` (linux/amd64 child of index ${image.indexDigest})` : ""}`);
    if (image.sha256) out.push(`  WasmPlugin spec.sha256 for an oci:// url: ${image.sha256}`);
    out.push(renderChecks(image.checks));
    if (image.istioError && !image.accepted) out.push(`  istio-agent would log: ${image.istioError.trim().split("\n").join(" ")}`);
  }
  if (report.module) {
    const m = report.module;
    out.push(`module ${m.source} (${formatBytes(m.size)}${m.abiVersion ? `, ABI ${m.abiVersion}` : ""})`);
    const isModule = m.checks.some((c) => c.id === "format" && c.status === "pass");
    if (isModule) out.push(`  sha256 ${m.sha256}${report.kind === "module" ? " (spec.sha256 when served over http(s))" : ""}`);
    out.push(renderChecks(m.checks));
  }
  const all = [...(report.image?.checks ?? []), ...(report.module?.checks ?? [])];
  const { failures, warnings } = countStatuses(all);
  const what = report.kind === "image" ? "Istio would load a working plugin from this image" : "Envoy would load this module";
  const verdict = report.ok
    ? `${what}${warnings > 0 ? ` (${plural(warnings, "warning")})` : ""}`
    : `${plural(failures, "failure")}${warnings > 0 ? `, ${plural(warnings, "warning")}` : ""}: ${report.kind === "image" ? "Istio or Envoy would refuse it" : "Envoy would not load it"}`;
  out.push(`${report.ok ? "ok" : "FAILED"}: ${verdict}`);
  return out.join("\n") + "\n";
}

