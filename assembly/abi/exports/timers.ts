// proxy_on_tick (ABI.md §4.3): the root context's tick timer fired.
import { collectIfDue, rootCallback } from "../collector";
import { markLinked, TIMERS } from "../linked";
import { rootContext } from "../../registry";

markLinked(TIMERS);

export function proxy_on_tick(rootContextId: u32): void {
  rootCallback();
  collectIfDue();
  const root = rootContext(rootContextId);
  if (root !== null) root.onTick();
}
