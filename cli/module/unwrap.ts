// Istio's `unboxIfPossible` (pkg/wasm/httpfetcher.go), re-stated: an http(s) module may be
// served as .wasm, .wasm.gz, .tar or .tar.gz. The agent repeatedly gunzips and takes the
// *first* file of a tar until the bytes start with the wasm magic, and the WasmPlugin's
// sha256 is that of the unwrapped module (PACKAGING.md §1.3, §1.5). verify and wasmplugin
// use this to show the same bytes Istio would hash.
import { gunzipSync } from "node:zlib";

export const WASM_MAGIC = Uint8Array.of(0x00, 0x61, 0x73, 0x6d);
/** ISTIO_WASM_MAX_BINARY_SIZE_BYTES' default (PACKAGING.md §1.5). */
export const DEFAULT_MAX_MODULE_BYTES = 256 * 1024 * 1024;

export type Wrapping = "gzip" | "tar";

export interface Unwrapped {
  /** The bytes after every layer was removed: the module, if this is one. */
  bytes: Uint8Array;
  /** Layers removed, outermost first, e.g. ["gzip", "tar"] for a .tar.gz. */
  layers: Wrapping[];
  /** The tar entry taken, when a tar was unwrapped. */
  entryName?: string;
}

/** Why unwrapping stopped early; the message says what the input looked like. */
export class UnwrapError extends Error {
  override readonly name = "UnwrapError";
}

export const startsWith = (bytes: Uint8Array, prefix: Uint8Array, at = 0): boolean =>
  bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);

export const isWasm = (bytes: Uint8Array): boolean => startsWith(bytes, WASM_MAGIC);
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
/** POSIX/GNU tar: "ustar" at offset 257 (Go's archive/tar accepts both). */
export const isTar = (bytes: Uint8Array): boolean => bytes.length >= 512 && startsWith(bytes, USTAR, 257);
const USTAR = new TextEncoder().encode("ustar");

/**
 * Unwraps gzip and tar layers like Istio. `maxBytes` bounds every decompressed layer, so
 * a gzip bomb cannot exhaust memory (Istio reads through an io.LimitReader of that size).
 */
export function unwrapModule(input: Uint8Array, maxBytes = DEFAULT_MAX_MODULE_BYTES): Unwrapped {
  let bytes = input;
  const layers: Wrapping[] = [];
  let entryName: string | undefined;
  // Each layer shrinks the framing; a bound on the loop guards against pathological nesting.
  for (let depth = 0; depth < 16 && !isWasm(bytes); depth++) {
    if (isGzip(bytes)) {
      bytes = gunzip(bytes, maxBytes);
      layers.push("gzip");
    } else if (isTar(bytes)) {
      const entry = firstTarEntry(bytes);
      bytes = entry.content;
      entryName = entry.name;
      layers.push("tar");
    } else {
      break;
    }
  }
  return entryName === undefined ? { bytes, layers } : { bytes, layers, entryName };
}

function gunzip(bytes: Uint8Array, maxBytes: number): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: maxBytes + 1 }));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || (error instanceof RangeError)) {
      throw new UnwrapError(`the gzip stream expands beyond ${maxBytes} bytes (Istio's size limit): Istio would silently truncate it`);
    }
    throw new UnwrapError(`the gzip stream is damaged: ${(error as Error).message}`);
  }
}

interface TarEntry {
  name: string;
  content: Uint8Array;
}

/**
 * The first entry of a tar, as Go's archive/tar `Next()` returns it: PAX and GNU long-name
 * headers are applied, not returned. A directory as first entry yields empty content,
 * which is what Istio then sees (and rejects).
 */
function firstTarEntry(bytes: Uint8Array): TarEntry {
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= bytes.length) {
    const header = bytes.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156]!);
    const dataStart = offset + 512;
    if (dataStart + size > bytes.length) throw new UnwrapError("the tar archive is truncated");
    const data = bytes.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (type === "x") {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === "L") {
      longName = cString(data);
      continue;
    }
    if (type === "g") continue;
    const prefix = cString(header.subarray(345, 500));
    const name = longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    const isFile = type === "0" || type === "\0" || type === "7";
    return { name, content: isFile ? data : new Uint8Array(0) };
  }
  throw new UnwrapError("the tar archive holds no file");
}

function octal(field: Uint8Array): number {
  const text = cString(field).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new UnwrapError("the tar archive has a damaged header");
  return parseInt(text, 8);
}

function cString(field: Uint8Array): string {
  const end = field.indexOf(0);
  return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
}

/** The `path` record of a PAX extended header ("<len> path=<value>\n" records). */
function paxPath(data: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(data);
  for (const record of text.split("\n")) {
    const match = /^\d+ path=(.*)$/.exec(record);
    if (match) return match[1];
  }
  return undefined;
}
