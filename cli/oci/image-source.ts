// Where an image's manifests and blobs come from: a layout directory, a layout archive, a
// registry, or memory. Every read is verified against its digest, whatever the source.
import { CliError, ExitCode } from "../errors.js";
import { sha256Digest, verifyDigest } from "./digest.js";
import type { ImageBundle } from "./image.js";
import { effectiveMediaType, parseManifest, type Descriptor, type ImageManifest, type Platform, type StoredManifest } from "./manifest.js";

export interface ImageSource {
  /** For messages: "layout out/ (tag v1)", "oci://host/repo:v1", … */
  readonly description: string;
  /** The manifest the source points to (image manifest or index). */
  root(): Promise<StoredManifest>;
  /** A manifest an index refers to. */
  manifest(descriptor: Descriptor): Promise<StoredManifest>;
  /** A config or layer blob. */
  blob(descriptor: Descriptor): Promise<Uint8Array>;
}

/** Checks bytes read for `descriptor` (digest, then size) and returns them. */
export function verifyAgainst(bytes: Uint8Array, descriptor: Descriptor, what: string): Uint8Array {
  verifyDigest(bytes, descriptor.digest, what);
  if (bytes.byteLength !== descriptor.size) {
    throw new CliError(
      `${what}: size ${bytes.byteLength} does not match the descriptor's size ${descriptor.size}`,
      ExitCode.DigestMismatch,
      "the manifest is inconsistent with its content; rebuild the image with `pwas package`",
    );
  }
  return bytes;
}

export function storedManifest(bytes: Uint8Array, declaredType?: string): StoredManifest {
  return { digest: sha256Digest(bytes), mediaType: effectiveMediaType(bytes, declaredType), bytes };
}

export function bundleSource(bundle: ImageBundle, description = "image in memory"): ImageSource {
  const missing = (d: Descriptor) =>
    new CliError(`${description} has no content for ${d.digest}`, ExitCode.Invalid, "the image is incomplete; rebuild it with `pwas package`");
  return {
    description,
    root: async () => bundle.root,
    manifest: async (d) => {
      const m = bundle.manifests.get(d.digest);
      if (!m) throw missing(d);
      verifyAgainst(m.bytes, d, `manifest ${d.digest}`);
      return m;
    },
    blob: async (d) => {
      const b = bundle.blobs.get(d.digest);
      if (!b) throw missing(d);
      return verifyAgainst(b, d, `blob ${d.digest}`);
    },
  };
}

const MAX_INDEX_DEPTH = 4;

/** Reads every manifest and blob below the root, verifying each: a complete, checked copy. */
export async function loadBundle(source: ImageSource): Promise<ImageBundle> {
  const root = await source.root();
  const bundle: ImageBundle = { root, manifests: new Map([[root.digest, root]]), blobs: new Map() };
  const visit = async (m: StoredManifest, depth: number): Promise<void> => {
    const parsed = parseManifest(m.bytes, m.mediaType, `${source.description} manifest ${m.digest}`);
    if (parsed.kind === "index") {
      if (depth >= MAX_INDEX_DEPTH) throw new CliError(`${source.description}: indexes nested deeper than ${MAX_INDEX_DEPTH}`, ExitCode.Invalid);
      for (const child of parsed.index.manifests) {
        if (bundle.manifests.has(child.digest)) continue;
        const stored = await source.manifest(child);
        bundle.manifests.set(stored.digest, stored);
        await visit(stored, depth + 1);
      }
      return;
    }
    for (const d of [parsed.manifest.config, ...parsed.manifest.layers]) {
      if (!bundle.blobs.has(d.digest)) bundle.blobs.set(d.digest, await source.blob(d));
    }
  };
  await visit(root, 0);
  return bundle;
}

/** The platform istio-agent resolves an index to (go-containerregistry's default). */
export const ISTIO_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

export interface ResolvedImage {
  /** The image manifest istio-agent would use; its digest is what `sha256` must be. */
  image: StoredManifest;
  manifest: ImageManifest;
  /** The index(es) walked to get there, outermost first (empty for a plain image). */
  indexes: StoredManifest[];
  /** Platforms the index offered (for messages). */
  platforms: string[];
}

const platformName = (p?: Platform) => (p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}` : "linux/amd64 (no platform: assumed)");

/**
 * Resolves the root to an image manifest exactly as go-containerregistry's
 * `Descriptor.Image()` does for istio-agent: an index picks its first child whose platform
 * is linux/amd64, a child without a platform counting as linux/amd64; nested indexes recurse.
 */
export async function resolveImage(source: ImageSource, root?: StoredManifest): Promise<ResolvedImage> {
  let current = root ?? (await source.root());
  const indexes: StoredManifest[] = [];
  let platforms: string[] = [];
  for (let depth = 0; ; depth++) {
    const parsed = parseManifest(current.bytes, current.mediaType, `${source.description} manifest ${current.digest}`);
    if (parsed.kind === "image") return { image: current, manifest: parsed.manifest, indexes, platforms };
    if (depth >= MAX_INDEX_DEPTH) throw new CliError(`${source.description}: indexes nested deeper than ${MAX_INDEX_DEPTH}`, ExitCode.Invalid);
    indexes.push(current);
    platforms = parsed.index.manifests.map((m) => platformName(m.platform));
    const child = parsed.index.manifests.find((m) => (m.platform ?? ISTIO_PLATFORM).os === "linux" && (m.platform ?? ISTIO_PLATFORM).architecture === "amd64");
    if (!child) {
      throw new CliError(
        `${source.description} is an index with no linux/amd64 image (it has: ${platforms.join(", ") || "nothing"}); istio-agent only ever picks linux/amd64`,
        ExitCode.Invalid,
        "push a single image instead of an index: `pwas package` never makes one; with docker buildx use --platform linux/amd64 --provenance=false",
      );
    }
    current = await source.manifest(child);
  }
}
