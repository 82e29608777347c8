// Which groups of callback exports the plugin's entry file re-exported. A feature whose
// callbacks were left out (a plugin that re-exports "exports-http" but dispatches an
// HTTP call) would otherwise wait forever: its API checks here and says what to add.
import { write } from "../log";
import { LogLevel } from "../types";

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
