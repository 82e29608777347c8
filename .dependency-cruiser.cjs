// Import rules checked by `npm run lint:imports` (part of `npm test`). The mock host is built in
// layers that import only downward (README, "Layers of the mock host"):
//   runtime-mock/*.ts   the public test API (Host, HttpStream, TcpConnection, MockEnvoy)
//   runtime-mock/vm/        the VM, its contexts and the plugin's side of callouts
//   runtime-mock/hostcalls/ one adapter per ABI area, each given a narrow port (ports.ts)
//   runtime-mock/envoy/     Envoy's model: header maps, buffers, filter managers, callouts…
//   runtime-mock/wasm/      the WebAssembly boundary: modules, memory, signatures, WASI
// Type-only imports count (tsPreCompilationDeps), as does every import cycle anywhere.
// `allowed`: folders ("envoy/") or single files ("wasm/types.ts") under runtime-mock/.
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const layer = (name, folder, allowed, why) => ({
  name: `layer-${name}`,
  severity: "error",
  comment: `runtime-mock/${folder} may import only ${[folder, ...allowed].join(", ")} inside runtime-mock/: ${why}`,
  from: { path: `^runtime-mock/${escape(folder)}` },
  to: { path: "^runtime-mock/", pathNot: [folder, ...allowed].map((a) => `^runtime-mock/${escape(a)}${a.endsWith("/") ? "" : "$"}`) },
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "an import cycle: break it with a narrower interface in the lower module (see README, Layers)",
      from: { path: "^(runtime-mock|assembly|cli)/" },
      to: { circular: true },
    },
    layer("wasm", "wasm/", [], "the WebAssembly boundary knows nothing of Envoy or the VM"),
    layer(
      "envoy",
      "envoy/",
      ["wasm/types.ts", "wasm/pairs.ts", "wasm/utf8.ts"],
      "Envoy's model knows the ABI's enums, the pairs codec and UTF-8, never WebAssembly memory, host calls or the VM",
    ),
    layer("hostcalls", "hostcalls/", ["envoy/", "wasm/"], "host calls reach the VM only through the ports in hostcalls/ports.ts"),
    layer("vm", "vm/", ["hostcalls/", "envoy/", "wasm/"], "the VM is put together from the layers below; the test API sits on top of it"),
    {
      name: "mock-host-stays-standalone",
      severity: "error",
      comment: "the mock host ships alone in dist/: it may not import the CLI, tests or benchmarks",
      from: { path: "^runtime-mock/" },
      to: { path: "^(cli|test|bench|scripts|examples)/" },
    },
    {
      name: "runtime-stands-alone",
      severity: "error",
      comment: "asc reads the SDK's runtime by its path (--runtime): the SDK importing it would compile a second copy, and the runtime needs nothing of the SDK",
      from: { path: "^assembly/", pathNot: "^assembly/runtime/" },
      to: { path: "^assembly/runtime/" },
    },
    {
      name: "runtime-needs-no-sdk",
      severity: "error",
      comment: "the runtime is the SDK's floor: it imports only the standard library and itself",
      from: { path: "^assembly/runtime/" },
      to: { path: "^assembly/", pathNot: "^assembly/runtime/" },
    },
    {
      name: "sdk-stays-assemblyscript",
      severity: "error",
      comment: "the AssemblyScript SDK may not import TypeScript-side code",
      from: { path: "^assembly/" },
      to: { path: "^(runtime-mock|cli|test|bench|scripts)/" },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|build)/" },
  },
};
