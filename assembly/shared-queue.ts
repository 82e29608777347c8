// Shared queues (ABI.md §5.11): named FIFO queues shared by every VM with the same vm_id
// and reachable from other vm_ids by name. The root context that registered a queue last
// gets `onQueueReady(token)` once per enqueued item, later, from the host's event loop
// (never inside `enqueue`), so a consumer drains with `dequeue()` until it returns null.
import { proxy_dequeue_shared_queue, proxy_enqueue_shared_queue, proxy_register_shared_queue, proxy_resolve_shared_queue } from "./abi/imports-shared";
import { clearOut, EXTRA_OUT, PTR_OUT, SIZE_OUT, takeBytes, takeInto, utf8 } from "./abi/memory";
import { ByteBuffer } from "./byte-buffer";
import { QUEUES, requireLinked } from "./abi/linked";
import { record } from "./abi/status";
import { toBytes } from "./bytes";
import { WasmResult } from "./types";

/** A queue by its token; obtained from `register` (consumer) or `resolve` (producer). */
export class SharedQueue {
  constructor(public readonly token: u32) {}

  /**
   * Creates or takes over the queue `name` of this VM's vm_id: from now on this plugin's
   * root context receives `onQueueReady`. Registering again keeps the queued items.
   * Call it from a callback (onVmStart, onConfigure...), not at the top level.
   */
  static register(name: string): SharedQueue | null {
    // Without proxy_on_queue_ready exported, the notifications would never arrive.
    requireLinked(QUEUES, "SharedQueue.register");
    const n = utf8(name);
    store<u32>(EXTRA_OUT, 0);
    const result = record(proxy_register_shared_queue(changetype<usize>(n), n.byteLength, EXTRA_OUT));
    return result == WasmResult.Ok ? new SharedQueue(load<u32>(EXTRA_OUT)) : null;
  }

  /** The queue `name` registered under `vmId` ("" = this VM's), or null (`lastResult()` NotFound). */
  static resolve(name: string, vmId: string = ""): SharedQueue | null {
    const n = utf8(name);
    const v = utf8(vmId);
    store<u32>(EXTRA_OUT, 0);
    const result = record(proxy_resolve_shared_queue(changetype<usize>(v), v.byteLength, changetype<usize>(n), n.byteLength, EXTRA_OUT));
    return result == WasmResult.Ok ? new SharedQueue(load<u32>(EXTRA_OUT)) : null;
  }

  /** Appends a string, ArrayBuffer or Uint8Array; NotFound once the queue is gone. */
  enqueue<T>(data: T): WasmResult {
    const bytes = toBytes<T>(data);
    return record(proxy_enqueue_shared_queue(this.token, changetype<usize>(bytes), bytes.byteLength));
  }

  /** The oldest item, or null: `lastResult()` is Empty when nothing is waiting, NotFound for an unknown queue. */
  dequeue(): ArrayBuffer | null {
    return this.take() == WasmResult.Ok ? takeBytes() : null;
  }

  /** Appends what `buffer` holds: `enqueue` without a string per item. */
  enqueueFrom(buffer: ByteBuffer): WasmResult {
    return record(proxy_enqueue_shared_queue(this.token, buffer.dataStart, buffer.length));
  }

  /** Takes the oldest item into `into` (no object per item); false like `dequeue`'s null, with `into` emptied. */
  dequeueInto(into: ByteBuffer): bool {
    return takeInto(this.take(), into);
  }

  /** The oldest item as UTF-8 text, or null like `dequeue`. */
  dequeueText(): string | null {
    const item = this.dequeue();
    return item !== null ? String.UTF8.decode(item) : null;
  }

  /** proxy_dequeue_shared_queue into the out slots. */
  private take(): WasmResult {
    clearOut();
    return record(proxy_dequeue_shared_queue(this.token, PTR_OUT, SIZE_OUT));
  }
}
