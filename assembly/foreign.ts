// Foreign functions (ABI.md §5.14, §4.3): functions the host registers by name (Envoy:
// compress, uncompress, clear_route_cache, declare_property, set_envoy_filter_state...),
// and the host's calls into the plugin by function id (`RootContext.onForeignFunction`).
import { proxy_call_foreign_function } from "./abi/imports-shared";
import { clearOut, PTR_OUT, SIZE_OUT, takeBytes, utf8 } from "./abi/memory";
import { record } from "./abi/status";
import { Body } from "./body";
import { toBytes } from "./bytes";
import { BufferType, WasmResult } from "./types";

/**
 * Calls the host function `name` with a string, ArrayBuffer or Uint8Array argument. Its
 * output (empty if it produced none), or null: `lastResult()` is NotFound for a name the
 * host does not know, else the function's own status (e.g. SerializationFailure).
 */
export function callForeignFunction<T>(name: string, args: T): ArrayBuffer | null {
  const n = utf8(name);
  const data = toBytes<T>(args);
  clearOut();
  const result = record(proxy_call_foreign_function(
    changetype<usize>(n), n.byteLength, changetype<usize>(data), data.byteLength, PTR_OUT, SIZE_OUT));
  // A failing function may still have produced output: take it so it is freed.
  const output = takeBytes();
  return result == WasmResult.Ok ? output : null;
}

/** The arguments of the host's call in progress, inside `RootContext.onForeignFunction` (buffer 8). */
export function foreignFunctionArguments(): ArrayBuffer {
  return new Body(BufferType.CallData).bytes();
}
