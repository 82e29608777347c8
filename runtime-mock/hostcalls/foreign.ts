// proxy_call_foreign_function (ABI.md §5.14): memory checks, NOT_FOUND for an unknown name,
// else the function's own status. Its output is allocated in the plugin only when the
// plugin asked for it (a non-zero result pointer); the size slot is written if given.
import { normalizeResult, type ForeignFunctionCaller } from "../envoy/foreign-functions.js";
import { WasmResult } from "../wasm/types.js";
import type { ForeignCallHost } from "./ports.js";
import { readText, readBytes, u32, writeU32, type HostFunctionTable } from "./support.js";

export function foreignFunctions(host: ForeignCallHost): HostFunctionTable {
  return {
    proxy_call_foreign_function(namePtr: number, nameSize: number, argsPtr: number, argsSize: number, resultPtrPtr: number, resultSizePtr: number) {
      const name = readText(host, namePtr, nameSize);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      const args = readBytes(host, argsPtr, argsSize);
      if (args === undefined) return WasmResult.InvalidMemoryAccess;
      const fn = host.foreignFunctions.get(name);
      if (!fn) return WasmResult.NotFound;
      const { status, output } = normalizeResult(fn(args, callerOf(host)));
      let address = 0;
      const wantsResult = u32(resultPtrPtr) !== 0;
      if (output !== undefined && wantsResult) {
        address = host.allocate(output.length); // Envoy's alloc_result runs for any output, even an empty one
        if (address === 0 || !host.memory.write(address, output)) return WasmResult.InvalidMemoryAccess;
      }
      if (wantsResult && !writeU32(host, resultPtrPtr, address)) return WasmResult.InvalidMemoryAccess;
      if (u32(resultSizePtr) !== 0 && !writeU32(host, resultSizePtr, output?.length ?? 0)) return WasmResult.InvalidMemoryAccess;
      return status;
    },
  };
}

/** The calling plugin and the context the call acts on, for a function's second argument. */
function callerOf(host: ForeignCallHost): ForeignFunctionCaller {
  const { vmId, name, rootId } = host.settings.plugin;
  return { vmId, pluginName: name, rootId, contextId: host.effectiveContext().id };
}
