// The `env.*` and WASI import functions for the VM's ABI version (ABI.md §1.2). Each one is
// guarded: V8's restricted-phase check first (the only place the host traps on purpose),
// then the function, whose own JS exceptions are host bugs reported as INTERNAL_FAILURE
// (or WASI EFAULT) instead of unwinding through the plugin.
import { createWasiFunctions } from "../wasi.js";
import { hostFunctionTypes, WASI_MODULES } from "../signatures.js";
import { WasiErrno, WasmResult, type AbiVersion } from "../types.js";
import type { PluginVm } from "../../vm.js";
import { bufferFunctions } from "./buffers.js";
import { calloutFunctions } from "./callouts.js";
import { contextFunctions } from "./context.js";
import { foreignFunctions } from "./foreign.js";
import { headerFunctions } from "./headers.js";
import { logFunctions } from "./log.js";
import { metricFunctions } from "./metrics.js";
import { propertyFunctions } from "./properties.js";
import { sharedFunctions } from "./shared.js";
import { streamFunctions } from "./stream.js";
import type { HostFunction, HostFunctionTable } from "./support.js";

const ALL_VERSIONS: readonly AbiVersion[] = ["0.1.0", "0.2.0", "0.2.1"];

export function createHostImports(vm: PluginVm): WebAssembly.Imports {
  const env: HostFunctionTable = {
    ...logFunctions(vm),
    ...headerFunctions(vm),
    ...bufferFunctions(vm),
    ...streamFunctions(vm),
    ...propertyFunctions(vm),
    ...contextFunctions(vm),
    ...metricFunctions(vm),
    ...sharedFunctions(vm),
    ...calloutFunctions(vm),
    ...foreignFunctions(vm),
  };
  // Only what cpp-host registers for the version (all versions' while it is unknown).
  const registered = new Set<string>();
  for (const version of vm.abiVersion ? [vm.abiVersion] : ALL_VERSIONS) {
    for (const key of hostFunctionTypes(version).keys()) registered.add(key);
  }
  const imports: WebAssembly.Imports = { env: guardAll(vm, "env", env, registered, WasmResult.InternalFailure) };
  const wasi = createWasiFunctions({
    memory: vm.memory,
    log: (level, message) => vm.logPlugin(vm.effectiveContext(), level, message),
    environment: () => vm.settings.environment,
    realtimeNs: () => vm.settings.clock.realtimeNs(),
    monotonicNs: () => vm.settings.clock.monotonicNs(),
    randomBytes: (n) => vm.randomBytes(n),
  });
  for (const module of WASI_MODULES) imports[module] = guardAll(vm, module, wasi, registered, WasiErrno.Fault);
  return imports;
}

function guardAll(vm: PluginVm, module: string, table: HostFunctionTable, registered: ReadonlySet<string>, onHostError: number) {
  const out: Record<string, HostFunction> = {};
  for (const [name, fn] of Object.entries(table)) {
    const qualified = `${module}.${name}`;
    if (!registered.has(qualified)) continue;
    out[name] = (...args: unknown[]) => {
      vm.assertHostCallAllowed(qualified);
      try {
        return fn(...args);
      } catch (error) {
        vm.reportHostError(qualified, error);
        return onHostError;
      }
    };
  }
  return out;
}
