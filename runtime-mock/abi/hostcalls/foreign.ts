// proxy_call_foreign_function (ABI.md §5.14): memory checks, NOT_FOUND for an unknown name,
// else the function's own status. Its output is allocated in the plugin only when the
// plugin asked for it (a non-zero result pointer); the size slot is written if given.
import { callerOf, normalizeResult } from "../../foreign-functions.js";
import { WasmResult } from "../types.js";
import type { PluginVm } from "../../vm.js";
import { readText, readBytes, u32, writeU32, type HostFunctionTable } from "./support.js";

export function foreignFunctions(vm: PluginVm): HostFunctionTable {
  return {
    proxy_call_foreign_function(namePtr: number, nameSize: number, argsPtr: number, argsSize: number, resultPtrPtr: number, resultSizePtr: number) {
      const name = readText(vm, namePtr, nameSize);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      const args = readBytes(vm, argsPtr, argsSize);
      if (args === undefined) return WasmResult.InvalidMemoryAccess;
      const fn = vm.process.foreignFunctions.get(name);
      if (!fn) return WasmResult.NotFound;
      const { status, output } = normalizeResult(fn(args, callerOf(vm, vm.effectiveContext())));
      let address = 0;
      const wantsResult = u32(resultPtrPtr) !== 0;
      if (output !== undefined && wantsResult) {
        address = vm.allocate(output.length); // Envoy's alloc_result runs for any output, even an empty one
        if (address === 0 || !vm.memory.write(address, output)) return WasmResult.InvalidMemoryAccess;
      }
      if (wantsResult && !writeU32(vm, resultPtrPtr, address)) return WasmResult.InvalidMemoryAccess;
      if (u32(resultSizePtr) !== 0 && !writeU32(vm, resultSizePtr, output?.length ?? 0)) return WasmResult.InvalidMemoryAccess;
      return status;
    },
  };
}
