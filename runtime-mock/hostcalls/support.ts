// Shared plumbing of the host functions: argument decoding and the memory checks of
// cpp-host (`getMemory`, `setWord`, `copyToPointerSize`). i32 arguments arrive as signed
// JS numbers and are read as u32 words; i64 arguments arrive as BigInt.
import { WasmResult } from "../wasm/types.js";
import type { CallScope } from "./ports.js";
import { utf8Bytes } from "../wasm/utf8.js";

type Memory = Pick<CallScope, "memory">;

export type HostFunction = (...args: any[]) => number | void;
export type HostFunctionTable = Record<string, HostFunction>;

/** An i32 argument as cpp-host's Word (u32). */
export const u32 = (value: number): number => value >>> 0;

const utf8 = new TextDecoder("utf-8");

export const text = (bytes: Uint8Array): string => utf8.decode(bytes);
export const bytesOf = (value: string): Uint8Array => utf8Bytes(value);

/** Plugin bytes [ptr, ptr+len), or undefined (→ INVALID_MEMORY_ACCESS). */
export function readBytes(host: Memory, ptr: number, len: number): Uint8Array | undefined {
  return host.memory.read(u32(ptr), u32(len));
}

export function readText(host: Memory, ptr: number, len: number): string | undefined {
  return host.memory.readUtf8(u32(ptr), u32(len));
}

/** setWord / setDatatype<uint32_t>: false when outside memory. */
export function writeU32(host: Memory, ptr: number, value: number): boolean {
  return host.memory.writeU32(u32(ptr), value);
}

export function writeU64(host: Memory, ptr: number, value: bigint): boolean {
  return host.memory.writeU64(u32(ptr), value);
}

/** copyToPointerSize: empty → 0/0 without allocating, else the plugin's allocator. */
export function copyOut(host: Memory, data: Uint8Array, ptrPtr: number, sizePtr: number): WasmResult {
  return host.memory.copyOut(data, u32(ptrPtr), u32(sizePtr));
}

/** Status of a write that must succeed for the call to succeed. */
export const written = (ok: boolean): WasmResult => (ok ? WasmResult.Ok : WasmResult.InvalidMemoryAccess);
