// istio-agent's acceptance rules for Wasm images, restated: decide exactly as
// pkg/wasm/imagefetcher.go PrepareFetch (+ cache.go isValidWasmBinary) does, and say what
// to change when it would refuse (PACKAGING.md §1.2–1.5). Used by pull, push, verify.
import { CliError, ExitCode } from "../errors.js";
import { digestHex, sha256Hex } from "./digest.js";
import { gunzip, InflateLimitError } from "./gzip.js";
import { PLUGIN_FILE } from "./image-builder.js";
import { resolveImage, type ImageSource } from "./image-source.js";
import type { Descriptor, ImageManifest } from "./manifest.js";
import * as mt from "./media-types.js";
import { formatReference, parseReference, type ImageReference } from "./reference.js";
import { readTar } from "./tar.js";
import { isValidWasmBinary } from "./wasm-module.js";

/** ISTIO_WASM_MAX_BINARY_SIZE_BYTES' default (configurable from Istio 1.30; fixed before). */
export const ISTIO_MAX_BINARY_BYTES = 256 * 1024 * 1024;
/** What a tar of one module adds to it: headers, padding, the end blocks (and room for a directory entry or two). */
const TAR_OVERHEAD_BYTES = 64 * 1024;
/** The most a Wasm image's tar layer may inflate to (any module larger is refused anyway). */
export const MAX_INFLATED_LAYER_BYTES = ISTIO_MAX_BINARY_BYTES + TAR_OVERHEAD_BYTES;

export type IstioVariant = "compat-docker" | "compat-oci" | "oci";

export interface Finding {
  message: string;
  /** What to change. */
  fix: string;
}

export interface ImageCheck {
  /** Whether istio-agent would load a module from this image. */
  accepted: boolean;
  /** Which extractor succeeded: compat with Docker media types, compat with OCI media types, or the oci variant. */
  variant?: IstioVariant;
  /** The bytes istio-agent would hand to Envoy. */
  module?: Uint8Array;
  /** sha256 hex of the module (what an http(s) URL's `sha256` would be; not used for oci://). */
  moduleSha256?: string;
  /** The manifest digest istio-agent compares (the linux/amd64 child when the root is an index). */
  manifestDigest?: string;
  /** A WasmPlugin's `spec.sha256` for an oci:// URL to this image: the manifest digest's hex. */
  sha256?: string;
  /** The index digest, when the reference points to an index. */
  indexDigest?: string;
  errors: Finding[];
  warnings: Finding[];
  /** The error istio-agent would log, to match against proxy logs. */
  istioError?: string;
}

export interface CheckOptions {
  /** The reference the image is (or will be) deployed from, for tag/digest guardrails. */
  reference?: ImageReference | string;
  /** ISTIO_WASM_MAX_BINARY_SIZE_BYTES, if the mesh changed it. */
  maxBinaryBytes?: number;
}

/** An extractor's refusal, worded as istio-agent words it; `detail` adds what pwas saw. */
class ExtractError extends Error {
  constructor(message: string, readonly detail = "") {
    super(message);
  }
}

async function extractPluginFromTarGzip(source: ImageSource, layer: Descriptor, maxBinaryBytes: number): Promise<Uint8Array> {
  const compressed = await source.blob(layer);
  let tar: Uint8Array;
  try {
    // Inflated only as far as a module Istio would accept can reach: a bomb stops there.
    tar = gunzip(compressed, `layer ${layer.digest}`, maxBinaryBytes + TAR_OVERHEAD_BYTES);
  } catch (error) {
    if (error instanceof InflateLimitError) throw error;
    throw new ExtractError(`could not extract wasm binary: failed to parse layer as tar.gz: ${(error as Error).message}`);
  }
  let entries;
  try {
    entries = await readTar(tar);
  } catch (error) {
    throw new ExtractError(`could not extract wasm binary: ${(error as Error).message}`);
  }
  // filepath.Base(h.Name) == "plugin.wasm", first match wins, whatever the entry type.
  const hit = entries.find((e) => e.name.replace(/\/+$/, "").split("/").pop() === PLUGIN_FILE);
  if (!hit) {
    const names = entries.map((e) => e.name);
    throw new ExtractError(`could not extract wasm binary: ${PLUGIN_FILE} not found in the archive`, `the layer holds ${names.length ? names.join(", ") : "no files"}`);
  }
  return hit.data;
}

