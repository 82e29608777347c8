// An OCI layout as a single tar file (what `skopeo copy oci-archive:` and
// `docker save`-style tooling exchange), and opening a layout from either form.
import { readFile } from "node:fs/promises";
import { CliError, ExitCode } from "../errors.js";
import { pathKind, writeFileAtomic } from "./atomic-fs.js";
import { gunzip, isGzip } from "./gzip.js";
import type { ImageBundle } from "./image.js";
import { directoryReader, layoutFiles, OciLayout } from "./layout.js";
import { createTar, readTar } from "./tar.js";

/** Writes `bundle` as a layout tar, atomically. Deterministic: same image, same bytes. */
export async function writeLayoutArchive(file: string, bundle: ImageBundle, refName?: string): Promise<void> {
  await writeFileAtomic(file, await createTar(layoutFiles(bundle, refName)));
}

export async function openLayoutArchive(file: string): Promise<OciLayout> {
  let bytes: Uint8Array = await readFile(file);
  if (isGzip(bytes)) bytes = gunzip(bytes, `archive ${file}`);
  let entries;
  try {
    entries = await readTar(bytes);
  } catch (error) {
    throw new CliError(`${file} is not a tar archive: ${(error as Error).message}`, ExitCode.Invalid, "give an OCI layout directory or a .tar written by `pwas package --output`");
  }
  const files = new Map<string, Uint8Array>();
  for (const entry of entries) if (entry.type === "file") files.set(entry.name.replace(/^(\.\/)+/, ""), entry.data);
  return OciLayout.open(`archive ${file}`, async (path) => files.get(path));
}

/** Opens a layout directory or layout archive, whichever `path` is. */
export async function openLayoutPath(path: string): Promise<OciLayout> {
  const kind = await pathKind(path);
  if (kind === "dir") return OciLayout.open(`layout ${path}`, directoryReader(path));
  if (kind === "file") return openLayoutArchive(path);
  throw new CliError(`${path} does not exist`, ExitCode.Usage, "give the directory of `pwas package --layout` or the file of `pwas package --output`");
}
