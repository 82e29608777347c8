// proxy_log, proxy_get_log_level (ABI.md §5.1).
import { WasmResult, LogLevel } from "../wasm/types.js";
import type { LogCallHost } from "./ports.js";
import { readText, u32, written, writeU32, type HostFunctionTable } from "./support.js";

export function logFunctions(host: LogCallHost): HostFunctionTable {
  return {
    proxy_log(level: number, messagePtr: number, messageSize: number) {
      if (u32(level) > LogLevel.Critical) return WasmResult.BadArgument; // before the memory check
      const message = readText(host, messagePtr, messageSize);
      if (message === undefined) return WasmResult.InvalidMemoryAccess;
      host.logFromPlugin(u32(level) as LogLevel, message);
      return WasmResult.Ok;
    },
    /** Envoy answers the `wasm` logger's level, which can be 6 (off). */
    proxy_get_log_level(levelPtr: number) {
      return written(writeU32(host, levelPtr, host.logs.level));
    },
  };
}