async function extractCompat(source: ImageSource, manifest: ImageManifest, layerType: string, maxBinaryBytes: number): Promise<Uint8Array> {
  if (manifest.layers.length === 0) throw new ExtractError("number of layers must be greater than zero");
  const layer = manifest.layers[manifest.layers.length - 1]!;
  if (layer.mediaType !== layerType) throw new ExtractError(`invalid media type ${layer.mediaType} (expect ${layerType})`);
  return extractPluginFromTarGzip(source, layer, maxBinaryBytes);
}

async function extractOciArtifact(source: ImageSource, manifest: ImageManifest): Promise<Uint8Array> {
  if (manifest.layers.length !== 2) throw new ExtractError(`number of layers must be 2 but got ${manifest.layers.length}`);
  const layer = manifest.layers.find((l) => l.mediaType === mt.WASM_CONTENT_LAYER);
  if (!layer) throw new ExtractError(`could not find the layer of type ${mt.WASM_CONTENT_LAYER}`);
  return source.blob(layer);
}

const REPACKAGE = "repackage the module: `pwas package plugin.wasm` (compat, the default) or `pwas package plugin.wasm --variant oci`, then push it again";

/** Turns the extractors' errors into the one explanation that fits the image's shape. */
function diagnose(manifest: ImageManifest, compatError: ExtractError, docker: boolean): Finding {
  const layers = manifest.layers;
  const last = layers[layers.length - 1];
  const types = layers.map((l) => l.mediaType);
  if (docker) {
    if (last?.mediaType === mt.DOCKER_LAYER_TAR_GZIP) return pluginNotFound(compatError);
    return {
      message: `a Docker schema2 manifest must have a tar.gzip last layer (${mt.DOCKER_LAYER_TAR_GZIP}) holding ${PLUGIN_FILE}; ${layers.length === 0 ? "it has no layers" : `its last layer is ${last!.mediaType}`}. istio-agent does not try the other variants for Docker manifests`,
      fix: `${REPACKAGE} (add --format docker to keep Docker media types)`,
    };
  }
  if (last?.mediaType === mt.OCI_LAYER_TAR_GZIP) return pluginNotFound(compatError);
  if (types.includes(mt.WASM_TO_OCI_LAYER) || manifest.config.mediaType === mt.WASM_TO_OCI_CONFIG) {
    return { message: `this is a wasm-to-oci image (${mt.WASM_TO_OCI_LAYER}); Istio does not load that format (istio/istio#39990)`, fix: REPACKAGE };
  }
  if (types.includes(mt.CNCF_WASM_LAYER) || manifest.config.mediaType === mt.CNCF_WASM_CONFIG) {
    return { message: `this is a CNCF Wasm OCI artifact (${mt.CNCF_WASM_LAYER}, as wkg/wash push it); Istio does not load that format`, fix: REPACKAGE };
  }
  if (last?.mediaType === mt.OCI_LAYER_TAR || last?.mediaType === "application/vnd.docker.image.rootfs.diff.tar") {
    return { message: `the last layer is an uncompressed tar (${last.mediaType}); Istio reads only tar+gzip layers (${mt.OCI_LAYER_TAR_GZIP})`, fix: `rebuild with gzip layer compression, or ${REPACKAGE}` };
  }
  if (last && /zstd/.test(last.mediaType)) {
    return { message: `the last layer is zstd-compressed (${last.mediaType}); Istio reads only gzip (${mt.OCI_LAYER_TAR_GZIP})`, fix: `rebuild with gzip compression (e.g. docker buildx --output compression=gzip), or ${REPACKAGE}` };
  }
  if (types.includes(mt.WASM_CONTENT_LAYER) && layers.length !== 2) {
    return {
      message: `the oci variant needs exactly 2 layers (the runtime config and the module); this image has ${layers.length}. A plain \`oras push ref plugin.wasm:${mt.WASM_CONTENT_LAYER}\` makes this one-layer shape`,
      fix: `${REPACKAGE}; with oras, push two files: runtime-config.json:${mt.WASM_CONFIG} and plugin.wasm:${mt.WASM_CONTENT_LAYER}`,
    };
  }
  if (layers.length === 2) {
    return { message: `no layer has the module media type ${mt.WASM_CONTENT_LAYER} (layers: ${types.join(", ")}), and the last layer is not ${mt.OCI_LAYER_TAR_GZIP}`, fix: REPACKAGE };
  }
  return {
    message: `the image matches no variant Istio loads: the last layer is ${last ? last.mediaType : "missing (no layers)"} (compat needs ${mt.OCI_LAYER_TAR_GZIP} or ${mt.DOCKER_LAYER_TAR_GZIP}), and it has ${layers.length} layer(s) (the oci variant needs 2, one of type ${mt.WASM_CONTENT_LAYER})`,
    fix: REPACKAGE,
  };

  function pluginNotFound(error: ExtractError): Finding {
    return {
      message: `the last layer is tar+gzip but Istio could not take ${PLUGIN_FILE} from it: ${error.message}${error.detail ? ` (${error.detail})` : ""}`,
      fix: `name the module ${PLUGIN_FILE} inside the last layer (Istio matches the base name, e.g. /plugin.wasm), or ${REPACKAGE}`,
    };
  }
}

