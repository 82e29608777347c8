// Header and trailer maps of the current stream, read and written through the host.
import {
  proxy_add_header_map_value, proxy_get_header_map_pairs, proxy_get_header_map_size,
  proxy_get_header_map_value, proxy_remove_header_map_value, proxy_replace_header_map_value,
  proxy_set_header_map_pairs,
} from "./abi/imports";
import { clearOut, PTR_OUT, release, SIZE_OUT, takeBytes, takeInto, takeString } from "./abi/memory";
import { record } from "./abi/status";
import { ByteBuffer, sameBytes } from "./byte-buffer";
import { byteLengthOf } from "./bytes";
import { HeaderList } from "./header-list";
import { utf8Bytes } from "./utf8-cache";
import { decodeHeaders, encodeHeaders, Header } from "./pairs";
import { MapType, WasmResult } from "./types";

export { Header } from "./pairs";

/**
 * One header map of the stream (request or response headers or trailers, or a callout
 * response's). Names are case-insensitive; the host stores them lower-cased.
 * Mutations return the host's status: BadArgument once the map is no longer
 * available (after the callback returned Continue), as Envoy does.
 */
export class Headers {
  constructor(public readonly mapType: MapType) {}

  /** First value of `name`, or null if absent (see `lastResult()` for why). */
  get(name: string): string | null {
    return this.fetchValue(utf8Bytes(name)) == WasmResult.Ok ? takeString() : null;
  }

  /**
   * Reads the first value of `name` into `into` (its bytes as the host holds them), making
   * no string: for checks on every request, with a ByteBuffer made once. `name` is a
   * string, or its lower-case UTF-8 bytes made once (a name from the configuration, which
   * would be encoded on every call). False, with `into` emptied, when the header is absent
   * (see `lastResult()` for why).
   */
  readInto<N>(name: N, into: ByteBuffer): bool {
    return takeInto(this.fetchValue(keyOf<N>(name)), into);
  }

  /** Every value of `name`, in order (repeated headers are separate entries). */
  getAll(name: string): Array<string> {
    const values = new Array<string>();
    this.scan(pairsKeyOf<string>(name), values, null, null);
    return values;
  }

  /**
   * Appends every entry of `name` to `list`, in order, making no string; returns how many.
   * `name` as in `readInto` (lower-case bytes when it is an ArrayBuffer): to pass headers
   * of a request to a callout, or of a callout's answer to the client.
   */
  copyAll<N>(name: N, list: HeaderList): i32 {
    return max(this.scan(pairsKeyOf<N>(name), null, null, list), 0);
  }

  /**
   * Whether the map has `header.name` and every one of its entries holds exactly
   * `header.value`, read in place: no string or array is made, so a check that runs on
   * every request costs one host call. `header.name` must be lower-case (as the host keeps
   * names); build the Header once, at configuration time.
   */
  allAre(header: Header): bool {
    return this.scan(header.encodedName, null, header.encodedValue, null) > 0;
  }

  has(name: string): bool {
    return this.get(name) !== null;
  }

  /** Adds an entry (Envoy joins a repeated inline header such as user-agent with ","). */
  add(name: string, value: string): WasmResult {
    const key = utf8Bytes(name);
    const val = String.UTF8.encode(value, false);
    return record(proxy_add_header_map_value(this.mapType, changetype<usize>(key), byteLengthOf(key), changetype<usize>(val), byteLengthOf(val)));
  }

  /** Adds every header of `headers` (an Array<Header> or a HeaderList), in order; stops at and returns the first failure. */
  addAll<H>(headers: H): WasmResult {
    if (idof<H>() == idof<HeaderList>()) return this.addList(changetype<HeaderList>(headers));
    if (idof<H>() != idof<Array<Header>>()) ERROR("addAll takes an Array<Header> or a HeaderList");
    const array = changetype<Array<Header>>(headers);
    for (let i = 0, n = array.length; i < n; i++) {
      const header = unchecked(array[i]);
      const name = header.encodedName;
      const value = header.encodedValue;
      const result = record(proxy_add_header_map_value(this.mapType, changetype<usize>(name), byteLengthOf(name), changetype<usize>(value), byteLengthOf(value)));
      if (result != WasmResult.Ok) return result;
    }
    return WasmResult.Ok;
  }

