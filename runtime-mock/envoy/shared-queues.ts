// Shared queues (ABI.md §5.11; cpp-host `shared_queue.cc`): process-wide, (vm_id, name) →
// token from 1, FIFO contents. The queue remembers which VM and root context registered it
// last; each successful enqueue posts `proxy_on_queue_ready(root, token)` to that VM's
// dispatcher (never run inside the enqueue call). When it runs, it is dropped if the VM or
// the root context is gone by then, as cpp-host's posted lambda does.
import { WasmResult } from "../wasm/types.js";
import { latin1 } from "./properties/path.js";
import { utf8Bytes } from "../wasm/utf8.js";

/** Who gets `proxy_on_queue_ready`: a root context in one VM (the VM makes these, see PluginVm.queueSubscriber). */
export interface QueueSubscriber {
  readonly rootContextId: number;
  /** Puts work on the subscriber's dispatcher (never run inside the enqueue call). */
  post(work: () => void): void;
  /** The posted notification runs: the VM calls the root, unless it or the root is gone by then. */
  queueReady(token: number): void;
}

interface Queue {
  vmId: string;
  name: string;
  subscriber: QueueSubscriber;
  items: Uint8Array[];
}

export interface QueueNotification {
  rootContextId: number;
  token: number;
}

const bytesOf = (data: Uint8Array | string) => (typeof data === "string" ? utf8Bytes(data) : data);
const keyOf = (vmId: string, name: Uint8Array | string) => `${vmId}\0${latin1(bytesOf(name))}`;

export class SharedQueueRegistry {
  private readonly tokens = new Map<string, number>();
  private readonly queues = new Map<number, Queue>();
  private nextToken = 1;
  private readonly posted: QueueNotification[] = [];

  /** Same token for the same (vm_id, name); keeps queued items and re-targets notifications. */
  register(vmId: string, name: Uint8Array | string, subscriber: QueueSubscriber): number {
    const key = keyOf(vmId, name);
    let token = this.tokens.get(key);
    if (token === undefined) {
      token = this.allocateToken();
      this.tokens.set(key, token);
      this.queues.set(token, { vmId, name: latin1(bytesOf(name)), subscriber, items: [] });
    }
    this.queues.get(token)!.subscriber = subscriber;
    return token;
  }

  /** 0 when unknown (cpp-host `resolveQueue`). */
  resolve(vmId: string, name: Uint8Array | string): number {
    return this.tokens.get(keyOf(vmId, name)) ?? 0;
  }

  /** Appends and posts the notification to the registrant's VM. Tests may enqueue as another component would. */
  enqueue(token: number, data: Uint8Array | string): WasmResult {
    const queue = this.queues.get(token);
    if (!queue) return WasmResult.NotFound;
    queue.items.push(bytesOf(data).slice());
    const subscriber = queue.subscriber;
    const notification = { rootContextId: subscriber.rootContextId, token };
    this.posted.push(notification);
    subscriber.post(() => {
      this.posted.splice(this.posted.indexOf(notification), 1);
      subscriber.queueReady(token);
    });
    return WasmResult.Ok;
  }

  /** Pops the oldest item. Tokens are not checked against the caller's vm_id (cpp-host). */
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

  /** Copies of the waiting items, oldest first; undefined for an unknown token. */
  contents(token: number): Uint8Array[] | undefined {
    return this.queues.get(token)?.items.map((item) => item.slice());
  }

  /** `proxy_on_queue_ready` calls posted and not run yet. */
  get pendingNotifications(): readonly QueueNotification[] {
    return this.posted;
  }

  /** cpp-host `deleteByVmId`: the last VM with this vm_id went away; its queues and tokens go too. */
  deleteVmId(vmId: string): void {
    for (const [key, token] of this.tokens) {
      if (this.queues.get(token)?.vmId !== vmId) continue;
      this.tokens.delete(key);
      this.queues.delete(token);
    }
  }

  private allocateToken(): number {
    for (;;) {
      const token = this.nextToken;
      this.nextToken = (this.nextToken + 1) >>> 0;
      if (token !== 0 && !this.queues.has(token)) return token;
    }
  }
}
