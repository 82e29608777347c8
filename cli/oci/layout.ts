// OCI image layouts (image-spec image-layout.md): `oci-layout`, `index.json` naming each
// image with `org.opencontainers.image.ref.name`, and `blobs/sha256/<hex>`. pwas reads and
// writes them as directories and as tar archives (see layout-archive.ts).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CliError, ExitCode } from "../errors.js";
import { isDigest } from "./digest.js";
import { isEmptyDir, pathKind, writeDirAtomic, writeFileAtomic } from "./atomic-fs.js";
import type { ImageBundle } from "./image.js";
import { canonicalJson, parseJson, type Descriptor, type ImageIndex } from "./manifest.js";
import { ANNOTATION_REF_NAME, OCI_INDEX } from "./media-types.js";
import { storedManifest, verifyAgainst, type ImageSource } from "./image-source.js";
import type { TarFile } from "./tar.js";

export const OCI_LAYOUT_FILE = "oci-layout";
export const INDEX_FILE = "index.json";
const LAYOUT_VERSION = canonicalJson({ imageLayoutVersion: "1.0.0" });

/** Reads a layout's files by relative path, from a directory or an archive in memory. */
export type LayoutReader = (relativePath: string) => Promise<Uint8Array | undefined>;

export const blobPath = (digest: string): string => `blobs/sha256/${digest.slice("sha256:".length)}`;

export interface LayoutEntry {
  descriptor: Descriptor;
  /** The tag (org.opencontainers.image.ref.name), if the entry has one. */
  refName?: string;
}

/** A layout opened for reading. */
export class OciLayout {
  private constructor(
    readonly description: string,
    private readonly read: LayoutReader,
    readonly entries: readonly LayoutEntry[],
  ) {}

  static async open(description: string, read: LayoutReader): Promise<OciLayout> {
    const notLayout = (why: string) =>
      new CliError(`${description} is not an OCI image layout: ${why}`, ExitCode.Invalid, "give a directory or .tar written by `pwas package --layout/--output` (or skopeo/oras with an OCI layout)");
    const marker = await read(OCI_LAYOUT_FILE);
    if (!marker) throw notLayout(`${OCI_LAYOUT_FILE} is missing`);
    const version = (parseJson(marker, `${description}/${OCI_LAYOUT_FILE}`) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    if (typeof version !== "string" || !version.startsWith("1.")) throw notLayout(`unsupported imageLayoutVersion ${JSON.stringify(version)}`);
    const indexBytes = await read(INDEX_FILE);
    if (!indexBytes) throw notLayout(`${INDEX_FILE} is missing`);
    const index = parseJson(indexBytes, `${description}/${INDEX_FILE}`) as Partial<ImageIndex>;
    if (!Array.isArray(index.manifests)) throw notLayout(`${INDEX_FILE} has no manifests array`);
    const entries = index.manifests.map((d, i): LayoutEntry => {
      if (!d || typeof d.digest !== "string" || !isDigest(d.digest) || typeof d.mediaType !== "string" || typeof d.size !== "number") {
        throw notLayout(`${INDEX_FILE} manifests[${i}] is not a valid descriptor`);
      }
      const refName = d.annotations?.[ANNOTATION_REF_NAME];
      return { descriptor: d, ...(refName !== undefined ? { refName } : {}) };
    });
    return new OciLayout(description, read, entries);
  }

  /**
   * The entry to use: the one named `tag` (ref.name equal to it, or ending in `:tag`), or the
   * only entry when no tag is asked for.
   */
  select(tag?: string): LayoutEntry {
    const names = this.entries.map((e) => e.refName ?? `(untagged ${e.descriptor.digest})`).join(", ");
    if (tag !== undefined) {
      const match = this.entries.filter((e) => e.refName === tag || e.refName?.endsWith(`:${tag}`));
      if (match.length === 1) return match[0]!;
      if (match.length === 0 && this.entries.length === 1 && this.entries[0]!.refName === undefined) return this.entries[0]!;
      if (match.length === 0) throw new CliError(`${this.description} has no image tagged ${JSON.stringify(tag)} (it has: ${names || "none"})`, ExitCode.Usage, "use one of the tags it has, or package again with --tag");
    }
    if (this.entries.length === 1) return this.entries[0]!;
    if (this.entries.length === 0) throw new CliError(`${this.description} holds no image`, ExitCode.Invalid, "package an image into it first: pwas package plugin.wasm --layout <dir>");
    throw new CliError(`${this.description} holds several images (${names}); say which`, ExitCode.Usage, "pass --tag <name> (or put the tag in the target reference)");
  }

  source(entry: LayoutEntry): ImageSource {
    const description = `${this.description}${entry.refName !== undefined ? ` (${entry.refName})` : ""}`;
    const readBlob = async (d: Descriptor, what: string): Promise<Uint8Array> => {
      const bytes = await this.read(blobPath(d.digest));
      if (!bytes) throw new CliError(`${description}: ${what} ${d.digest} is missing from the layout`, ExitCode.Invalid, "the layout is incomplete; package or pull it again");
      return verifyAgainst(bytes, d, `${description}: ${what} ${d.digest}`);
    };
    return {
      description,
      root: async () => storedManifest(await readBlob(entry.descriptor, "manifest"), entry.descriptor.mediaType),
      manifest: async (d) => storedManifest(await readBlob(d, "manifest"), d.mediaType),
      blob: (d) => readBlob(d, "blob"),
    };
  }
}

export function directoryReader(dir: string): LayoutReader {
  return async (relativePath) => {
    try {
      return await readFile(join(dir, relativePath));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  };
}

function indexEntry(bundle: ImageBundle, refName?: string): Descriptor {
  return {
    mediaType: bundle.root.mediaType,
    digest: bundle.root.digest,
    size: bundle.root.bytes.byteLength,
    ...(refName !== undefined ? { annotations: { [ANNOTATION_REF_NAME]: refName } } : {}),
  };
}

const indexJson = (manifests: Descriptor[]): Uint8Array => canonicalJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });

