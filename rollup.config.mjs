// Bundles the mock host (runtime-mock/) into dist/ as ESM with type declarations:
// the package's main entry, `import { Host } from "proxy-wasm-as"`.
import typescript from "@rollup/plugin-typescript";

export default {
  input: "runtime-mock/index.ts",
  output: { dir: "dist", format: "es", sourcemap: true },
  external: (id) => id.startsWith("node:"),
  plugins: [typescript({ tsconfig: "./tsconfig.build.json" })],
};
