// The "pairs" serialization of header maps, metadata and map properties (ABI.md §6.1).
import { utf8Bytes } from "./utf8.js";

/** cpp-host's PROXY_WASM_HOST_PAIRS_MAX_COUNT / _BYTES: past them a list decodes as empty. */
export const MAX_PAIRS = 1024;
export const MAX_PAIRS_BYTES = 1024 * 1024;

const decoder = new TextDecoder("utf-8");

export type BytePair = [Uint8Array, Uint8Array];
export type Pair = [string, string];

/** Encodes pairs; an empty list is the empty byte string (the host returns ptr 0/size 0 for it). */
export function encodeBytePairs(pairs: readonly (readonly [Uint8Array, Uint8Array])[]): Uint8Array {
  if (pairs.length === 0) return new Uint8Array(0);
  let size = 4;
  for (const [k, v] of pairs) size += 8 + k.length + 1 + v.length + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, pairs.length, true);
  let offset = 4;
  for (const [k, v] of pairs) {
    view.setUint32(offset, k.length, true);
    view.setUint32(offset + 4, v.length, true);
    offset += 8;
  }
  for (const [k, v] of pairs) {
    out.set(k, offset);
    offset += k.length + 1;
    out.set(v, offset);
    offset += v.length + 1;
  }
  return out;
}

export function encodePairs(pairs: readonly Pair[]): Uint8Array {
  return encodeBytePairs(pairs.map(([k, v]) => [utf8Bytes(k), utf8Bytes(v)]));
}

/**
 * Decodes plugin-supplied pairs exactly as cpp-host's `toPairs`: every key and value
 * NUL-terminated, lengths consuming the buffer exactly, at most 1024 pairs and 1 MiB.
 * Any violation yields an empty list, silently (ABI.md §6.1).
 */
export function decodeBytePairs(data: Uint8Array): BytePair[] {
  if (data.length < 4 || data.length > MAX_PAIRS_BYTES) return [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = view.getUint32(0, true);
  if (count === 0 || count > MAX_PAIRS) return [];
  let offset = 4 + 8 * count;
  if (offset > data.length) return [];
  const pairs: BytePair[] = [];
  for (let i = 0; i < count; i++) {
    const keyLen = view.getUint32(4 + 8 * i, true);
    const valueLen = view.getUint32(8 + 8 * i, true);
    if (offset + keyLen + 1 > data.length || data[offset + keyLen] !== 0) return [];
    const key = data.slice(offset, offset + keyLen);
    offset += keyLen + 1;
    if (offset + valueLen + 1 > data.length || data[offset + valueLen] !== 0) return [];
    const value = data.slice(offset, offset + valueLen);
    offset += valueLen + 1;
    pairs.push([key, value]);
  }
  return offset === data.length ? pairs : [];
}

export function decodePairs(data: Uint8Array): Pair[] {
  return decodeBytePairs(data).map(([k, v]) => [decoder.decode(k), decoder.decode(v)]);
}