function blobFiles(bundle: ImageBundle): TarFile[] {
  const files = new Map<string, Uint8Array>();
  for (const m of bundle.manifests.values()) files.set(blobPath(m.digest), m.bytes);
  for (const [digest, bytes] of bundle.blobs) files.set(blobPath(digest), bytes);
  return [...files].map(([name, data]) => ({ name, data }));
}

/** Every file of a fresh layout holding `bundle` (tagged `refName`). */
export function layoutFiles(bundle: ImageBundle, refName?: string): TarFile[] {
  return [{ name: OCI_LAYOUT_FILE, data: LAYOUT_VERSION }, { name: INDEX_FILE, data: indexJson([indexEntry(bundle, refName)]) }, ...blobFiles(bundle)];
}

/**
 * Writes `bundle` into layout directory `dir`. A new (or empty) directory appears complete
 * or not at all. An existing layout gets the new blobs first and then index.json, replaced
 * atomically, as the commit point: an image with the same ref name is replaced.
 */
export async function writeLayoutDir(dir: string, bundle: ImageBundle, refName?: string): Promise<void> {
  const kind = await pathKind(dir);
  if (kind === "missing" || (kind === "dir" && (await isEmptyDir(dir)))) {
    await writeDirAtomic(dir, layoutFiles(bundle, refName));
    return;
  }
  if (kind !== "dir") throw new CliError(`${dir} exists and is not a directory`, ExitCode.Usage, "choose a new directory for --layout, or use --output for a .tar archive");
  const existing = await OciLayout.open(`layout ${dir}`, directoryReader(dir)).catch((error: unknown) => {
    if (error instanceof CliError) throw new CliError(`${dir} is a non-empty directory that is not an OCI image layout`, ExitCode.Usage, "choose a new or empty directory for --layout");
    throw error;
  });
  const read = directoryReader(dir);
  for (const file of blobFiles(bundle)) {
    const present = await read(file.name);
    if (present && Buffer.compare(Buffer.from(present), Buffer.from(file.data)) === 0) continue;
    await writeFileAtomic(join(dir, file.name), file.data);
  }
  const kept = existing.entries
    .filter((e) => (refName !== undefined ? e.refName !== refName : !(e.refName === undefined && e.descriptor.digest === bundle.root.digest)))
    .map((e) => e.descriptor);
  await writeFileAtomic(join(dir, INDEX_FILE), indexJson([...kept, indexEntry(bundle, refName)]));
}
