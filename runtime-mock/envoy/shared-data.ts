// The shared key-value store (ABI.md §5.10; cpp-host `shared_data.cc`): process-wide,
// partitioned by vm_id, one CAS counter for every key of every partition (1, 2, 3…,
// skipping 0). A partition goes away with the last VM of its vm_id (cpp-host VmIdHandle).
import { WasmResult } from "../wasm/types.js";
import { latin1 } from "./properties/path.js";
import { utf8Bytes } from "../wasm/utf8.js";

interface Slot {
  value: Uint8Array;
  cas: number;
}

const decoder = new TextDecoder();
const bytesOf = (data: Uint8Array | string) => (typeof data === "string" ? utf8Bytes(data) : data);
const keyOf = (key: Uint8Array | string) => latin1(bytesOf(key));

export class SharedDataStore {
  private readonly partitions = new Map<string, Map<string, Slot>>();
  private nextCasValue = 1;

  get(vmId: string, key: Uint8Array | string): { status: WasmResult; value?: Uint8Array; cas?: number } {
    const slot = this.partitions.get(vmId)?.get(keyOf(key));
    if (!slot) return { status: WasmResult.NotFound };
    return { status: WasmResult.Ok, value: slot.value.slice(), cas: slot.cas };
  }

  /**
   * cas 0 writes unconditionally; a non-zero cas must match the key's current one, except
   * that a missing key is simply created (⚠ Envoy, ABI.md §10 #13). Tests may seed values
   * the same way a plugin writes them.
   */
  set(vmId: string, key: Uint8Array | string, value: Uint8Array | string, cas = 0): WasmResult {
    let partition = this.partitions.get(vmId);
    if (!partition) this.partitions.set(vmId, (partition = new Map()));
    const k = keyOf(key);
    const slot = partition.get(k);
    if (slot && cas !== 0 && cas !== slot.cas) return WasmResult.CasMismatch;
    partition.set(k, { value: bytesOf(value).slice(), cas: this.nextCas() });
    return WasmResult.Ok;
  }

  /** Test helper: the value as UTF-8 text, or undefined. */
  text(vmId: string, key: string): string | undefined {
    const { value } = this.get(vmId, key);
    return value === undefined ? undefined : decoder.decode(value);
  }

  /** Test helper: the keys of a partition (as UTF-8 text). */
  keys(vmId: string): string[] {
    return [...(this.partitions.get(vmId)?.keys() ?? [])].map((k) => decoder.decode(Buffer.from(k, "latin1")));
  }

  /** cpp-host `deleteByVmId`: the last VM with this vm_id went away. */
  deleteVmId(vmId: string): void {
    this.partitions.delete(vmId);
  }

  private nextCas(): number {
    const cas = this.nextCasValue;
    this.nextCasValue = (this.nextCasValue + 1) >>> 0;
    if (this.nextCasValue === 0) this.nextCasValue = 1;
    return cas;
  }
}
