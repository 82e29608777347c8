// An engine's memory maximum, imposed on a module before it is compiled. Envoy's V8 lets
// a module's linear memory grow to 1 GiB (proxy-wasm-cpp-host sets V8's
// wasm_max_mem_pages from PROXY_WASM_HOST_MAX_WASM_MEMORY_SIZE_BYTES): past it
// `memory.grow` returns -1 inside the call, which is what the plugin's allocator must see.
// V8 in Node has no such knob per module, so the memory section's maximum is lowered
// instead. Adding a maximum can lengthen the section by a few bytes; the shift is returned
// so that frame offsets can be read back in the original module's coordinates (which its
// source map indexes).
import { encodeU32, Reader, readSections } from "./module.js";
import { OffsetMap } from "./offset-map.js";

export const PAGE_BYTES = 65536;
/** What Envoy's V8 allows a module: 1 GiB. */
export const ENVOY_MAX_MEMORY_BYTES = 1024 * 1024 * 1024;

export interface LimitedModule {
  bytes: Uint8Array;
  /** How the code moved, when it did. */
  offsets?: OffsetMap;
}

/** The module with every defined 32-bit memory's maximum at most `maxPages`; unchanged when already within it. */
export function limitMemory(bytes: Uint8Array, maxPages: number): LimitedModule {
  const { sections, framingBroken } = readSections(bytes);
  const memory = sections.find((s) => s.id === 5);
  if (!memory || framingBroken) return { bytes };
  const r = new Reader(bytes, memory.start, memory.end);
  const body: number[] = [];
  const count = r.u32();
  body.push(...encodeU32(count));
  let changed = false;
  for (let i = 0; i < count; i++) {
    const flags = r.byte();
    if (flags & 4) return { bytes }; // memory64: not ours to touch
    const initial = r.u32();
    const maximum = flags & 1 ? r.u32() : undefined;
    const limited = limitedMaximum(initial, maximum, maxPages);
    if (limited !== maximum) changed = true;
    body.push(flags | 1, ...encodeU32(initial), ...encodeU32(limited));
  }
  if (!changed || !r.atEnd) return { bytes };
  const frame = [5, ...encodeU32(body.length), ...body];
  const out = new Uint8Array(bytes.length - (memory.end - memory.frameStart) + frame.length);
  out.set(bytes.subarray(0, memory.frameStart));
  out.set(frame, memory.frameStart);
  out.set(bytes.subarray(memory.end), memory.frameStart + frame.length);
  const by = out.length - bytes.length;
  if (by === 0) return { bytes: out };
  const offsets = new OffsetMap();
  offsets.add(memory.end + by, by);
  return { bytes: out, offsets };
}

/**
 * A memory's maximum under the engine's limit: the declared one if lower, never below the
 * initial size (an initial size over the limit is left for the load check to report).
 */
export const limitedMaximum = (initial: number, declared: number | undefined, maxPages: number): number =>
  Math.max(initial, Math.min(declared ?? maxPages, maxPages));

/** Page count of a byte limit (whole pages only: a partial page cannot be grown into). */
export const pagesWithin = (limitBytes: number): number => Math.floor(limitBytes / PAGE_BYTES);