  /** Removes every entry of `name` and sets one with `value`. */
  replace(name: string, value: string): WasmResult {
    const key = utf8Bytes(name);
    const val = String.UTF8.encode(value, false);
    return record(proxy_replace_header_map_value(this.mapType, changetype<usize>(key), byteLengthOf(key), changetype<usize>(val), byteLengthOf(val)));
  }

  /** Removes every entry of `name`, a string or its lower-case bytes (Ok when there was none). */
  remove<N>(name: N): WasmResult {
    const key = keyOf<N>(name);
    return record(proxy_remove_header_map_value(this.mapType, changetype<usize>(key), byteLengthOf(key)));
  }

  /** All entries in the host's order (pseudo-headers first); empty when unavailable. */
  all(): Array<Header> {
    clearOut();
    const result = record(proxy_get_header_map_pairs(this.mapType, PTR_OUT, SIZE_OUT));
    if (result != WasmResult.Ok) return new Array<Header>();
    return decodeHeaders(takeBytes());
  }

  /** Replaces the whole map with `headers`. */
  setAll(headers: Array<Header>): WasmResult {
    const data = encodeHeaders(headers);
    return record(proxy_set_header_map_pairs(this.mapType, changetype<usize>(data), byteLengthOf(data)));
  }

  /** Envoy's byte size of the map: the sum of name and value lengths; 0 when unavailable. */
  byteSize(): u32 {
    const result = record(proxy_get_header_map_size(this.mapType, SIZE_OUT));
    return result == WasmResult.Ok ? load<u32>(SIZE_OUT) : 0;
  }

  /** proxy_get_header_map_value into the out slots. */
  private fetchValue(key: ArrayBuffer): WasmResult {
    clearOut();
    return record(proxy_get_header_map_value(this.mapType, changetype<usize>(key), byteLengthOf(key), PTR_OUT, SIZE_OUT));
  }

  /** The map's pairs scanned in place for `name` (see scanPairs), the host's block released after; 0 when unavailable. */
  private scan(name: ArrayBuffer, values: Array<string> | null, expected: ArrayBuffer | null, list: HeaderList | null): i32 {
    clearOut();
    if (record(proxy_get_header_map_pairs(this.mapType, PTR_OUT, SIZE_OUT)) != WasmResult.Ok) return 0;
    const base = load<usize>(PTR_OUT);
    const matches = scanPairs(base, <i32>load<u32>(SIZE_OUT), name, values, expected, list);
    release(base);
    return matches;
  }

  private addList(list: HeaderList): WasmResult {
    const sizes = list.sizesStart;
    let at = list.dataStart;
    for (let i = 0, n = list.count; i < n; i++) {
      const nameSize = <usize>load<u32>(sizes + 8 * <usize>i);
      const valueSize = <usize>load<u32>(sizes + 8 * <usize>i + 4);
      const result = record(proxy_add_header_map_value(this.mapType, at, nameSize, at + nameSize + 1, valueSize));
      if (result != WasmResult.Ok) return result;
      at += nameSize + valueSize + 2;
    }
    return WasmResult.Ok;
  }
}

/** True for a valid HTTP header name (an RFC 9110 token; pseudo-headers are not allowed). */
export function isValidHeaderName(name: string): bool {
  if (name.length == 0) return false;
  for (let i = 0; i < name.length; i++) {
    if (!isTokenChar(name.charCodeAt(i))) return false;
  }
  return true;
}

/** True for a header value Envoy would accept: no CR, LF or NUL (RFC 9110 field-value). */
export function isValidHeaderValue(value: string): bool {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c == 0x0d || c == 0x0a || c == 0) return false;
    if (c < 0x20 && c != 0x09) return false;
    if (c == 0x7f) return false;
  }
  return true;
}

