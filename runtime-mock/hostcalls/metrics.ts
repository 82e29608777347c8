// Metrics (ABI.md §5.12). Unlike most calls, define_metric checks the name's memory
// before the type (cpp-host reads the name, Envoy then rejects type > 2).
import { WasmResult } from "../wasm/types.js";
import type { MetricCallHost } from "./ports.js";
import { readText, u32, written, writeU32, writeU64, type HostFunctionTable } from "./support.js";

export function metricFunctions(host: MetricCallHost): HostFunctionTable {
  return {
    proxy_define_metric(type: number, namePtr: number, nameSize: number, idPtr: number) {
      const name = readText(host, namePtr, nameSize);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      const id = host.metrics.define(u32(type), name);
      if (id === undefined) return WasmResult.BadArgument;
      return written(writeU32(host, idPtr, id));
    },
    proxy_increment_metric(id: number, delta: bigint) {
      return host.metrics.increment(u32(id), BigInt.asIntN(64, delta));
    },
    proxy_record_metric(id: number, value: bigint) {
      return host.metrics.record(u32(id), BigInt.asUintN(64, value));
    },
    proxy_get_metric(id: number, resultPtr: number) {
      const { status, value } = host.metrics.read(u32(id));
      if (status !== WasmResult.Ok) return status;
      return written(writeU64(host, resultPtr, value!));
    },
  };
}
