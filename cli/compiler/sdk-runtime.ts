// The SDK's asconfig.json names its runtime (assembly/runtime/) by the path it has in a
// plugin project. asc reads a runtime path relative to the project directory, not to the
// config file that names it, so where the SDK is elsewhere (a workspace with hoisted
// node_modules, this repository's examples) the build points asc at the copy node would
// resolve, or else at the SDK pwas runs from. Keeping "proxy-wasm-as/assembly/runtime/" in
// the path lets failure reports tell the runtime's frames from the plugin's.
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { packageInfo } from "../package-root.js";

export const SDK_RUNTIME = "node_modules/proxy-wasm-as/assembly/runtime/index";

/** Extra asc arguments for a target whose resolved `runtime` option is `runtime`. */
export function sdkRuntimeArgs(baseDir: string, runtime: unknown): string[] {
  if (runtime !== SDK_RUNTIME) return [];
  const found = installedRuntime(resolve(baseDir)) ?? join(packageInfo().root, "assembly", "runtime", "index");
  const path = relative(baseDir, found).split(sep).join("/");
  return path === SDK_RUNTIME ? [] : ["--runtime", path];
}

function installedRuntime(dir: string): string | undefined {
  for (;;) {
    const candidate = join(dir, SDK_RUNTIME);
    if (existsSync(`${candidate}.ts`)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
