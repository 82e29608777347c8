// proxy_get_property / proxy_set_property (ABI.md §5.4): memory checks, then Envoy's
// attribute model (properties.ts).
import { WasmResult } from "../wasm/types.js";
import { getProperty, setProperty } from "../envoy/properties.js";
import type { PropertyCallHost } from "./ports.js";
import { copyOut, readBytes, type HostFunctionTable } from "./support.js";

export function propertyFunctions(host: PropertyCallHost): HostFunctionTable {
  return {
    proxy_get_property(pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number) {
      const path = readBytes(host, pathPtr, pathSize);
      if (path === undefined) return WasmResult.InvalidMemoryAccess;
      const context = { ...host.effectiveContext().propertyContext(), legacyNames: host.settings.legacyPropertyNames };
      const { status, value } = getProperty(context, path);
      if (status !== WasmResult.Ok) return status;
      return copyOut(host, value ?? new Uint8Array(0), valuePtrPtr, valueSizePtr);
    },
    proxy_set_property(pathPtr: number, pathSize: number, valuePtr: number, valueSize: number) {
      const path = readBytes(host, pathPtr, pathSize);
      const value = readBytes(host, valuePtr, valueSize);
      if (path === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      return setProperty(host.effectiveContext().propertyContext(), path, value);
    },
  };
}
