// Reads a ServiceMeshExtension image the way OSSM's extension cache did (maistra/istio
// mec/: copy /manifest.yaml and /<manifest.module> out of the container): the layers are
// applied in order as a file system, then manifest.yaml names the module.
import { CliError, ExitCode } from "../errors.js";
import { MAX_INFLATED_LAYER_BYTES } from "../oci/istio-acceptance.js";
import { gunzip, isGzip } from "../oci/gzip.js";
import { resolveImage, type ImageSource } from "../oci/image-source.js";
import { readTar } from "../oci/tar.js";
import { isObject } from "../wasmplugin/schema.js";
import { parseYamlDocuments } from "../yaml-source.js";
import { isSmePhase, SME_PHASES, type SmePhase } from "./phase.js";

export interface ExtensionManifest {
  name?: string;
  version?: string;
  phase: SmePhase;
  priority: number;
  module: string;
}

export interface ExtensionImage {
  manifest: ExtensionManifest;
  module: Uint8Array;
  /** The manifest digest of the image read. */
  digest: string;
}

const normalize = (path: string): string => path.replace(/^(\.?\/)+/, "").replace(/\/+$/, "");

export async function readExtensionImage(source: ImageSource): Promise<ExtensionImage> {
  const { image, manifest } = await resolveImage(source);
  const files = new Map<string, Uint8Array>();
  for (const layer of manifest.layers) {
    let bytes = await source.blob(layer);
    if (isGzip(bytes)) bytes = gunzip(bytes, `${source.description} layer ${layer.digest}`, MAX_INFLATED_LAYER_BYTES);
    let entries;
    try {
      entries = await readTar(bytes);
    } catch (error) {
      throw new CliError(`${source.description}: layer ${layer.digest} is not a tar (${layer.mediaType}): ${(error as Error).message}`, ExitCode.Invalid, "An extension image is a container image: FROM scratch, with manifest.yaml and the module added.");
    }
    for (const entry of entries) {
      const path = normalize(entry.name);
      const slash = path.lastIndexOf("/");
      const base = path.slice(slash + 1);
      // OCI whiteouts: ".wh.<name>" deletes <name> from lower layers.
      if (base.startsWith(".wh.")) {
        const dir = path.slice(0, slash + 1);
        if (base === ".wh..wh..opq") {
          for (const key of [...files.keys()]) if (key.startsWith(dir)) files.delete(key);
        } else {
          const target = dir + base.slice(4);
          for (const key of [...files.keys()]) if (key === target || key.startsWith(`${target}/`)) files.delete(key);
        }
        continue;
      }
      if (entry.type === "file") files.set(path, entry.data);
    }
  }
  const manifestBytes = files.get("manifest.yaml");
  if (!manifestBytes) {
    throw new CliError(`${source.description} has no /manifest.yaml, so it is not a ServiceMeshExtension image`, ExitCode.Invalid, "If it is already a WasmPlugin image, point the WasmPlugin's url at it directly (pwas verify checks it).");
  }
  const parsed = parseExtensionManifest(new TextDecoder().decode(manifestBytes), `${source.description} /manifest.yaml`);
  const module = files.get(normalize(parsed.module));
  if (!module) {
    throw new CliError(`${source.description}: manifest.yaml names the module ${parsed.module}, which is not in the image`, ExitCode.Invalid, `The image holds: ${[...files.keys()].join(", ") || "no files"}.`);
  }
  return { manifest: parsed, module, digest: image.digest };
}

/** manifest.yaml of an extension image (maistra/istio mec/pkg/model/types.go). */
export function parseExtensionManifest(text: string, what: string): ExtensionManifest {
  const documents = parseYamlDocuments(text, what);
  const value = documents[0]?.value;
  if (!isObject(value)) throw new CliError(`${what} is not a mapping`, ExitCode.Invalid);
  const problem = (field: string, why: string) => new CliError(`${what}: ${field} ${why}`, ExitCode.Invalid, "An extension manifest has schemaVersion: 1, phase, priority and module.");
  if (value.schemaVersion !== undefined && String(value.schemaVersion) !== "1") throw problem("schemaVersion", `is ${String(value.schemaVersion)}; only 1 exists`);
  if (typeof value.module !== "string" || value.module === "") throw problem("module", "is missing");
  if (!isSmePhase(value.phase)) throw problem("phase", `must be one of ${SME_PHASES.join(", ")}`);
  if (typeof value.priority !== "number" || !Number.isInteger(value.priority)) throw problem("priority", "must be an integer");
  return {
    module: value.module,
    phase: value.phase,
    priority: value.priority,
    ...(typeof value.name === "string" ? { name: value.name } : {}),
    ...(value.version !== undefined ? { version: String(value.version) } : {}),
  };
}
