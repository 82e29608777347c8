// What `pwas verify <target>` was given: a module file (.wasm, .wasm.gz, .tar, .tar.gz),
// an OCI image layout (directory or archive), or an image in a registry.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CliError, ExitCode } from "../errors.js";
import { pathKind } from "../oci/atomic-fs.js";
import { gunzip } from "../oci/gzip.js";
import { openLayoutArchive, openLayoutPath } from "../oci/layout-archive.js";
import type { OciLayout } from "../oci/layout.js";
import { parseReference, type ImageReference } from "../oci/reference.js";
import { readTar } from "../oci/tar.js";
import { fileError } from "../yaml-source.js";
import { isGzip, isTar, isWasm } from "../module/unwrap.js";

export type VerifyTarget =
  | { kind: "module"; path: string; bytes: Uint8Array }
  | { kind: "layout"; path: string; layout: OciLayout }
  | { kind: "remote"; raw: string; reference: ImageReference };

/** Decides what `arg` names; a path that exists wins over a reference that looks the same. */
export async function resolveTarget(arg: string): Promise<VerifyTarget> {
  if (/^oci:\/\//i.test(arg)) return { kind: "remote", raw: arg, reference: parseReference(arg) };
  const kind = await pathKind(arg);
  if (kind === "dir") {
    if ((await pathKind(join(arg, "oci-layout"))) !== "file" && (await isPluginProject(arg))) {
      throw new CliError(`${arg} is a plugin project, not an image`, ExitCode.Usage, `Run \`pwas build ${arg}\` (it builds and verifies), or verify the module: pwas verify ${join(arg, "build/plugin.wasm")}.`);
    }
    return { kind: "layout", path: arg, layout: await openLayoutPath(arg) };
  }
  if (kind === "file") {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(arg);
    } catch (error) {
      throw fileError(arg, error);
    }
    if (!isWasm(bytes) && (await isLayoutArchive(bytes))) return { kind: "layout", path: arg, layout: await openLayoutArchive(arg) };
    return { kind: "module", path: arg, bytes };
  }
  if (kind === "other") throw new CliError(`${arg} is neither a file nor a directory`, ExitCode.Usage);
  if (looksLikePath(arg)) throw new CliError(`${arg}: no such file or directory`, ExitCode.Usage, "Give a .wasm file, an OCI layout directory or archive, or an image reference (oci://registry/repository:tag).");
  return { kind: "remote", raw: arg, reference: parseReference(arg) };
}

const looksLikePath = (arg: string): boolean =>
  /^\.{0,2}\//.test(arg) || /\.(wasm|gz|tgz|tar)$/i.test(arg) || !/[/:@]/.test(arg);

async function isPluginProject(dir: string): Promise<boolean> {
  return (await pathKind(join(dir, "asconfig.json"))) === "file" || (await pathKind(join(dir, "package.json"))) === "file";
}

/** A tar (optionally gzipped) whose entries include the layout marker `oci-layout`. */
async function isLayoutArchive(bytes: Uint8Array): Promise<boolean> {
  let tar = bytes;
  if (isGzip(bytes)) {
    try {
      tar = gunzip(bytes, "archive");
    } catch {
      return false; // the module checks report a damaged gzip
    }
  }
  if (!isTar(tar)) return false;
  try {
    return (await readTar(tar)).some((e) => e.name.replace(/^(\.\/)+/, "") === "oci-layout");
  } catch {
    return false;
  }
}
