// Bundles the mock host (runtime-mock/) into dist/ as ESM with type declarations — the
// package's main entry, `import { Host } from "proxy-wasm-as"` — and as CommonJS
// (dist/index.cjs) for `require("proxy-wasm-as")` and jest; the pwas CLI
// (cli/) into dist/cli.js, the package's bin, and the coverage transform into
// dist/coverage-transform.js (proxy-wasm-as/coverage-transform).
import typescript from "@rollup/plugin-typescript";

const external = (id) => id.startsWith("node:") || ["commander", "yaml", "tar-stream", "assemblyscript", "assemblyscript/asc"].some((p) => id === p || id.startsWith(`${p}/`));

export default [
  {
    input: "runtime-mock/index.ts",
    output: { dir: "dist", format: "es", sourcemap: true },
    external,
    plugins: [typescript({ tsconfig: "./tsconfig.build.json" })],
  },
  {
    // The same entry for require() and jest, which cannot load ESM without flags.
    input: "runtime-mock/index.ts",
    output: { file: "dist/index.cjs", format: "cjs", sourcemap: true, exports: "named" },
    external,
    plugins: [typescript({ tsconfig: "./tsconfig.build.json", declaration: false, declarationMap: false, outDir: "dist" })],
  },
  {
    input: "cli/index.ts",
    output: { file: "dist/cli.js", format: "es", sourcemap: true, banner: "#!/usr/bin/env node" },
    external,
    plugins: [typescript({ tsconfig: "./tsconfig.cli.json" })],
  },
  {
    // The coverage transform by path, for asc configs that list transforms (as-pect's).
    input: "cli/coverage/transform.ts",
    output: { file: "dist/coverage-transform.js", format: "es", sourcemap: true },
    external,
    plugins: [typescript({ tsconfig: "./tsconfig.cli.json" })],
  },
];
