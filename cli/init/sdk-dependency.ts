// Where a new project gets proxy-wasm-as from. --from takes a tarball (copied into
// vendor/) or a checkout (packed into vendor/ with `npm pack`), so the project installs
// the same SDK on every machine, offline of this checkout; the dependency is then
// "file:vendor/<tarball>". Without --from, the project gets the package pwas runs from:
// packed from its checkout, or from its installed folder when that came from a tarball,
// and from the npm registry only when that is where it came from.
import { execFile } from "node:child_process";
import { npmChildEnv } from "../child-env.js";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { CliError, ExitCode } from "../errors.js";
import { pathKind } from "../oci/atomic-fs.js";
import { readFileSync } from "node:fs";
import { PACKAGE_NAME, packageInfo } from "../package-root.js";

const run = promisify(execFile);
export const VENDOR_DIR = "vendor";

export interface SdkDependency {
  /** The package.json devDependencies value. */
  spec: string;
  /** What it is, for messages. */
  description: string;
}

/** Puts the SDK into `<stagingDir>/vendor` when --from is given; returns the dependency spec. */
export async function prepareSdkDependency(from: string | undefined, stagingDir: string, version: string, running = packageInfo().root): Promise<SdkDependency> {
  if (from === undefined) {
    const origin = runningPackageOrigin(running);
    if (origin === "registry") return { spec: `^${version}`, description: `${PACKAGE_NAME}@^${version} from the npm registry (where this pwas came from; --from takes a checkout or tarball instead)` };
    const packed = await prepareSdkDependency(running, stagingDir, version);
    return { ...packed, description: `${packed.description}: the ${origin} this pwas runs from (--from takes another)` };
  }
  const kind = await pathKind(from);
  if (kind === "missing") throw new CliError(`--from ${from}: no such file or directory`, ExitCode.Usage, "Give a proxy-wasm-as checkout or a tarball made by `npm pack` in it.");
  const vendor = join(stagingDir, VENDOR_DIR);
  await mkdir(vendor, { recursive: true });
  if (kind === "file") {
    if (!/\.(tgz|tar\.gz)$/.test(from)) throw new CliError(`--from ${from} is not a .tgz package tarball`, ExitCode.Usage, "Make one with `npm pack` in a proxy-wasm-as checkout.");
    const name = basename(from);
    await copyFile(from, join(vendor, name));
    return { spec: `file:${VENDOR_DIR}/${name}`, description: `${name} (copied into ${VENDOR_DIR}/)` };
  }
  if (kind !== "dir") throw new CliError(`--from ${from} is neither a tarball nor a directory`, ExitCode.Usage);
  await checkCheckout(from);
  let stdout: string;
  try {
    // --ignore-scripts: packing must not rebuild (and so write into) someone else's checkout.
    ({ stdout } = await run("npm", ["pack", from, "--ignore-scripts", "--json", "--pack-destination", vendor], { cwd: stagingDir, maxBuffer: 16 * 1024 * 1024, env: npmChildEnv() }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new CliError(`cannot run npm to pack ${from}`, ExitCode.Failure, "Install Node.js with npm, or pass --from with a tarball made by `npm pack`.");
    const detail = ((error as { stderr?: string }).stderr || (error as Error).message).trim().split("\n").pop();
    throw new CliError(`npm pack ${from} failed: ${detail}`, ExitCode.Failure, "Check that npm is installed and that the directory is a proxy-wasm-as checkout.");
  }
  const packed = (JSON.parse(stdout) as { filename: string }[])[0];
  if (!packed) throw new CliError(`npm pack ${from} produced no tarball`, ExitCode.Failure);
  const name = basename(packed.filename);
  return { spec: `file:${VENDOR_DIR}/${name}`, description: `${name} (packed from ${from} into ${VENDOR_DIR}/)` };
}

/** A checkout must be proxy-wasm-as with its bundles built, or the packed SDK would be empty. */
async function checkCheckout(dir: string): Promise<void> {
  let pkg: { name?: string };
  try {
    pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
  } catch {
    throw new CliError(`--from ${dir} has no readable package.json`, ExitCode.Usage, "Give the root of a proxy-wasm-as checkout.");
  }
  if (pkg.name !== PACKAGE_NAME) throw new CliError(`--from ${dir} is ${pkg.name ?? "an unnamed package"}, not ${PACKAGE_NAME}`, ExitCode.Usage);
  for (const file of ["dist/index.js", "dist/cli.js"]) {
    if ((await pathKind(join(dir, file))) !== "file") {
      throw new CliError(`--from ${dir} has no ${file}: the mock host and pwas are not built there`, ExitCode.Usage, `Run \`npm run build:host\` in ${dir} first.`);
    }
  }
}

/**
 * Where the running package came from: a checkout (not under node_modules), or, once
 * installed, what npm's hidden lockfile says it was resolved from (a tarball or folder:
 * "file:…"; the registry: a URL).
 */
export function runningPackageOrigin(root: string): "checkout" | "tarball" | "registry" {
  const at = root.lastIndexOf("/node_modules/");
  if (at < 0) return "checkout";
  const modules = root.slice(0, at + "/node_modules".length);
  try {
    const lock = JSON.parse(readFileSync(join(modules, ".package-lock.json"), "utf8")) as { packages?: Record<string, { resolved?: string; link?: boolean }> };
    const entry = lock.packages?.[`node_modules/${root.slice(at + "/node_modules/".length)}`];
    if (entry?.link || entry?.resolved?.startsWith("file:") || (entry?.resolved !== undefined && !/^https?:/.test(entry.resolved))) return "tarball";
  } catch {
    // No hidden lockfile: assume the registry, the ordinary way to get a package.
  }
  return "registry";
}
