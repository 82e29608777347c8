// Manifest, index and descriptor shapes (OCI image-spec / Docker schema2), parsed from
// bytes with enough validation that later code can trust the fields it reads.
import { CliError, ExitCode } from "../errors.js";
import { isDigest } from "./digest.js";
import { isIndexType, isSchema1Type, DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX } from "./media-types.js";

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** A manifest (image or index) with the bytes its digest is computed over. */
export interface StoredManifest {
  digest: string;
  /** The media type it was served or stored with (Content-Type, layout descriptor), else its `mediaType` field. */
  mediaType: string;
  bytes: Uint8Array;
}

export type ParsedManifest = { kind: "image"; manifest: ImageManifest } | { kind: "index"; index: ImageIndex };

function bad(what: string, why: string): CliError {
  return new CliError(`${what} is not a valid manifest: ${why}`, ExitCode.Invalid, "the image is damaged or not an OCI/Docker image; rebuild it with `pwas package`");
}

function checkDescriptor(value: unknown, what: string, field: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (d === null || typeof d !== "object") throw bad(what, `${field} is not an object`);
  if (typeof d.mediaType !== "string") throw bad(what, `${field}.mediaType is missing`);
  if (typeof d.digest !== "string" || !isDigest(d.digest)) throw bad(what, `${field}.digest ${JSON.stringify(d.digest)} is not a sha256 digest`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) throw bad(what, `${field}.size is not a non-negative integer`);
  return d as Descriptor;
}

export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw bad(what, `not JSON (${(error as Error).message})`);
  }
}

/**
 * Parses manifest bytes. `declaredType` (Content-Type or layout descriptor) decides image vs.
 * index first, as go-containerregistry does; the JSON's own `mediaType` and shape decide otherwise.
 */
export function parseManifest(bytes: Uint8Array, declaredType: string | undefined, what: string): ParsedManifest {
  const json = parseJson(bytes, what) as Record<string, unknown> | null;
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw bad(what, "not a JSON object");
  const fieldType = typeof json.mediaType === "string" ? json.mediaType : undefined;
  if (isSchema1Type(declaredType) || isSchema1Type(fieldType) || json.schemaVersion === 1) {
    throw new CliError(
      `${what} is a Docker schema1 manifest, which Istio cannot load`,
      ExitCode.Invalid,
      "push the image again with a current client (schema2 or OCI), e.g. `pwas package` + `pwas push`",
    );
  }
  if (json.schemaVersion !== 2) throw bad(what, `schemaVersion is ${JSON.stringify(json.schemaVersion)}, expected 2`);
  const asIndex = isIndexType(declaredType) || isIndexType(fieldType) || (Array.isArray(json.manifests) && !Array.isArray(json.layers));
  if (asIndex) {
    if (!Array.isArray(json.manifests)) throw bad(what, "an index needs a manifests array");
    const manifests = json.manifests.map((m, i) => checkDescriptor(m, what, `manifests[${i}]`));
    return { kind: "index", index: { ...(json as object), manifests } as ImageIndex };
  }
  const config = checkDescriptor(json.config, what, "config");
  if (!Array.isArray(json.layers)) throw bad(what, "layers is missing");
  const layers = json.layers.map((l, i) => checkDescriptor(l, what, `layers[${i}]`));
  return { kind: "image", manifest: { ...(json as object), config, layers } as ImageManifest };
}

/** The media type to store/send a manifest with: its declared type, else the JSON's, else by shape. */
export function effectiveMediaType(bytes: Uint8Array, declared?: string): string {
  if (declared && declared !== "application/json" && declared !== "application/octet-stream") return declared.split(";")[0]!.trim();
  const json = parseJson(bytes, "manifest") as Record<string, unknown>;
  if (typeof json.mediaType === "string") return json.mediaType;
  return Array.isArray(json.manifests) ? OCI_INDEX : OCI_MANIFEST;
}

export const isDockerType = (mediaType: string): boolean => mediaType === DOCKER_MANIFEST || mediaType === DOCKER_MANIFEST_LIST;

/** Serialises JSON the one way pwas always does, so equal inputs give equal digests. */
export const canonicalJson = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), "utf8");
