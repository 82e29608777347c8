// Builds every example plugin and test fixture (release and debug targets of its
// asconfig.json) with the SDK's build settings, as `pwas build` does: each with its source
// map (release names moved into the map), and the SDK's runtime found. Skips an
// up-to-date build; writes each output atomically.
import { buildTarget, resolveTarget } from "../cli/compiler/compile.js";
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pluginDirs = ["examples", "test/fixtures"].map((dir) => join(root, dir));
const force = process.argv.includes("--force");

/** Newest modification time of the files under `dir` (recursively). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function upToDate(outputs: string[], sourcesMtime: number): boolean {
  return outputs.every((file) => existsSync(file) && statSync(file).mtimeMs >= sourcesMtime);
}

async function build(exampleDir: string, target: "release" | "debug"): Promise<void> {
  const configArgs = ["--config", "asconfig.json"];
  const { files } = await buildTarget(exampleDir, configArgs, await resolveTarget(exampleDir, configArgs, target));
  const written = files.map(({ path, contents }) => {
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, contents);
    return [temp, path] as const;
  });
  for (const [temp, path] of written) renameSync(temp, path);
}

// Examples import the SDK by its package name, as plugin authors do. Inside this
// repository that name must resolve to the checkout itself: link it into node_modules
// (npm cannot install a package into itself reliably, and `npm ci` removes the link).
const selfLink = join(root, "node_modules", "proxy-wasm-as");
if (!existsSync(selfLink)) {
  mkdirSync(dirname(selfLink), { recursive: true });
  symlinkSync("..", selfLink, "dir");
}

const sdkMtime = Math.max(newestMtime(join(root, "assembly")), statSync(join(root, "asconfig.json")).mtimeMs);
let built = 0;
const plugins = pluginDirs.flatMap((dir) => readdirSync(dir).sort().map((name) => join(dir, name)));
for (const exampleDir of plugins) {
  if (!existsSync(join(exampleDir, "asconfig.json"))) continue;
  const sourcesMtime = Math.max(sdkMtime, newestMtime(join(exampleDir, "assembly")), statSync(join(exampleDir, "asconfig.json")).mtimeMs);
  const outputs = ["release.wasm", "release.wasm.map", "debug.wasm", "debug.wasm.map"].map((file) => join(exampleDir, "build", file));
  if (!force && upToDate(outputs, sourcesMtime)) continue;
  for (const target of ["release", "debug"] as const) await build(exampleDir, target);
  const size = statSync(outputs[0]).size;
  console.log(`built ${relative(root, exampleDir)}: release ${size} bytes`);
  built++;
}
if (built === 0) console.log("plugins are up to date");
