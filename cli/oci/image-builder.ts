// Builds the two image variants Istio loads (PACKAGING.md §1.1, §6), reproducibly: no
// timestamps, fixed tar metadata, fixed gzip header, fixed JSON field order.
import { CliError, ExitCode } from "../errors.js";
import { sha256Digest } from "./digest.js";
import { gzipDeterministic } from "./gzip.js";
import { bundleOf, type ImageBundle } from "./image.js";
import { canonicalJson, type Descriptor } from "./manifest.js";
import * as mt from "./media-types.js";
import { generateRuntimeConfig, runtimeConfigBytes, RUNTIME_CONFIG_FILE } from "./runtime-config.js";
import { createTar, type TarFile } from "./tar.js";
import { hasWasmMagic } from "./wasm-module.js";

export type Variant = "compat" | "oci";
export type ManifestFormat = "oci" | "docker";

export const PLUGIN_FILE = "plugin.wasm";
/** The oci variant's module title, as wasme names it (tools/wasme/pkg/model/image.go). */
export const OCI_VARIANT_MODULE_TITLE = "filter.wasm";

export interface BuildOptions {
  module: Uint8Array;
  /** compat (default): one tar+gzip layer with plugin.wasm; oci: wasme's two-layer artifact. */
  variant?: Variant;
  /** oci (default) or docker (schema2 media types; compat only). */
  format?: ManifestFormat;
  /** runtime-config.json bytes. compat: included when given; oci: generated when absent. */
  runtimeConfig?: Uint8Array;
  /** Root ids for a generated runtime config. */
  rootIds?: readonly string[];
  /** Extra manifest annotations (OCI format only: schema2 has no annotations). */
  annotations?: Record<string, string>;
}

const EPOCH = "1970-01-01T00:00:00Z";

function descriptor(mediaType: string, bytes: Uint8Array, annotations?: Record<string, string>): Descriptor {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, ...(annotations ? { annotations } : {}) };
}

function sortedAnnotations(a: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/** The compat layer: a deterministic tar+gzip holding plugin.wasm (+ runtime-config.json). */
export async function buildCompatLayer(files: readonly TarFile[]): Promise<{ tar: Uint8Array; gzip: Uint8Array }> {
  const tar = await createTar(files);
  return { tar, gzip: gzipDeterministic(tar) };
}

export async function buildImage(options: BuildOptions): Promise<ImageBundle> {
  const { module, variant = "compat", format = "oci" } = options;
  if (!hasWasmMagic(module) || module.byteLength < 8) {
    throw new CliError("the input is not a WebAssembly module (no \\0asm magic)", ExitCode.Invalid, "pass the .wasm your build produced, e.g. build/plugin.wasm");
  }
  if (variant === "oci" && format === "docker") {
    throw new CliError("--format docker applies to the compat variant only", ExitCode.Usage, "drop --format docker, or use the compat variant (the default)");
  }
  return variant === "compat" ? buildCompat(options, format) : buildOciVariant(options);
}

async function buildCompat(options: BuildOptions, format: ManifestFormat): Promise<ImageBundle> {
  const files: TarFile[] = [{ name: PLUGIN_FILE, data: options.module }];
  const runtimeConfig = options.runtimeConfig ?? (options.rootIds?.length ? runtimeConfigBytes(generateRuntimeConfig(options.module, options.rootIds)) : undefined);
  if (runtimeConfig) files.push({ name: RUNTIME_CONFIG_FILE, data: runtimeConfig });
  const layer = await buildCompatLayer(files);
  const docker = format === "docker";
  // linux/amd64: the platform istio-agent picks should this image ever end up in an index.
  const config = canonicalJson({
    architecture: "amd64",
    os: "linux",
    created: EPOCH,
    config: {},
    rootfs: { type: "layers", diff_ids: [sha256Digest(layer.tar)] },
    history: [{ created: EPOCH, created_by: "pwas package", comment: "proxy-wasm plugin (compat variant)" }],
  });
  const configDesc = descriptor(docker ? mt.DOCKER_CONFIG : mt.OCI_CONFIG, config);
  const layerDesc = descriptor(docker ? mt.DOCKER_LAYER_TAR_GZIP : mt.OCI_LAYER_TAR_GZIP, layer.gzip);
  const manifest = docker
    ? { schemaVersion: 2, mediaType: mt.DOCKER_MANIFEST, config: configDesc, layers: [layerDesc] }
    : {
        schemaVersion: 2,
        mediaType: mt.OCI_MANIFEST,
        config: configDesc,
        layers: [layerDesc],
        annotations: sortedAnnotations({ ...options.annotations, [mt.ANNOTATION_VARIANT]: "compat" }),
      };
  const bytes = canonicalJson(manifest);
  return bundleOf(
    { digest: sha256Digest(bytes), mediaType: manifest.mediaType, bytes },
    new Map([
      [configDesc.digest, config],
      [layerDesc.digest, layer.gzip],
    ]),
  );
}

async function buildOciVariant(options: BuildOptions): Promise<ImageBundle> {
  const config = options.runtimeConfig ?? runtimeConfigBytes(generateRuntimeConfig(options.module, options.rootIds ?? []));
  // As wasme pushes it (oras.WithConfig + files=[config, module]): the runtime config is
  // both the manifest config and layer 1; the raw module is layer 2.
  const configDesc = descriptor(mt.WASM_CONFIG, config, { [mt.ANNOTATION_TITLE]: RUNTIME_CONFIG_FILE });
  const moduleDesc = descriptor(mt.WASM_CONTENT_LAYER, options.module, { [mt.ANNOTATION_TITLE]: OCI_VARIANT_MODULE_TITLE });
  const parsed = JSON.parse(Buffer.from(config).toString("utf8")) as { type?: unknown; abiVersions?: unknown };
  const wasmeAnnotations: Record<string, string> = {};
  if (Array.isArray(parsed.abiVersions)) wasmeAnnotations[mt.ANNOTATION_ABI_VERSION] = parsed.abiVersions.map(String).join(",");
  if (typeof parsed.type === "string") wasmeAnnotations[mt.ANNOTATION_RUNTIME_TYPE] = parsed.type;
  const manifest = {
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: configDesc,
    layers: [configDesc, moduleDesc],
    annotations: sortedAnnotations({ ...options.annotations, ...wasmeAnnotations }),
  };
  const bytes = canonicalJson(manifest);
  return bundleOf(
    { digest: sha256Digest(bytes), mediaType: mt.OCI_MANIFEST, bytes },
    new Map([
      [configDesc.digest, config],
      [moduleDesc.digest, options.module],
    ]),
  );
}
