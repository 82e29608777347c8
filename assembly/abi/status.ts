// The status of the SDK's most recent host call, for readers that return a value or
// null: `lastResult()` tells why a value came back null (NotFound, BadArgument, ...).
import { WasmResult } from "../types";

let last: WasmResult = WasmResult.Ok;

// @ts-ignore: decorator
@inline
export function record(result: u32): WasmResult {
  last = <WasmResult>result;
  return last;
}

/** Status of the last host call the SDK made (e.g. NotFound after a null `get`). */
export function lastResult(): WasmResult {
  return last;
}
