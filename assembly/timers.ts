// Time (ABI.md §5.2): the root context's tick timer, and the host's wall clock.
import { proxy_get_current_time_nanoseconds } from "./abi/imports";
import { proxy_set_tick_period_milliseconds } from "./abi/imports-callouts";
import { requireLinked, TIMERS } from "./abi/linked";
import { EXTRA_OUT } from "./abi/memory";
import { record } from "./abi/status";
import { WasmResult } from "./types";

/**
 * Arms the root's tick timer: onTick every `periodMs`, measured from now (a new period
 * restarts it); 0 stops it. Unimplemented (and one critical log line) when the plugin does
 * not export proxy_on_tick.
 */
export function setTickPeriod(periodMs: u32): WasmResult {
  if (!requireLinked(TIMERS, "setTickPeriod")) return record(WasmResult.Unimplemented);
  return record(proxy_set_tick_period_milliseconds(periodMs));
}

/** The host's wall clock, ns since the Unix epoch (Envoy's real time; the mock host's virtual clock). 0 if the host refused (`lastResult()`). */
export function currentTimeNanoseconds(): u64 {
  store<u64>(EXTRA_OUT, 0);
  if (record(proxy_get_current_time_nanoseconds(EXTRA_OUT)) != WasmResult.Ok) return 0;
  return load<u64>(EXTRA_OUT);
}

/** The wall clock in whole milliseconds since the Unix epoch. */
export function currentTimeMilliseconds(): u64 {
  return currentTimeNanoseconds() / 1_000_000;
}
