// Header/trailer/metadata map calls (ABI.md §3.5, §5.5): map type > 7 is BAD_ARGUMENT before
// anything else, then the memory checks, then the context's answer (map unavailable:
// BAD_ARGUMENT, or NOT_FOUND / OK+empty in proxy_on_log for reads).
import { encodePairs, decodePairs } from "../wasm/pairs.js";
import { MapType, WasmResult } from "../wasm/types.js";
import type { HeaderMap } from "../envoy/headers.js";
import type { HeaderCallHost } from "./ports.js";
import { bytesOf, copyOut, readBytes, readText, u32, written, writeU32, type HostFunctionTable } from "./support.js";

const validMapType = (type: number): MapType | undefined => (u32(type) > MapType.HttpCallResponseTrailers ? undefined : (u32(type) as MapType));

export function headerFunctions(host: HeaderCallHost): HostFunctionTable {
  const legacyAbi = () => host.abiVersion === "0.1.0";
  return {
    proxy_get_header_map_value(type: number, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number) {
      const mapType = validMapType(type);
      if (mapType === undefined) return WasmResult.BadArgument;
      const key = readText(host, keyPtr, keySize);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const context = host.effectiveContext();
      const map = context.readableMap(mapType);
      // 0.1.0 answers a missing map (in on_log) or key with OK and an empty value.
      const empty = () => (legacyAbi() ? copyOut(host, new Uint8Array(0), valuePtrPtr, valueSizePtr) : WasmResult.NotFound);
      if (!map) return context.inAccessLogPhase ? empty() : WasmResult.BadArgument;
      const value = map.get(key);
      if (value === undefined) return empty();
      return copyOut(host, bytesOf(value), valuePtrPtr, valueSizePtr);
    },

    proxy_get_header_map_pairs(type: number, ptrPtr: number, sizePtr: number) {
      const mapType = validMapType(type);
      if (mapType === undefined) return WasmResult.BadArgument;
      const map = host.effectiveContext().readableMap(mapType);
      // An unavailable map is an empty one here: ptr 0 / size 0, no count word.
      return copyOut(host, encodePairs(map ? map.pairs() : []), ptrPtr, sizePtr);
    },

    proxy_add_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) {
      return mutate(type, keyPtr, keySize, valuePtr, valueSize, (map, key, value) => map.add(key, value));
    },

    proxy_replace_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) {
      return mutate(type, keyPtr, keySize, valuePtr, valueSize, (map, key, value) => map.replace(key, value));
    },

    proxy_remove_header_map_value(type: number, keyPtr: number, keySize: number) {
      const mapType = validMapType(type);
      if (mapType === undefined) return WasmResult.BadArgument;
      const key = readText(host, keyPtr, keySize);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const map = host.effectiveContext().writableMap(mapType);
      if (!map) return WasmResult.BadArgument;
      map.remove(key);
      return WasmResult.Ok;
    },

    proxy_set_header_map_pairs(type: number, ptr: number, size: number) {
      const mapType = validMapType(type);
      if (mapType === undefined) return WasmResult.BadArgument;
      const data = readBytes(host, ptr, size);
      if (data === undefined) return WasmResult.InvalidMemoryAccess;
      const map = host.effectiveContext().writableMap(mapType);
      if (!map) return WasmResult.BadArgument;
      map.setPairs(decodePairs(data)); // malformed → empty list → every header removed
      return WasmResult.Ok;
    },

    proxy_get_header_map_size(type: number, sizePtr: number) {
      const mapType = validMapType(type);
      if (mapType === undefined) return WasmResult.BadArgument;
      const map = host.effectiveContext().writableMap(mapType); // Envoy uses the writable lookup here
      if (!map) return WasmResult.BadArgument;
      return written(writeU32(host, sizePtr, map.byteSize()));
    },
  };

  function mutate(
    type: number,
    keyPtr: number,
    keySize: number,
    valuePtr: number,
    valueSize: number,
    apply: (map: HeaderMap, key: string, value: string) => void,
  ): WasmResult {
    const mapType = validMapType(type);
    if (mapType === undefined) return WasmResult.BadArgument;
    const key = readText(host, keyPtr, keySize);
    const value = readText(host, valuePtr, valueSize);
    if (key === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
    const map = host.effectiveContext().writableMap(mapType);
    if (!map) return WasmResult.BadArgument;
    apply(map, key, value);
    return WasmResult.Ok;
  }
}
