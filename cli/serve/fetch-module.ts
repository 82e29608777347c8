// Modules that are not local files, fetched as istio-agent would: oci:// images through
// the registry client (Istio's acceptance rules, sha256 = the manifest digest) and
// http(s):// downloads unwrapped from gzip/tar (sha256 = the module's digest).
import { CliError, ExitCode } from "../errors.js";
import { checkImage, formatFindings, openImage, sha256Hex, unboxLikeIstio } from "../oci/index.js";
import type { PluginDefinition } from "./plugin-definition.js";

function checkSha(definition: PluginDefinition, actual: string, what: string): void {
  if (definition.sha256 && definition.sha256 !== actual) {
    throw new CliError(
      `${definition.name}: ${definition.url} has ${what} ${actual}, which does not match spec.sha256 ${definition.sha256}`,
      ExitCode.DigestMismatch,
      "update spec.sha256, or pin the image you meant",
    );
  }
}

export async function fetchModule(definition: PluginDefinition): Promise<{ bytes: Uint8Array; digest?: string }> {
  const url = definition.url;
  if (/^https?:\/\//.test(url)) {
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new CliError(`${definition.name}: cannot download ${url}: ${(error as Error).message}`, ExitCode.Registry);
    }
    if (!response.ok) throw new CliError(`${definition.name}: downloading ${url} answered ${response.status}`, ExitCode.Registry);
    const bytes = await unboxLikeIstio(new Uint8Array(await response.arrayBuffer()));
    checkSha(definition, sha256Hex(bytes), "a module sha256");
    return { bytes };
  }
  // Istio reads a url without a scheme as oci://.
  const reference = url.startsWith("oci://") ? url : `oci://${url}`;
  const opened = await openImage(reference);
  const check = await checkImage(opened.source, { reference: reference.slice("oci://".length) });
  if (!check.accepted || !check.module) {
    throw new CliError(`${definition.name}: istio-agent would not load ${reference}:\n${formatFindings(check)}`, ExitCode.Invalid);
  }
  checkSha(definition, check.sha256 ?? "", "the manifest digest");
  return { bytes: check.module, ...(check.manifestDigest ? { digest: check.manifestDigest } : {}) };
}
