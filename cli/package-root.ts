// The proxy-wasm-as package pwas runs from: the checkout in development (cli/…), or the
// installed package (dist/cli.js). init reads its templates and versions from it; build
// falls back to its asconfig.json.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_NAME = "proxy-wasm-as";

export interface PackageInfo {
  root: string;
  version: string;
  /** The AssemblyScript version range plugins need (peerDependencies). */
  assemblyscript: string;
  /** The tsx range the package is tested with. */
  tsx: string;
}

let cached: PackageInfo | undefined;

export function packageInfo(): PackageInfo {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string; peerDependencies?: Record<string, string>; devDependencies?: Record<string, string> };
      if (pkg.name === PACKAGE_NAME) {
        cached = {
          root: dir,
          version: pkg.version ?? "0.0.0",
          assemblyscript: pkg.peerDependencies?.assemblyscript ?? pkg.devDependencies?.assemblyscript ?? "^0.27.37",
          tsx: pkg.devDependencies?.tsx ?? "^4",
        };
        return cached;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`pwas cannot find the ${PACKAGE_NAME} package it belongs to (looked above ${fileURLToPath(import.meta.url)})`);
    dir = parent;
  }
}
