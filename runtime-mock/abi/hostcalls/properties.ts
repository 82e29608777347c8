// proxy_get_property / proxy_set_property (ABI.md §5.4): memory checks, then Envoy's
// attribute model (properties.ts).
import { WasmResult } from "../types.js";
import { getProperty, setProperty } from "../../properties.js";
import type { PluginVm } from "../../vm.js";
import { copyOut, readBytes, type HostFunctionTable } from "./support.js";

export function propertyFunctions(vm: PluginVm): HostFunctionTable {
  return {
    proxy_get_property(pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number) {
      const path = readBytes(vm, pathPtr, pathSize);
      if (path === undefined) return WasmResult.InvalidMemoryAccess;
      const context = { ...vm.effectiveContext().propertyContext(), legacyNames: vm.settings.legacyPropertyNames };
      const { status, value } = getProperty(context, path);
      if (status !== WasmResult.Ok) return status;
      return copyOut(vm, value ?? new Uint8Array(0), valuePtrPtr, valueSizePtr);
    },
    proxy_set_property(pathPtr: number, pathSize: number, valuePtr: number, valueSize: number) {
      const path = readBytes(vm, pathPtr, pathSize);
      const value = readBytes(vm, valuePtr, valueSize);
      if (path === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      return setProperty(vm.effectiveContext().propertyContext(), path, value);
    },
  };
}
