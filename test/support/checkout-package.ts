// The package a user would install, made from this checkout without writing into it:
// `npm pack --ignore-scripts` of the checkout when its bundles (dist/) are newer than the
// sources (as after `npm test`'s build step); otherwise the published files are copied to a
// temporary directory and built there with the package's own rollup config first. Tests of
// `pwas init --from <tarball>` thus always exercise the CLI and mock host as they are now.
import { execFile } from "node:child_process";
import { npmChildEnv } from "../../cli/child-env.js";
import { cp, mkdtemp, readdir, readFile, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUILD_FILES = ["rollup.config.mjs", "tsconfig.json", "tsconfig.build.json", "tsconfig.cli.json"];
const BUNDLE_SOURCES = ["cli", "runtime-mock", "rollup.config.mjs"];
const BUNDLES = ["dist/index.js", "dist/index.cjs", "dist/cli.js", "dist/coverage-transform.js"];

let packed: Promise<string> | undefined;

/** Path of proxy-wasm-as-<version>.tgz for the current checkout (made once per process). */
export function checkoutTarball(): Promise<string> {
  packed ??= (async () => {
    const work = await mkdtemp(join(tmpdir(), "pwas-pack-"));
    const from = (await bundlesAreFresh()) ? REPO_ROOT : await stageAndBuild(work);
    const { stdout } = await run("npm", ["pack", from, "--ignore-scripts", "--json", "--pack-destination", work], { cwd: work, maxBuffer: 64 * 1024 * 1024, env: npmChildEnv() });
    const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
    return join(work, filename.split("/").pop()!);
  })();
  return packed;
}

async function newest(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let max = 0;
  for (const entry of await readdir(path)) max = Math.max(max, await newest(join(path, entry)));
  return max;
}

async function bundlesAreFresh(): Promise<boolean> {
  try {
    const built = Math.min(...(await Promise.all(BUNDLES.map((b) => stat(join(REPO_ROOT, b)).then((s) => s.mtimeMs)))));
    const sources = Math.max(...(await Promise.all(BUNDLE_SOURCES.map((s) => newest(join(REPO_ROOT, s))))));
    return built >= sources;
  } catch {
    return false;
  }
}

async function stageAndBuild(work: string): Promise<string> {
  const stage = join(work, "package");
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { files: string[] };
  // The published files, and the sources the bundles are built from (which are not published).
  const published = pkg.files.filter((f) => !f.startsWith("!") && f !== "dist" && !BUNDLE_SOURCES.some((s) => f.startsWith(`${s}/`)));
  for (const file of new Set(["package.json", ...published, ...BUILD_FILES, ...BUNDLE_SOURCES])) {
    await cp(join(REPO_ROOT, file), join(stage, file), { recursive: true, filter: (src) => !src.includes("__tests__") });
  }
  await symlink(join(REPO_ROOT, "node_modules"), join(stage, "node_modules"), "dir");
  await run(process.execPath, [join(REPO_ROOT, "node_modules/rollup/dist/bin/rollup"), "-c", "rollup.config.mjs", "--silent"], { cwd: stage, maxBuffer: 64 * 1024 * 1024 });
  return stage;
}
