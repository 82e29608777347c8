// proxy_on_foreign_function (ABI.md §4.3, 0.2.x only): a host extension calls into the
// plugin by function id; the arguments are readable as buffer 8 during the call.
import { collectIfDue, rootCallback } from "../collector";
import { FOREIGN, markLinked } from "../linked";
import { rootContext } from "../../registry";

markLinked(FOREIGN);

export function proxy_on_foreign_function(rootContextId: u32, functionId: u32, argumentsSize: u32): void {
  rootCallback();
  collectIfDue();
  const root = rootContext(rootContextId);
  if (root !== null) root.onForeignFunction(functionId, argumentsSize);
}
