// Buffer calls (ABI.md §3.4, §5.6): type > 8 is BAD_ARGUMENT, then the buffer lookup
// (NOT_FOUND) before any memory check; reads clamp the range and answer an empty range
// with ptr 0 / size 0.
import { BufferType, WasmResult } from "../wasm/types.js";
import type { BufferCallHost } from "./ports.js";
import { copyOut, readBytes, u32, writeU32, type HostFunctionTable } from "./support.js";

const validBufferType = (type: number): BufferType | undefined => (u32(type) > BufferType.CallData ? undefined : (u32(type) as BufferType));

export function bufferFunctions(host: BufferCallHost): HostFunctionTable {
  return {
    proxy_get_buffer_status(type: number, sizePtr: number, flagsPtr: number) {
      const bufferType = validBufferType(type);
      if (bufferType === undefined) return WasmResult.BadArgument;
      const buffer = host.effectiveContext().buffer(bufferType);
      if (!buffer) return WasmResult.NotFound;
      if (!writeU32(host, sizePtr, buffer.length)) return WasmResult.InvalidMemoryAccess;
      return writeU32(host, flagsPtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess; // flags are always 0
    },

    proxy_get_buffer_bytes(type: number, start: number, maxSize: number, ptrPtr: number, sizePtr: number) {
      const bufferType = validBufferType(type);
      if (bufferType === undefined) return WasmResult.BadArgument;
      const buffer = host.effectiveContext().buffer(bufferType);
      if (!buffer) return WasmResult.NotFound;
      // u32 arguments in 64-bit words: start + max never overflows, a huge max is clamped.
      const from = u32(start);
      let length = u32(maxSize);
      if (from > buffer.length) length = 0;
      else if (from + length > buffer.length) length = buffer.length - from;
      return copyOut(host, length === 0 ? new Uint8Array(0) : buffer.read(from, length), ptrPtr, sizePtr);
    },

    proxy_set_buffer_bytes(type: number, start: number, size: number, dataPtr: number, dataSize: number) {
      const bufferType = validBufferType(type);
      if (bufferType === undefined) return WasmResult.BadArgument;
      const buffer = host.effectiveContext().buffer(bufferType);
      if (!buffer) return WasmResult.NotFound;
      const data = readBytes(host, dataPtr, dataSize);
      if (data === undefined) return WasmResult.InvalidMemoryAccess;
      return buffer.write(u32(start), u32(size), data);
    },
  };
}
