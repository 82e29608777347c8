// Writes that never leave a half-written result: everything goes to a temporary sibling
// first and is renamed into place (rename is atomic within a file system).
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CliError, ExitCode } from "../errors.js";

const tempSibling = (path: string): string => join(dirname(path), `.${basename(path)}.pwas-tmp-${process.pid}-${randomBytes(4).toString("hex")}`);

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, "wx");
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempSibling(path);
  try {
    await writeDurably(temp, bytes);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Creates directory `dir` holding exactly `files` (relative paths). `dir` must not exist or
 * be empty; it appears complete or not at all.
 */
export async function writeDirAtomic(dir: string, files: ReadonlyArray<{ name: string; data: Uint8Array }>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const temp = tempSibling(dir);
  try {
    await mkdir(temp);
    for (const file of files) {
      const target = join(temp, file.name);
      await mkdir(dirname(target), { recursive: true });
      await writeDurably(target, file.data);
    }
    if (await isEmptyDir(dir)) await rmdir(dir);
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

export async function isEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0;
  } catch {
    return false;
  }
}

export async function pathKind(path: string): Promise<"file" | "dir" | "missing" | "other"> {
  try {
    const s = await stat(path);
    return s.isFile() ? "file" : s.isDirectory() ? "dir" : "other";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw error;
  }
}

/** Runs a write and turns a file-system failure into one clear CliError (nothing was left behind). */
export async function writingTo<T>(path: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) {
      throw new CliError(`cannot write ${path}: ${(error as Error).message}`, ExitCode.Failure, "check that the path is right, its parent is a directory you can write, and the disk has room");
    }
    throw error;
  }
}
