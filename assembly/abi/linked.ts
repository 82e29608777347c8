// Which groups of callback exports the plugin's entry file re-exported. A feature whose
// callbacks were left out (a plugin that re-exports "exports-http" but dispatches an
// HTTP call) would otherwise wait forever: its API checks here and says what to add.
import { write } from "../log";
import { LogLevel } from "../types";

/** Feature groups; each has an exports module in assembly/abi/exports/. */
export const CALLOUTS: u32 = 1 << 0; // HTTP and gRPC callout callbacks
export const TIMERS: u32 = 1 << 1; // proxy_on_tick
export const QUEUES: u32 = 1 << 2; // proxy_on_queue_ready
export const TCP: u32 = 1 << 3; // network filter callbacks
export const FOREIGN: u32 = 1 << 4; // proxy_on_foreign_function

let linked: u32 = 0;

/** Called from the top level of a feature's exports module. */
export function markLinked(feature: u32): void {
  linked |= feature;
}

/** True when `feature`'s callbacks are exported; otherwise one critical log line naming the fix. */
export function requireLinked(feature: u32, what: string): bool {
  if ((linked & feature) != 0) return true;
  write(LogLevel.Critical, what + " needs its callbacks exported: re-export \"proxy-wasm-as/assembly/exports\" (not \"exports-http\") from the plugin's entry file");
  return false;
}
