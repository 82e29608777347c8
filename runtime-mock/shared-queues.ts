// Shared queues (ABI.md §5.11; cpp-host `shared_queue.cc`): (vm_id, name) → token from 1,
// FIFO contents. Each successful enqueue owes the registrant's root context a
// `proxy_on_queue_ready`; those notifications are recorded here and delivered by the host
// (delivery belongs to the callouts/queues work: see `pendingNotifications`).
import { WasmResult } from "./abi/types.js";
import { latin1 } from "./properties/path.js";

interface Queue {
  vmId: string;
  name: string;
  /** Root context that last registered the queue: the one notified. */
  rootContextId: number;
  items: Uint8Array[];
}

export interface QueueNotification {
  rootContextId: number;
  token: number;
}

export class SharedQueueRegistry {
  private readonly tokens = new Map<string, number>();
  private readonly queues = new Map<number, Queue>();
  private nextToken = 1;
  private readonly notifications: QueueNotification[] = [];

  register(vmId: string, name: Uint8Array, rootContextId: number): number {
    const key = `${vmId}\0${latin1(name)}`;
    let token = this.tokens.get(key);
    if (token === undefined) {
      token = this.allocateToken();
      this.tokens.set(key, token);
      this.queues.set(token, { vmId, name: latin1(name), rootContextId, items: [] });
    }
    this.queues.get(token)!.rootContextId = rootContextId; // re-registering re-targets notifications
    return token;
  }

  /** 0 when unknown (cpp-host `resolveQueue`). */
  resolve(vmId: string, name: Uint8Array): number {
    return this.tokens.get(`${vmId}\0${latin1(name)}`) ?? 0;
  }

  enqueue(token: number, data: Uint8Array): WasmResult {
    const queue = this.queues.get(token);
    if (!queue) return WasmResult.NotFound;
    queue.items.push(data.slice());
    this.notifications.push({ rootContextId: queue.rootContextId, token });
    return WasmResult.Ok;
  }

  dequeue(token: number): { status: WasmResult; value?: Uint8Array } {
    const queue = this.queues.get(token);
    if (!queue) return { status: WasmResult.NotFound };
    const value = queue.items.shift();
    return value === undefined ? { status: WasmResult.Empty } : { status: WasmResult.Ok, value };
  }

  /** Number of items waiting in a queue, or undefined for an unknown token. */
  depth(token: number): number | undefined {
    return this.queues.get(token)?.items.length;
  }

  /** `proxy_on_queue_ready` calls owed (posted by Envoy, never run inside the enqueue call); taking them empties the list. */
  takeNotifications(): QueueNotification[] {
    return this.notifications.splice(0);
  }

  get pendingNotifications(): readonly QueueNotification[] {
    return this.notifications;
  }

  private allocateToken(): number {
    for (;;) {
      const token = this.nextToken;
      this.nextToken = (this.nextToken + 1) >>> 0;
      if (token !== 0 && !this.queues.has(token)) return token;
    }
  }
}