/** Guardrails on the reference alone: :latest means Always, untagged means IfNotPresent (PACKAGING.md §1.4). */
export function referenceWarnings(reference: ImageReference | string): Finding[] {
  const ref = typeof reference === "string" ? parseReference(reference) : reference;
  const warnings: Finding[] = [];
  if (ref.tag === "latest" && ref.digest === undefined) {
    warnings.push({
      message: `oci://${formatReference(ref)} uses the :latest tag: istio-agent then treats an unset imagePullPolicy as Always and pulls again on every change to the WasmPlugin`,
      fix: "push a versioned tag (e.g. :v1.2.0) or pin the digest, and set sha256 in the WasmPlugin",
    });
  }
  if (ref.tag === undefined && ref.digest === undefined) {
    warnings.push({
      message: `oci://${formatReference(ref)} has no tag: registries resolve it to latest, but istio-agent treats it as IfNotPresent (it only special-cases a literal :latest), so new pushes are not picked up`,
      fix: "use an explicit tag (e.g. :v1) or a @sha256: digest",
    });
  }
  return warnings;
}

function sizeWarnings(module: Uint8Array, limit: number): Finding[] {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (module.byteLength > limit) {
    return [{
      message: `the module is ${mib(module.byteLength)}, over istio-agent's ${mib(limit)} limit (ISTIO_WASM_MAX_BINARY_SIZE_BYTES): it is silently truncated and then fails to load`,
      fix: "build a smaller module (release target: -O3 --shrinkLevel 2 --converge), or on Istio 1.30+ raise ISTIO_WASM_MAX_BINARY_SIZE_BYTES",
    }];
  }
  if (module.byteLength > limit * 0.8) {
    return [{ message: `the module is ${mib(module.byteLength)}, close to istio-agent's ${mib(limit)} limit (ISTIO_WASM_MAX_BINARY_SIZE_BYTES)`, fix: "keep an eye on the size; strip debug info in release builds" }];
  }
  return [];
}

function describeStart(b: Uint8Array): string {
  if (b.byteLength === 0) return "it is empty";
  return `it is ${b.byteLength} bytes starting ${Buffer.from(b.subarray(0, 4)).toString("hex").replace(/(..)/g, "$1 ").trim()}`;
}

/**
 * Decides whether istio-agent would load a module from the image `source` points to, and
 * returns the module and the digests a WasmPlugin needs. Never throws for an image Istio
 * would refuse (see `errors`); throws CliError for unreadable sources or digest mismatches.
 */