/** Lower-cases A-Z only: header names are ASCII, and Unicode case tables cost kilobytes. */
export function asciiLowerCase(value: string): string {
  let i = 0;
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) break;
  }
  if (i == value.length) return value;
  let out = value.substring(0, i);
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  return out;
}

// RFC 9110 tchar as a 128-bit set: ALPHA, DIGIT and !#$%&'*+-.^_`|~
const TOKEN_LOW: u64 = 0x03ff6cfa00000000; // 0x00-0x3f
const TOKEN_HIGH: u64 = 0x57ffffffc7fffffe; // 0x40-0x7f

function isTokenChar(c: i32): bool {
  if (c < 64) return ((TOKEN_LOW >> <u64>c) & 1) != 0;
  if (c < 128) return ((TOKEN_HIGH >> <u64>(c - 64)) & 1) != 0;
  return false;
}

export const requestHeaders = new Headers(MapType.HttpRequestHeaders);
export const requestTrailers = new Headers(MapType.HttpRequestTrailers);
export const responseHeaders = new Headers(MapType.HttpResponseHeaders);
export const responseTrailers = new Headers(MapType.HttpResponseTrailers);
// Callout data: built only in plugins that read it.
// @ts-ignore: decorator
@lazy export const httpCallResponseHeaders = new Headers(MapType.HttpCallResponseHeaders);
// @ts-ignore: decorator
@lazy export const httpCallResponseTrailers = new Headers(MapType.HttpCallResponseTrailers);

/**
 * Walks a pairs buffer (ABI.md §6.1: [count][(nameSize, valueSize) × count], then each
 * name and value NUL-terminated) for the entries named `name`, comparing bytes: only what
 * matches is decoded, into `values` when given, or copied into `list`. With `expected`, returns -1 at the first
 * value that differs from it; otherwise the number of entries named `name`. A truncated
 * buffer ends the walk at the first entry named like `name` that it cuts.
 */
export function scanPairs(base: usize, size: i32, name: ArrayBuffer, values: Array<string> | null, expected: ArrayBuffer | null, list: HeaderList | null): i32 {
  if (size < 4) return 0;
  const end = base + <usize>size;
  // The size pairs are walked by address, not by index: this loop runs for every header.
  let sizes = base + 4;
  const sizesEnd = sizes + 8 * <usize>load<u32>(base);
  let data = sizesEnd;
  if (data > end) return 0;
  const nameSize = <usize>byteLengthOf(name);
  let matches = 0;
  for (; sizes < sizesEnd; sizes += 8) {
    const entryNameSize = <usize>load<u32>(sizes);
    const valueSize = <usize>load<u32>(sizes, 4);
    const entry = data;
    data += entryNameSize + valueSize + 2;
    if (entryNameSize != nameSize) continue;
    // Only an entry whose name may match is read, so only it must lie inside the block
    // (sizes that wrap around included): one that does not ends the walk.
    if (data > end || data < entry) break;
    if (!sameBytes(entry, changetype<usize>(name), nameSize)) continue;
    const value = entry + entryNameSize + 1;
    if (values !== null) values.push(String.UTF8.decodeUnsafe(value, valueSize));
    if (list !== null) list.addBytes(entry, entryNameSize, value, valueSize);
    if (expected !== null && (valueSize != <usize>byteLengthOf(expected) || !sameBytes(value, changetype<usize>(expected), valueSize))) return -1;
    matches++;
  }
  return matches;
}

/** A name to find in the host's pairs, which are compared byte for byte: a string lower-cased as the host keeps names, or its lower-case bytes. */
function pairsKeyOf<N>(name: N): ArrayBuffer {
  return isString<N>() ? utf8Bytes(asciiLowerCase(changetype<string>(name))) : keyOf<N>(name);
}

/** A header name given as a string (encoded once while it is in use: utf8-cache.ts) or as its bytes. */
function keyOf<N>(name: N): ArrayBuffer {
  if (isString<N>()) return utf8Bytes(changetype<string>(name));
  if (idof<N>() != idof<ArrayBuffer>()) ERROR("a header name is a string or an ArrayBuffer");
  return changetype<ArrayBuffer>(name);
}
