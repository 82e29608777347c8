// Turns an extension image's module into a compat image (plugin.wasm in one tar+gzip
// layer, PACKAGING.md §6) and stores it: pushed to a registry, or written as an OCI
// layout directory or archive to push later.
import { CliError, ExitCode } from "../errors.js";
import { pathKind } from "../oci/atomic-fs.js";
import { digestHex } from "../oci/digest.js";
import { buildImage } from "../oci/image-builder.js";
import { writeLayoutArchive } from "../oci/layout-archive.js";
import { writeLayoutDir } from "../oci/layout.js";
import { formatReference, parseReference } from "../oci/reference.js";
import { pushBundle } from "../oci/transfer.js";
import { registryClient, type RegistryFlags } from "../registry-options.js";
import { normalizePluginUrl } from "../wasmplugin/url.js";

export interface Repackaged {
  /** The WasmPlugin url of the new image. */
  url: string;
  /** Its manifest digest (hex): the WasmPlugin's sha256. */
  sha256: string;
  /** Where it went, for messages. */
  destination: string;
}

/** A registry reference, unless `to` is an existing path or clearly a file or directory name. */
export async function isLocalDestination(to: string): Promise<boolean> {
  if (/^oci:\/\//i.test(to)) return false;
  if ((await pathKind(to)) !== "missing") return true;
  return /^\.{0,2}\//.test(to) || /\.tar$/i.test(to) || !/[/:@]/.test(to);
}

export async function repackage(module: Uint8Array, rootId: string, to: string, url: string | undefined, flags: RegistryFlags): Promise<Repackaged> {
  const bundle = await buildImage({ module, variant: "compat", rootIds: [rootId] });
  if (await isLocalDestination(to)) {
    if (url === undefined) {
      throw new CliError(`--to ${to} is a local layout, so the WasmPlugin url is unknown`, ExitCode.Usage, "Add --url oci://<registry>/<repository>:<tag>: where you will push the layout (the digest stays the same).");
    }
    const target = normalizePluginUrl(url);
    if (target.scheme !== "oci") throw new CliError("--url must be an oci:// image reference when --to is a layout", ExitCode.Usage);
    const tag = target.ref!.tag;
    if (/\.tar$/i.test(to)) await writeLayoutArchive(to, bundle, tag);
    else await writeLayoutDir(to, bundle, tag);
    return { url: target.url, sha256: digestHex(bundle.root.digest), destination: `layout ${to}` };
  }
  if (url !== undefined) throw new CliError("--url is only for --to <layout>; with a registry reference the url is that reference", ExitCode.Usage);
  const ref = parseReference(to);
  if (ref.digest !== undefined) throw new CliError(`--to ${to} has a digest; push to a tag`, ExitCode.Usage, "The digest is decided by the content: pwas prints it after the push.");
  const client = registryClient(ref.registry, flags);
  const pushed = await pushBundle(client, ref.repository, bundle, ref.tag ?? "latest");
  if (pushed.digest !== bundle.root.digest) {
    throw new CliError(`the registry stored the manifest as ${pushed.digest}, not ${bundle.root.digest}`, ExitCode.DigestMismatch, "The registry rewrote the manifest; the WasmPlugin's sha256 would not match. Use another registry.");
  }
  const tagged = { ...ref, tag: ref.tag ?? "latest" };
  return { url: `oci://${formatReference(tagged)}`, sha256: digestHex(pushed.digest), destination: `oci://${formatReference(tagged)}` };
}
