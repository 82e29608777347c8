// The OCI toolkit behind `pwas package`, `push` and `pull`, for other commands (verify,
// migrate, wasmplugin): build images, read and write layouts, talk to registries, and
// decide what istio-agent would accept.

// Istio's acceptance rules.
export { checkImage, referenceWarnings, formatFindings, ISTIO_MAX_BINARY_BYTES } from "./istio-acceptance.js";
export type { ImageCheck, CheckOptions, Finding, IstioVariant } from "./istio-acceptance.js";

// Opening images (layout dir, archive, registry) and reading them.
export { openImage } from "./open-image.js";
export type { OpenedImage, OpenImageOptions } from "./open-image.js";
export { loadBundle, resolveImage, bundleSource, ISTIO_PLATFORM } from "./image-source.js";
export type { ImageSource, ResolvedImage } from "./image-source.js";
export { readImageFiles, readLayerEntries } from "./image-filesystem.js";
export type { ImageBundle } from "./image.js";
export type { Descriptor, ImageManifest, ImageIndex, StoredManifest, Platform } from "./manifest.js";

// Building and writing images.
export { buildImage, buildCompatLayer, PLUGIN_FILE } from "./image-builder.js";
export type { BuildOptions, Variant, ManifestFormat } from "./image-builder.js";
export { generateRuntimeConfig, runtimeConfigBytes, readRuntimeConfigFile } from "./runtime-config.js";
export { OciLayout, writeLayoutDir, layoutFiles } from "./layout.js";
export { writeLayoutArchive, openLayoutArchive, openLayoutPath } from "./layout-archive.js";
export { buildHttpArtifact, httpArtifactKind, unboxLikeIstio } from "./http-artifact.js";
export { writeFileAtomic, writeDirAtomic } from "./atomic-fs.js";

// Registries.
export { parseReference, formatReference } from "./reference.js";
export type { ImageReference } from "./reference.js";
export { RegistryClient } from "./registry-client.js";
export type { RegistryClientOptions } from "./registry-client.js";
export { pushBundle, pullImage } from "./transfer.js";
export { resolveCredential, ENV_USERNAME, ENV_PASSWORD, ENV_TOKEN } from "./credentials.js";
export { readDockerConfigSecret } from "./k8s-secret.js";

// Digests and wasm basics.
export { sha256Digest, sha256Hex, digestHex, verifyDigest } from "./digest.js";
export { isValidWasmBinary, wasmExportNames, proxyAbiVersions } from "./wasm-module.js";
