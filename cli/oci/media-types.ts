// Media types of the manifests and layers a Wasm plugin image can have, and the ones Istio
// recognises (PACKAGING.md §1.1–1.2).

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
export const OCI_LAYER_TAR_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";

export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_MANIFEST_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json";
export const DOCKER_MANIFEST_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER_TAR_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** The solo-io "oci" variant (wasme): runtime config blob and the raw module layer. */
export const WASM_CONFIG = "application/vnd.module.wasm.config.v1+json";
export const WASM_CONTENT_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm";

/** Types Istio does not load, recognised only to explain the rejection. */
export const WASM_TO_OCI_LAYER = "application/vnd.wasm.content.layer.v1+wasm";
export const WASM_TO_OCI_CONFIG = "application/vnd.wasm.config.v1+json";
export const CNCF_WASM_LAYER = "application/wasm";
export const CNCF_WASM_CONFIG = "application/vnd.wasm.config.v0+json";

export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
export const ANNOTATION_TITLE = "org.opencontainers.image.title";
export const ANNOTATION_VARIANT = "module.wasm.image/variant";
export const ANNOTATION_ABI_VERSION = "module.wasm.runtime/abi_version";
export const ANNOTATION_RUNTIME_TYPE = "module.wasm.runtime/type";

export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];
export const IMAGE_MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];

/** What a client asks a registry for: every manifest kind, so the registry never converts. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST].join(", ");

export const isIndexType = (mediaType: string | undefined): boolean => mediaType !== undefined && INDEX_TYPES.includes(mediaType);
export const isSchema1Type = (mediaType: string | undefined): boolean =>
  mediaType === DOCKER_MANIFEST_SCHEMA1 || mediaType === DOCKER_MANIFEST_SCHEMA1_SIGNED;
