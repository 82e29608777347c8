// An image's files, for tools that repackage images (e.g. `pwas migrate --image` turning a
// ServiceMeshExtension image, whose manifest.yaml names the module, into a compat image).
// Tar layers are applied in order with OCI whiteouts; file-like artifact layers (oras,
// wasme) appear under their org.opencontainers.image.title.
import { CliError, ExitCode } from "../errors.js";
import { MAX_INFLATED_LAYER_BYTES } from "./istio-acceptance.js";
import { gunzip, isGzip } from "./gzip.js";
import { resolveImage, type ImageSource } from "./image-source.js";
import type { Descriptor, ImageManifest } from "./manifest.js";
import { ANNOTATION_TITLE } from "./media-types.js";
import { readTar, type TarEntry } from "./tar.js";


const isTarLayer = (mediaType: string): boolean => /(\.tar|rootfs\.diff\.tar)(\+gzip|\.gzip|\+zstd)?$/.test(mediaType) || mediaType.endsWith(".tar.gzip");

/** The entries of one tar layer (gzip or plain). zstd layers are refused with a clear message. */
export async function readLayerEntries(source: ImageSource, layer: Descriptor): Promise<TarEntry[]> {
  if (/zstd/.test(layer.mediaType)) {
    throw new CliError(`layer ${layer.digest} is zstd-compressed (${layer.mediaType}); pwas reads gzip and plain tar layers`, ExitCode.Invalid, "re-export the image with gzip layers");
  }
  let bytes = await source.blob(layer);
  if (isGzip(bytes)) bytes = gunzip(bytes, `layer ${layer.digest}`, MAX_INFLATED_LAYER_BYTES);
  try {
    return await readTar(bytes);
  } catch (error) {
    throw new CliError(`layer ${layer.digest} is not a tar archive: ${(error as Error).message}`, ExitCode.Invalid, "the image is damaged; pull or rebuild it");
  }
}

const normalise = (name: string): string => name.replace(/^(\.?\/)+/, "").replace(/\/+$/, "");

/**
 * The regular files of the image `source` points to (an index resolves to its linux/amd64
 * image, as istio-agent would), by normalised path ("plugin.wasm", "etc/x.yaml").
 */
export async function readImageFiles(source: ImageSource, manifest?: ImageManifest): Promise<Map<string, Uint8Array>> {
  const image = manifest ?? (await resolveImage(source)).manifest;
  const files = new Map<string, Uint8Array>();
  for (const layer of image.layers) {
    if (!isTarLayer(layer.mediaType)) {
      const title = layer.annotations?.[ANNOTATION_TITLE];
      if (title) files.set(normalise(title), await source.blob(layer));
      continue;
    }
    for (const entry of await readLayerEntries(source, layer)) {
      const path = normalise(entry.name);
      const slash = path.lastIndexOf("/");
      const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
      const base = path.slice(slash + 1);
      if (base === ".wh..wh..opq") {
        for (const p of [...files.keys()]) if (p.startsWith(dir)) files.delete(p);
        continue;
      }
      if (base.startsWith(".wh.")) {
        const gone = dir + base.slice(4);
        for (const p of [...files.keys()]) if (p === gone || p.startsWith(`${gone}/`)) files.delete(p);
        continue;
      }
      if (entry.type === "file" || entry.type === "contiguous-file") files.set(path, entry.data);
    }
  }
  return files;
}
