// Memory shared with the host. The host hands data to the plugin by calling our
// allocator (ABI.md §2); we give it unmanaged blocks (a static scratch area, or the heap),
// copy the bytes into GC-managed objects and release the block at once, so nothing the
// host allocates can leak or be moved by the collector while the host writes into it.
import { ByteBuffer } from "../byte-buffer";
import { WasmResult } from "../types";
import { hostAllocated } from "./collector";

/** Out-parameter slots for host calls (each host call uses them before the next one). */
export const PTR_OUT: usize = memory.data(8, 8);
export const SIZE_OUT: usize = memory.data(8, 8);
export const EXTRA_OUT: usize = memory.data(8, 8);

// Every block the host writes into is read at once and released (takeBytes, takeString,
// Headers#allAre), nearly always before the host writes the next: so the first goes to a
// static scratch area, without the allocator's work (about 500 instructions a block, most
// of what a header read costs); another one while it is taken goes to the heap.
const SCRATCH_BYTES: usize = 1024;
const SCRATCH: usize = memory.data(<i32>SCRATCH_BYTES, 16);
let scratchTaken = false;

/** Allocator for host-written results; `malloc` is the one Envoy prefers (ABI.md §2). */
export function allocate(size: usize): usize {
  if (!scratchTaken && size <= SCRATCH_BYTES) {
    scratchTaken = true;
    return SCRATCH;
  }
  hostAllocated(size);
  return heap.alloc(size);
}

/** Gives back a block `allocate` made (0: none). */
// @ts-ignore: decorator (inlined after every host read: the common case is one comparison)
@inline
export function release(ptr: usize): void {
  if (ptr == SCRATCH) scratchTaken = false;
  else releaseHeapBlock(ptr);
}

function releaseHeapBlock(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

/** Takes the block the last host call wrote to PTR_OUT/SIZE_OUT as bytes, and frees it. */
export function takeBytes(): ArrayBuffer {
  const ptr = load<usize>(PTR_OUT);
  const size = load<u32>(SIZE_OUT);
  const out = new ArrayBuffer(<i32>size);
  if (size > 0) {
    memory.copy(changetype<usize>(out), ptr, size);
  }
  release(ptr);
  return out;
}

/**
 * Copies the block the last host call wrote into `into` (emptied unless `result` is Ok),
 * and frees it. Whether the call succeeded.
 */
export function takeInto(result: WasmResult, into: ByteBuffer): bool {
  const ptr = load<usize>(PTR_OUT);
  into.copyFrom(ptr, result == WasmResult.Ok && ptr != 0 ? <i32>load<u32>(SIZE_OUT) : 0);
  release(ptr);
  return result == WasmResult.Ok;
}

/** Takes the block the last host call wrote as a UTF-8 string, and frees it. */
export function takeString(): string {
  const ptr = load<usize>(PTR_OUT);
  const size = load<u32>(SIZE_OUT);
  if (ptr == 0) return "";
  const out = String.UTF8.decodeUnsafe(ptr, size);
  release(ptr);
  return out;
}

/** Clears the out slots before a call so a host that writes nothing reads as empty. */
export function clearOut(): void {
  store<usize>(PTR_OUT, 0);
  store<u32>(SIZE_OUT, 0);
}

/** UTF-8 bytes of a string, ready to hand to the host. */
export function utf8(value: string): ArrayBuffer {
  return String.UTF8.encode(value, false);
}
