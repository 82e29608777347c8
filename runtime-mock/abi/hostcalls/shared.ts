// Shared data and shared queues (ABI.md §5.10, §5.11), partitioned by the VM's vm_id.
import { WasmResult } from "../types.js";
import type { PluginVm } from "../../vm.js";
import { copyOut, readBytes, text, u32, written, writeU32, type HostFunctionTable } from "./support.js";

export function sharedFunctions(vm: PluginVm): HostFunctionTable {
  const vmId = () => vm.settings.plugin.vmId;
  return {
    proxy_get_shared_data(keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number, casPtr: number) {
      const key = readBytes(vm, keyPtr, keySize);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const { status, value, cas } = vm.sharedData.get(vmId(), key);
      if (status !== WasmResult.Ok) return status;
      const copied = copyOut(vm, value!, valuePtrPtr, valueSizePtr);
      if (copied !== WasmResult.Ok) return copied;
      return written(writeU32(vm, casPtr, cas!)); // written even for an empty value
    },
    proxy_set_shared_data(keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number) {
      const key = readBytes(vm, keyPtr, keySize);
      const value = readBytes(vm, valuePtr, valueSize);
      if (key === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      return vm.sharedData.set(vmId(), key, value, u32(cas));
    },

    /** Notifications go to the registering context's root (a stream's parent), in this VM. */
    proxy_register_shared_queue(namePtr: number, nameSize: number, tokenPtr: number) {
      const name = readBytes(vm, namePtr, nameSize);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      const context = vm.effectiveContext();
      const token = vm.sharedQueues.register(vmId(), name, { vm, rootContextId: context.root?.id ?? context.id });
      return written(writeU32(vm, tokenPtr, token));
    },
    /** An empty vm_id means this VM's; NOT_FOUND also once this VM has failed. */
    proxy_resolve_shared_queue(vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, tokenPtr: number) {
      const otherVmId = readBytes(vm, vmIdPtr, vmIdSize);
      const name = readBytes(vm, namePtr, nameSize);
      if (otherVmId === undefined || name === undefined) return WasmResult.InvalidMemoryAccess;
      const token = vm.sharedQueues.resolve(otherVmId.length === 0 ? vmId() : text(otherVmId), name);
      if (vm.failed || token === 0) return WasmResult.NotFound;
      return written(writeU32(vm, tokenPtr, token));
    },
    /** proxy_on_queue_ready is posted to the registrant's dispatcher, never called from here. */
    proxy_enqueue_shared_queue(token: number, dataPtr: number, dataSize: number) {
      const data = readBytes(vm, dataPtr, dataSize);
      if (data === undefined) return WasmResult.InvalidMemoryAccess;
      return vm.sharedQueues.enqueue(u32(token), data);
    },
    proxy_dequeue_shared_queue(token: number, dataPtrPtr: number, dataSizePtr: number) {
      const { status, value } = vm.sharedQueues.dequeue(u32(token));
      if (status !== WasmResult.Ok) return status;
      return copyOut(vm, value!, dataPtrPtr, dataSizePtr);
    },
  };
}
