// The shared key-value store (ABI.md §5.10): one per vm_id, shared by every plugin and
// worker VM with that vm_id. Each write gets a new CAS token, so read-modify-write can
// detect a concurrent writer: pass the token you read to `set` and retry on CasMismatch.
import { proxy_get_shared_data, proxy_set_shared_data } from "./abi/imports-shared";
import { clearOut, EXTRA_OUT, PTR_OUT, SIZE_OUT, takeBytes, takeInto, utf8 } from "./abi/memory";
import { ByteBuffer } from "./byte-buffer";
import { record } from "./abi/status";
import { toBytes } from "./bytes";
import { WasmResult } from "./types";

/** A stored value and the CAS token of the write that stored it. */
export class SharedDataEntry {
  constructor(public readonly value: ArrayBuffer, public readonly cas: u32) {}

  /** The value as UTF-8 text. */
  text(): string { return String.UTF8.decode(this.value); }
}

export namespace sharedData {
  /** The entry under `key`, or null (`lastResult()` is NotFound). An empty value is an entry too. */
  export function get(key: string): SharedDataEntry | null {
    const k = utf8(key);
    if (fetch(changetype<usize>(k), k.byteLength) != WasmResult.Ok) return null;
    // Envoy writes the cas even for an empty value (ptr 0 / size 0).
    const cas = load<u32>(EXTRA_OUT);
    return new SharedDataEntry(takeBytes(), cas);
  }

  let readCas: u32 = 0;

  /** proxy_get_shared_data into the out slots (the cas in EXTRA_OUT). */
  function fetch(key: usize, keySize: i32): WasmResult {
    clearOut();
    store<u32>(EXTRA_OUT, 0);
    return record(proxy_get_shared_data(key, keySize, PTR_OUT, SIZE_OUT, EXTRA_OUT));
  }

  /**
   * Reads the value under `key` into `into`, making no string or entry: for a
   * read-modify-write on every request, with ByteBuffers made once. True when found, its
   * CAS token then in `lastCas()`; false (`lastResult()` NotFound) with `into` emptied.
   */
  export function readInto(key: ByteBuffer, into: ByteBuffer): bool {
    const result = fetch(key.dataStart, key.length);
    readCas = result == WasmResult.Ok ? load<u32>(EXTRA_OUT) : 0;
    return takeInto(result, into);
  }

  /** The CAS token of the entry the last `readInto` found (0 when it found none). */
  export function lastCas(): u32 {
    return readCas;
  }

  /** `set` with the key and value in ByteBuffers: no encoding. */
  export function writeFrom(key: ByteBuffer, value: ByteBuffer, cas: u32 = 0): WasmResult {
    return record(proxy_set_shared_data(key.dataStart, key.length, value.dataStart, value.length, cas));
  }

  /**
   * Stores a string, ArrayBuffer or Uint8Array under `key`. `cas` 0 writes unconditionally;
   * any other value writes only if the key's current token is still `cas` (else
   * CasMismatch). A key that does not exist yet is created whatever `cas` says (Envoy).
   */
  export function set<T>(key: string, value: T, cas: u32 = 0): WasmResult {
    const k = utf8(key);
    const data = toBytes<T>(value);
    return record(proxy_set_shared_data(changetype<usize>(k), k.byteLength, changetype<usize>(data), data.byteLength, cas));
  }
}
