// Shared data and shared queues (ABI.md §5.10, §5.11), partitioned by the VM's vm_id.
import { WasmResult } from "../wasm/types.js";
import type { SharedCallHost } from "./ports.js";
import { copyOut, readBytes, text, u32, written, writeU32, type HostFunctionTable } from "./support.js";

export function sharedFunctions(host: SharedCallHost): HostFunctionTable {
  const vmId = () => host.settings.plugin.vmId;
  return {
    proxy_get_shared_data(keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number, casPtr: number) {
      const key = readBytes(host, keyPtr, keySize);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const { status, value, cas } = host.sharedData.get(vmId(), key);
      if (status !== WasmResult.Ok) return status;
      const copied = copyOut(host, value!, valuePtrPtr, valueSizePtr);
      if (copied !== WasmResult.Ok) return copied;
      return written(writeU32(host, casPtr, cas!)); // written even for an empty value
    },
    proxy_set_shared_data(keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number) {
      const key = readBytes(host, keyPtr, keySize);
      const value = readBytes(host, valuePtr, valueSize);
      if (key === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      return host.sharedData.set(vmId(), key, value, u32(cas));
    },

    /** Notifications go to the registering context's root (a stream's parent), in this VM. */
    proxy_register_shared_queue(namePtr: number, nameSize: number, tokenPtr: number) {
      const name = readBytes(host, namePtr, nameSize);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      const context = host.effectiveContext();
      const token = host.sharedQueues.register(vmId(), name, host.queueSubscriber(context.root?.id ?? context.id));
      return written(writeU32(host, tokenPtr, token));
    },
    /** An empty vm_id means this VM's; NOT_FOUND also once this VM has failed. */
    proxy_resolve_shared_queue(vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, tokenPtr: number) {
      const otherVmId = readBytes(host, vmIdPtr, vmIdSize);
      const name = readBytes(host, namePtr, nameSize);
      if (otherVmId === undefined || name === undefined) return WasmResult.InvalidMemoryAccess;
      const token = host.sharedQueues.resolve(otherVmId.length === 0 ? vmId() : text(otherVmId), name);
      if (host.failed || token === 0) return WasmResult.NotFound;
      return written(writeU32(host, tokenPtr, token));
    },
    /** proxy_on_queue_ready is posted to the registrant's dispatcher, never called from here. */
    proxy_enqueue_shared_queue(token: number, dataPtr: number, dataSize: number) {
      const data = readBytes(host, dataPtr, dataSize);
      if (data === undefined) return WasmResult.InvalidMemoryAccess;
      return host.sharedQueues.enqueue(u32(token), data);
    },
    proxy_dequeue_shared_queue(token: number, dataPtrPtr: number, dataSizePtr: number) {
      const { status, value } = host.sharedQueues.dequeue(u32(token));
      if (status !== WasmResult.Ok) return status;
      return copyOut(host, value!, dataPtrPtr, dataSizePtr);
    },
  };
}
