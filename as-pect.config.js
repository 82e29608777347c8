// as-pect runs the SDK's AssemblyScript unit tests (assembly/__tests__) against the mock
// host: test modules get the real host functions (see aspect/host.mjs, proxy-wasm-as/aspect).
import { createAspectHost } from "./aspect/host.mjs";

export default {
  entries: ["assembly/__tests__/**/*.spec.ts"],
  include: ["assembly/__tests__/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    const host = createAspectHost(binary);
    const result = await instantiate(binary, createImports({ ...host.imports, env: { ...host.imports.env, memory } }));
    host.attach(result.instance);
    return result;
  },
  outputBinary: false,
};
