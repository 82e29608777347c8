// Creates the project directory so that it appears complete or not at all: everything is
// written into a staging directory next to it first, then renamed into place (a fresh
// directory in one rename; with --force, file by file into the existing one).
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { CliError, ExitCode } from "../errors.js";
import { pathKind } from "../oci/atomic-fs.js";
import type { ProjectFile } from "./templates.js";

export interface Staging {
  dir: string;
  write(files: readonly ProjectFile[]): Promise<void>;
  /** Moves everything into `target`; returns the relative paths placed. */
  commit(): Promise<string[]>;
  discard(): Promise<void>;
}

/** Checks `target` can take a new project (missing, empty, or --force) and opens a staging dir. */
export async function stageProject(targetArg: string, force: boolean): Promise<Staging> {
  const target = resolve(targetArg);
  const kind = await pathKind(target);
  if (kind === "file" || kind === "other") throw new CliError(`${targetArg} exists and is not a directory`, ExitCode.Usage, "Choose a new directory name.");
  if (kind === "dir" && !force && (await readdir(target)).length > 0) {
    throw new CliError(`${targetArg} is not empty`, ExitCode.Usage, "Choose a new or empty directory, or pass --force to write the template files into it (other files are left alone).");
  }
  await mkdir(dirname(target), { recursive: true });
  const dir = join(dirname(target), `.${basename(target)}.pwas-init-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(dir);
  return {
    dir,
    async write(files) {
      for (const file of files) {
        const path = join(dir, ...file.path.split("/"));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.contents);
      }
    },
    async commit() {
      const placed = await listRelative(dir);
      if ((await pathKind(target)) === "missing") {
        await rename(dir, target);
      } else {
        await moveInto(dir, target);
        await rm(dir, { recursive: true, force: true });
      }
      return placed;
    },
    async discard() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function moveInto(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const destination = join(to, entry.name);
    if (entry.isDirectory() && (await pathKind(destination)) === "dir") await moveInto(source, destination);
    else {
      if (entry.isDirectory() || (await pathKind(destination)) === "dir") await rm(destination, { recursive: true, force: true });
      await rename(source, destination);
    }
  }
}

async function listRelative(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listRelative(join(dir, entry.name), path)));
    else if ((await stat(join(dir, entry.name))).isFile()) out.push(path);
  }
  return out.sort();
}