export async function checkImage(source: ImageSource, options: CheckOptions = {}): Promise<ImageCheck> {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const reference = options.reference === undefined ? undefined : typeof options.reference === "string" ? parseReference(options.reference) : options.reference;
  if (reference) warnings.push(...referenceWarnings(reference));
  const url = reference ? `oci://${formatReference(reference)}` : source.description;

  let resolved;
  try {
    resolved = await resolveImage(source);
  } catch (error) {
    if (error instanceof CliError && error.exitCode === ExitCode.Invalid) {
      errors.push({ message: error.message, fix: error.hint ?? REPACKAGE });
      return { accepted: false, errors, warnings, istioError: `could not fetch image: ${error.message}` };
    }
    throw error;
  }
  const { image, manifest, indexes } = resolved;
  const result: ImageCheck = { accepted: false, manifestDigest: image.digest, sha256: digestHex(image.digest), errors, warnings };
  if (indexes.length > 0) {
    const index = indexes[0]!;
    result.indexDigest = index.digest;
    warnings.push({
      message: `the reference points to an index (platforms: ${resolved.platforms.join(", ")}); istio-agent uses its linux/amd64 image ${image.digest}, so sha256 must be ${digestHex(image.digest)}, not the index digest`,
      fix: "push the single image instead of an index (`pwas package` never makes one), or pin the child digest",
    });
    if (reference?.digest === index.digest) {
      errors.push({
        message: `${url} pins the index digest; istio-agent checks it against the linux/amd64 image's digest and fails with "module downloaded from ... has checksum ${digestHex(image.digest)}, which does not match: ${digestHex(index.digest)}"`,
        fix: `pin the image instead: @${image.digest} (sha256: ${digestHex(image.digest)})`,
      });
    }
  }

  const docker = (manifest as { mediaType?: string }).mediaType === mt.DOCKER_MANIFEST;
  const maxBinaryBytes = options.maxBinaryBytes ?? ISTIO_MAX_BINARY_BYTES;
  let module: Uint8Array | undefined;
  let tooLarge: InflateLimitError | undefined;
  const attempt = async (fn: () => Promise<Uint8Array>): Promise<ExtractError | undefined> => {
    try {
      module = await fn();
      return undefined;
    } catch (error) {
      if (error instanceof InflateLimitError) {
        tooLarge = error;
        return new ExtractError(`could not extract wasm binary: ${error.message}`);
      }
      if (error instanceof ExtractError) return error;
      throw error;
    }
  };
  const refuseTooLarge = (): ImageCheck => {
    errors.push({ message: `${tooLarge!.message}: larger than any module istio-agent accepts (${maxBinaryBytes} bytes, ISTIO_WASM_MAX_BINARY_SIZE_BYTES)`, fix: "make the module smaller, or check that this image is the plugin you meant" });
    result.istioError = `wasm binary size exceeds the limit of ${maxBinaryBytes} bytes`;
    return result;
  };
  if (docker) {
    // Docker schema2: only the Docker compat extractor is tried.
    const dockerError = await attempt(() => extractCompat(source, manifest, mt.DOCKER_LAYER_TAR_GZIP, maxBinaryBytes));
    if (tooLarge) return refuseTooLarge();
    if (dockerError !== undefined) {
      errors.push(diagnose(manifest, dockerError, true));
      result.istioError = `could not extract Wasm file from the image as Docker container ${dockerError.message}`;
      return result;
    }
    result.variant = "compat-docker";
  } else {
    const compatError = await attempt(() => extractCompat(source, manifest, mt.OCI_LAYER_TAR_GZIP, maxBinaryBytes));
    if (tooLarge) return refuseTooLarge();
    if (compatError === undefined) result.variant = "compat-oci";
    else {
      const ociError = await attempt(() => extractOciArtifact(source, manifest));
      if (ociError === undefined) result.variant = "oci";
      else {
        errors.push(diagnose(manifest, compatError, false));
        result.istioError =
          `the given image is in invalid format as an OCI image: 2 errors occurred:\n\t* could not parse as compat variant: ${compatError.message}\n\t* could not parse as oci variant: ${ociError.message}\n\n`;
        return result;
      }
    }
  }

  const bytes = module!;
  result.module = bytes;
  result.moduleSha256 = sha256Hex(bytes);
  if (!isValidWasmBinary(bytes)) {
    errors.push({
      message: `the module istio-agent extracts (${result.variant === "oci" ? `the ${mt.WASM_CONTENT_LAYER} layer` : PLUGIN_FILE}) is not WebAssembly: ${describeStart(bytes)}, expected at least 8 bytes starting 00 61 73 6d`,
      fix: "package the compiled .wasm itself (not .wat, not gzipped), e.g. `pwas package build/plugin.wasm`",
    });
    result.istioError = `fetched Wasm binary from ${url} is invalid`;
    return result;
  }
  warnings.push(...sizeWarnings(bytes, maxBinaryBytes));
  result.accepted = errors.length === 0;
  return result;
}

/** One line per finding, for printing: "error: …\n  fix: …". */
export function formatFindings(check: Pick<ImageCheck, "errors" | "warnings">): string {
  const lines: string[] = [];
  for (const e of check.errors) lines.push(`error: ${e.message}`, `  fix: ${e.fix}`);
  for (const w of check.warnings) lines.push(`warning: ${w.message}`, `  fix: ${w.fix}`);
  return lines.length ? `${lines.join("\n")}\n` : "";
}
