// The shared key-value store (ABI.md §5.10; cpp-host `shared_data.cc`): partitioned by
// vm_id, one CAS counter for every key of every partition (1, 2, 3…, skipping 0).
import { WasmResult } from "./abi/types.js";
import { latin1 } from "./properties/path.js";

interface Slot {
  value: Uint8Array;
  cas: number;
}

const encoder = new TextEncoder();
const keyOf = (key: Uint8Array | string) => latin1(typeof key === "string" ? encoder.encode(key) : key);

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
   * that a missing key is simply created (⚠ Envoy, ABI.md §10 #13).
   */
  set(vmId: string, key: Uint8Array | string, value: Uint8Array, cas: number): WasmResult {
    let partition = this.partitions.get(vmId);
    if (!partition) this.partitions.set(vmId, (partition = new Map()));
    const k = keyOf(key);
    const slot = partition.get(k);
    if (slot && cas !== 0 && cas !== slot.cas) return WasmResult.CasMismatch;
    partition.set(k, { value: value.slice(), cas: this.nextCas() });
    return WasmResult.Ok;
  }

  /** Test helper: the value as UTF-8 text, or undefined. */
  text(vmId: string, key: string): string | undefined {
    const { value } = this.get(vmId, key);
    return value === undefined ? undefined : new TextDecoder().decode(value);
  }

  private nextCas(): number {
    const cas = this.nextCasValue;
    this.nextCasValue = (this.nextCasValue + 1) >>> 0;
    if (this.nextCasValue === 0) this.nextCasValue = 1;
    return cas;
  }
}
