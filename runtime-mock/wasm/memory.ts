// The plugin's linear memory as the host sees it: every read and write is
// bounds-checked, so a bad pointer becomes InvalidMemoryAccess, never a throw.
import { WasmResult } from "./types.js";

const utf8 = new TextDecoder("utf-8");
// Before a memory is bound: one empty buffer and its views, shared (nothing can be written to them).
const NO_BUFFER = new ArrayBuffer(0);
const NO_BYTES = new Uint8Array(NO_BUFFER);
const NO_WORDS = new DataView(NO_BUFFER);

export class PluginMemory {
  private memory: WebAssembly.Memory | undefined;
  /** memory.buffer, cached: reading it is costly, and a grow detaches it (byteLength 0), which is when it is read again. */
  private cached: ArrayBuffer = NO_BUFFER;
  // Views of the cached buffer, made once per buffer rather than once per access. They are
  // current once `inBounds` has run: it reads `byteLength`, which refreshes them after a grow.
  private bytes = NO_BYTES;
  private words = NO_WORDS;
  private allocator: ((size: number) => number) | undefined;

  /** Binds the instance's memory and the allocator the host must use (malloc first, ABI.md §2). */
  bind(memory: WebAssembly.Memory, allocator: ((size: number) => number) | undefined): void {
    this.memory = memory;
    this.refresh();
    this.allocator = allocator;
  }

  get bound(): boolean {
    return this.memory !== undefined;
  }

  /** Current size of linear memory in bytes. */
  get byteLength(): number {
    return this.memory ? this.buffer.byteLength : 0;
  }

  private get buffer(): ArrayBuffer {
    if (this.cached.byteLength === 0 && this.memory) this.refresh();
    return this.cached;
  }

  private refresh(): void {
    this.cached = this.memory!.buffer;
    this.bytes = new Uint8Array(this.cached);
    this.words = new DataView(this.cached);
  }

  private inBounds(ptr: number, len: number): boolean {
    return ptr >= 0 && len >= 0 && ptr + len <= this.byteLength;
  }

  /** A copy of [ptr, ptr+len), or undefined when the range is outside memory. */
  read(ptr: number, len: number): Uint8Array | undefined {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.memory || !this.inBounds(ptr, len)) return undefined;
    return this.bytes.slice(ptr, ptr + len);
  }

  /** The UTF-8 text at [ptr, ptr+len), decoded in place (no copy), or undefined outside memory. */
  readUtf8(ptr: number, len: number): string | undefined {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.memory || !this.inBounds(ptr, len)) return undefined;
    return utf8.decode(this.bytes.subarray(ptr, ptr + len));
  }

  readU32(ptr: number): number | undefined {
    ptr >>>= 0;
    if (!this.memory || !this.inBounds(ptr, 4)) return undefined;
    return this.words.getUint32(ptr, true);
  }

  write(ptr: number, data: Uint8Array): boolean {
    ptr >>>= 0;
    if (!this.memory || !this.inBounds(ptr, data.length)) return false;
    this.bytes.set(data, ptr);
    return true;
  }

  writeU32(ptr: number, value: number): boolean {
    ptr >>>= 0;
    if (!this.memory || !this.inBounds(ptr, 4)) return false;
    this.words.setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    ptr >>>= 0;
    if (!this.memory || !this.inBounds(ptr, 8)) return false;
    this.words.setBigUint64(ptr, BigInt.asUintN(64, value), true);
    return true;
  }

  /**
   * Hands variable-size data to the plugin (cpp-host `copyToPointerSize`): an empty
   * value writes 0/0 without calling the allocator; otherwise the plugin's allocator
   * gets the exact size and ownership passes to the plugin.
   */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): WasmResult {
    if (data.length === 0) {
      if (!this.writeU32(ptrPtr, 0) || !this.writeU32(sizePtr, 0)) return WasmResult.InvalidMemoryAccess;
      return WasmResult.Ok;
    }
    if (!this.allocator) return WasmResult.InvalidMemoryAccess;
    const ptr = this.allocator(data.length) >>> 0;
    if (ptr === 0 || !this.write(ptr, data)) return WasmResult.InvalidMemoryAccess;
    if (!this.writeU32(ptrPtr, ptr) || !this.writeU32(sizePtr, data.length)) return WasmResult.InvalidMemoryAccess;
    return WasmResult.Ok;
  }
}
