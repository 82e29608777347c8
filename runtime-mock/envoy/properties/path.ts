// Property paths (ABI.md §6.3): segments joined by a single NUL.
import { Buffer } from "node:buffer";
import { utf8Bytes } from "../../wasm/utf8.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Joins segments with NUL, without a trailing NUL (as the Rust SDK does). */
export function encodePath(segments: readonly string[]): Uint8Array {
  const parts = segments.map((s) => {
    if (s.includes("\0")) throw new TypeError(`path segment ${JSON.stringify(s)} contains a NUL`);
    return utf8Bytes(s);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0) + Math.max(0, parts.length - 1));
  let offset = 0;
  parts.forEach((p, i) => {
    if (i > 0) offset++; // the NUL separator is already zero
    out.set(p, offset);
    offset += p.length;
  });
  return out;
}

/**
 * "request.headers.x-id" → path bytes. Splits on every dot, so a segment that itself
 * contains dots (a header, a filter-state key such as "wasm.x") needs `encodePath`.
 */
export function pathOf(dotted: string): Uint8Array {
  return encodePath(dotted.split("."));
}

/**
 * Splits raw path bytes exactly like Envoy's `Context::getProperty` loop: a trailing NUL
 * ends the path, inner empty segments are kept ("a\0\0b" → a, "", b), the empty path has
 * no segments at all, and a lone "\0" is one empty segment.
 */
export function splitPath(raw: Uint8Array): Uint8Array[] {
  const segments: Uint8Array[] = [];
  let start = 0;
  while (start < raw.length) {
    let end = raw.indexOf(0, start);
    if (end < 0) end = raw.length;
    segments.push(raw.subarray(start, end));
    start = end + 1;
  }
  return segments;
}

/** A segment as text, or undefined when it is not valid UTF-8 (then no string key can match it). */
export function segmentText(segment: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(segment);
  } catch {
    return undefined;
  }
}

/** One character per byte (ISO-8859-1): the key form used for filter state. */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/**
 * The `PropertyContext.filterState` key under which `proxy_set_property(path, …)` stores its
 * value: the whole raw path, NULs included, one char per byte (Envoy: "wasm." + path).
 */
export function filterStateKey(rawPath: Uint8Array | string): string {
  return typeof rawPath === "string" ? latin1(utf8Bytes(rawPath)) : latin1(rawPath);
}
