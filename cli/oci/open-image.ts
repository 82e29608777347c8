// One way to open "an image" from the command line, whatever it is: an OCI layout
// directory, a layout archive (.tar), or a registry reference. For verify, migrate, etc.
import { pathKind } from "./atomic-fs.js";
import type { ImageSource } from "./image-source.js";
import { openLayoutPath } from "./layout-archive.js";
import { parseReference, type ImageReference } from "./reference.js";
import { RegistryClient, type RegistryClientOptions } from "./registry-client.js";
import { cachingSource, registrySource } from "./registry-source.js";

export interface OpenedImage {
  kind: "layout" | "archive" | "registry";
  source: ImageSource;
  /** For registry images: the parsed reference (pass it to checkImage for the tag guardrails). */
  reference?: ImageReference;
  /** For layouts: the selected entry's ref name. */
  refName?: string;
}

export interface OpenImageOptions {
  /** Which image of a layout holding several. */
  tag?: string;
  /** Registry client options other than the registry itself (credentials, plainHttp, …). */
  registry?: Omit<RegistryClientOptions, "registry">;
}

/**
 * `oci://…` is always a registry reference; otherwise an existing path is a layout
 * (directory) or layout archive (file), and anything else is parsed as a reference.
 * Registry reads are memoised, so checking and then copying downloads each blob once.
 */
export async function openImage(spec: string, options: OpenImageOptions = {}): Promise<OpenedImage> {
  if (!spec.startsWith("oci://")) {
    const kind = await pathKind(spec);
    if (kind === "dir" || kind === "file") {
      const layout = await openLayoutPath(spec);
      const entry = layout.entries.length === 1 && options.tag === undefined ? layout.entries[0]! : layout.select(options.tag);
      return { kind: kind === "dir" ? "layout" : "archive", source: layout.source(entry), ...(entry.refName !== undefined ? { refName: entry.refName } : {}) };
    }
  }
  const reference = parseReference(spec);
  const client = new RegistryClient({ ...options.registry, registry: reference.registry });
  return { kind: "registry", source: cachingSource(registrySource(client, reference)), reference };
}
