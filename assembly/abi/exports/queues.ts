// proxy_on_queue_ready (ABI.md §4.3): an item was enqueued on a queue this plugin's root
// registered; the host delivers it from its event loop, once per enqueue.
import { collectIfDue, rootCallback } from "../collector";
import { markLinked, QUEUES } from "../linked";
import { rootContext } from "../../registry";

markLinked(QUEUES);

export function proxy_on_queue_ready(rootContextId: u32, queueToken: u32): void {
  rootCallback();
  collectIfDue();
  const root = rootContext(rootContextId);
  if (root !== null) root.onQueueReady(queueToken);
}
