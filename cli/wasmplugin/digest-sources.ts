// Where a WasmPlugin's spec.sha256 comes from, per URL scheme (PACKAGING.md §1.3):
//   oci://   the image *manifest* digest Istio pulls (the linux/amd64 child of an index),
//            from a local layout/archive or the registry — never a hash of the .wasm;
//   http(s)  the sha256 of the module after gzip/tar are removed;
//   file://  none: the proxy reads the file itself.
// Every source checks that Istio would accept what it hashes, so a WasmPlugin is never
// pinned to an image or module that cannot load.
import { CliError, ExitCode } from "../errors.js";
import { checkImage } from "../oci/istio-acceptance.js";
import type { ImageSource } from "../oci/image-source.js";
import { openLayoutPath } from "../oci/layout-archive.js";
import { checkModule, hasFailures } from "../module/checks.js";
import { DEFAULT_MAX_MODULE_BYTES } from "../module/unwrap.js";
import { readInputFile } from "../yaml-source.js";

export interface DigestSource {
  sha256: string;
  /** For the YAML comment and messages, e.g. "manifest digest of layout out/ (v1)". */
  origin: string;
}

/** The manifest digest Istio would compare for `source`, refusing an image Istio rejects. */
export async function imageDigest(source: ImageSource): Promise<DigestSource> {
  const check = await checkImage(source);
  if (!check.accepted || check.sha256 === undefined) {
    const first = check.errors[0];
    throw new CliError(`${source.description}: Istio would not load this image: ${first?.message ?? "no module found"}`, ExitCode.Invalid, first?.fix ?? "Run pwas verify on it for details.");
  }
  const via = check.indexDigest ? `, the linux/amd64 image of index ${check.indexDigest}` : "";
  return { sha256: check.sha256, origin: `manifest digest of ${source.description}${via}` };
}

/** From an OCI layout directory or archive; `tag` picks the image when it holds several. */
export async function layoutDigest(path: string, tag: string | undefined): Promise<DigestSource> {
  const layout = await openLayoutPath(path);
  return imageDigest(layout.source(layout.select(tag)));
}

/** For http(s): the unwrapped module's sha256, after checking Envoy would load it. */
export async function moduleDigest(bytes: Uint8Array, origin: string): Promise<DigestSource> {
  const report = await checkModule(bytes, { source: origin });
  if (hasFailures(report.checks)) {
    const failure = report.checks.find((c) => c.status === "fail")!;
    throw new CliError(`${origin}: Envoy would not load this module: ${failure.message}`, ExitCode.Invalid, failure.hint ?? `Run pwas verify ${origin} for details.`);
  }
  const unwrapped = report.layers.length > 0 ? ` after removing ${report.layers.join(" + ")}` : "";
  return { sha256: report.sha256, origin: `sha256 of the module ${origin}${unwrapped}` };
}

export async function moduleFileDigest(path: string): Promise<DigestSource> {
  return moduleDigest(await readInputFile(path), path);
}

/** Downloads an http(s) module as istio-agent would, bounded by its size limit. */
export async function downloadedModuleDigest(url: string): Promise<DigestSource> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new CliError(`${url}: download failed: ${(error as Error).message}`, ExitCode.Registry, "Check the URL and that the server is reachable, or pass --module <file> / --sha256.");
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CliError(`${url}: the server answered ${response.status} ${response.statusText}`, ExitCode.Registry, "Check the URL, or pass --module <file> / --sha256.");
  }
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > DEFAULT_MAX_MODULE_BYTES) {
    await response.body?.cancel();
    throw new CliError(`${url}: ${declared} bytes is over Istio's 256 MiB limit`, ExitCode.Invalid, "Istio truncates bigger downloads; make the module smaller.");
  }
  return moduleDigest(new Uint8Array(await response.arrayBuffer()), url);
}

/** All sources must agree (a conflict is a DigestMismatch naming both); the origin names each. */
export function reconcileDigests(sources: readonly DigestSource[]): DigestSource | undefined {
  const [first, ...rest] = sources;
  for (const other of rest) {
    if (other.sha256 !== first!.sha256) {
      throw new CliError(`sha256 mismatch: ${first!.origin} is ${first!.sha256}, but ${other.origin} is ${other.sha256}`, ExitCode.DigestMismatch, "Give one source of the digest, or make sure they name the same image or module.");
    }
  }
  if (!first) return undefined;
  return rest.length === 0 ? first : { sha256: first.sha256, origin: [first.origin, ...rest.map((r) => `same as the ${r.origin}`)].join("; ") };
}
