// Envoy attributes (properties) by path: "request.path", "source.address",
// "xds.node.metadata.NAME"... A missing property is null, never a trap.
import { proxy_get_property, proxy_set_property } from "./abi/imports";
import { clearOut, PTR_OUT, SIZE_OUT, takeBytes, takeInto } from "./abi/memory";
import { ByteBuffer } from "./byte-buffer";
import { record } from "./abi/status";
import { toBytes } from "./bytes";
import { decodeHeaders, Header } from "./pairs";
import { WasmResult } from "./types";

/** A property's raw value with readers for Envoy's encodings (ABI.md §6.2). */
export class PropertyValue {
  constructor(public readonly bytes: ArrayBuffer) {}

  /** string values: raw UTF-8. */
  asString(): string { return String.UTF8.decode(this.bytes); }
  /** int, timestamp and duration values: 8 bytes little-endian (0 if not 8 bytes). */
  asInt(): i64 { return fixed8<i64>(changetype<usize>(this.bytes), this.bytes.byteLength); }
  /** uint values. */
  asUint(): u64 { return fixed8<u64>(changetype<usize>(this.bytes), this.bytes.byteLength); }
  /** double values (Istio node metadata numbers are doubles). */
  asDouble(): f64 { return fixed8<f64>(changetype<usize>(this.bytes), this.bytes.byteLength); }
  /** bool values: one byte. */
  asBool(): bool { return flag(changetype<usize>(this.bytes), this.bytes.byteLength); }
  /** map values (e.g. request.headers): name/value pairs. */
  asMap(): Array<Header> { return decodeHeaders(this.bytes); }
  /** list values: each element's bytes as a string. */
  asList(): Array<string> {
    const pairs = decodeHeaders(this.bytes);
    const items = new Array<string>(pairs.length);
    for (let i = 0; i < pairs.length; i++) items[i] = pairs[i].name;
    return items;
  }
  /**
   * map values whose values are not all strings (node metadata: numbers are doubles, bools
   * one byte, nested maps), each value readable by its type.
   */
  asEntries(): Array<PropertyEntry> {
    const raw = decodeRawPairs(this.bytes);
    const entries = new Array<PropertyEntry>(raw.length / 2);
    for (let i = 0; i < entries.length; i++) {
      entries[i] = new PropertyEntry(String.UTF8.decode(raw[2 * i]), new PropertyValue(raw[2 * i + 1]));
    }
    return entries;
  }
  /** list values whose elements are not strings (e.g. a list of maps), each element readable by its type. */
  asItems(): Array<PropertyValue> {
    const raw = decodeRawPairs(this.bytes);
    const items = new Array<PropertyValue>(raw.length / 2);
    for (let i = 0; i < items.length; i++) items[i] = new PropertyValue(raw[2 * i]);
    return items;
  }
}

/** An 8-byte little-endian number at `ptr` (0 if the value is not 8 bytes). */
function fixed8<T>(ptr: usize, size: i32): T {
  return size == 8 ? load<T>(ptr) : <T>0;
}

/** A bool value: its first byte (false when empty). */
function flag(ptr: usize, size: i32): bool {
  return size >= 1 && load<u8>(ptr) != 0;
}

/** One entry of a map-valued property. */
export class PropertyEntry {
  constructor(public readonly key: string, public readonly value: PropertyValue) {}
}

/** The pairs encoding (ABI.md §6.1) as raw key and value bytes, alternating; stops at the first entry that does not fit. */
function decodeRawPairs(buffer: ArrayBuffer): Array<ArrayBuffer> {
  const out = new Array<ArrayBuffer>();
  const size = <usize>buffer.byteLength;
  if (size < 4) return out;
  const count = <usize>load<u32>(changetype<usize>(buffer));
  if (<usize>4 + 8 * count > size) return out;
  let data: usize = 4 + 8 * count;
  for (let i: usize = 0; i < count; i++) {
    const keySize = <usize>load<u32>(changetype<usize>(buffer) + 4 + 8 * i);
    const valueSize = <usize>load<u32>(changetype<usize>(buffer) + 8 + 8 * i);
    if (data + keySize + 1 + valueSize + 1 > size) break;
    out.push(buffer.slice(<i32>data, <i32>(data + keySize)));
    data += keySize + 1;
    out.push(buffer.slice(<i32>data, <i32>(data + valueSize)));
    data += valueSize + 1;
  }
  return out;
}

// Numbers and flags are read into this and decoded in place: no value object per read.
// @ts-ignore: decorator (made on first use: a module that reads no number gets none of it)
@lazy const SCALAR = new ByteBuffer(16);

/** Host form of a dotted path: segments separated by NUL (ABI.md §6.3). */
function encodeDottedPath(path: string): ArrayBuffer {
  const bytes = String.UTF8.encode(path, false);
  const base = changetype<usize>(bytes);
  for (let i = 0; i < bytes.byteLength; i++) {
    if (load<u8>(base + i) == 0x2e) store<u8>(base + i, 0);
  }
  return bytes;
}

function encodeSegments(segments: Array<string>): ArrayBuffer {
  let joined = "";
  for (let i = 0; i < segments.length; i++) {
    if (i > 0) joined += "\0";
    joined += segments[i];
  }
  return String.UTF8.encode(joined, false);
}

export namespace properties {
  /** The value at `segments`, or null when absent (`lastResult()` says NotFound, SerializationFailure, ...). */
  export function getPath(segments: Array<string>): PropertyValue | null {
    return getEncoded(encodeSegments(segments));
  }

  function getEncoded(path: ArrayBuffer): PropertyValue | null {
    return fetch(path) == WasmResult.Ok ? new PropertyValue(takeBytes()) : null;
  }

  /** proxy_get_property into the out slots. */
  function fetch(path: ArrayBuffer): WasmResult {
    clearOut();
    return record(proxy_get_property(changetype<usize>(path), path.byteLength, PTR_OUT, SIZE_OUT));
  }

  /**
   * A dotted path in the host's form, made once (at the top level or at configuration) for
   * a property read on every request: `getInt(RESPONSE_CODE)` then encodes nothing.
   * Every getter takes a path as a string or as this.
   */
  export function path(dotted: string): ArrayBuffer {
    return encodeDottedPath(dotted);
  }

  function encodedPath<P>(path: P): ArrayBuffer {
    if (isString<P>()) return encodeDottedPath(changetype<string>(path));
    if (idof<P>() != idof<ArrayBuffer>()) ERROR("a property path is a string or properties.path(...)");
    return changetype<ArrayBuffer>(path);
  }

  /** The value at a dotted path such as "request.headers.user-agent", or null. */
  export function get<P>(path: P): PropertyValue | null {
    return getEncoded(encodedPath<P>(path));
  }

  export function getString<P>(path: P): string | null {
    const value = get(path);
    return value !== null ? value.asString() : null;
  }

  /** An int, timestamp or duration (8 bytes little-endian); `fallback` when absent, 0 when not 8 bytes (as PropertyValue#asInt). */
  export function getInt<P>(path: P, fallback: i64 = 0): i64 {
    return readScalar<P>(path) ? fixed8<i64>(SCALAR.dataStart, SCALAR.length) : fallback;
  }

  export function getUint<P>(path: P, fallback: u64 = 0): u64 {
    return readScalar<P>(path) ? fixed8<u64>(SCALAR.dataStart, SCALAR.length) : fallback;
  }

  export function getDouble<P>(path: P, fallback: f64 = 0): f64 {
    return readScalar<P>(path) ? fixed8<f64>(SCALAR.dataStart, SCALAR.length) : fallback;
  }

  export function getBool<P>(path: P, fallback: bool = false): bool {
    return readScalar<P>(path) ? flag(SCALAR.dataStart, SCALAR.length) : fallback;
  }

  function readScalar<P>(path: P): bool {
    return takeInto(fetch(encodedPath<P>(path)), SCALAR);
  }

  export function getBytes<P>(path: P): ArrayBuffer | null {
    const value = get(path);
    return value !== null ? value.bytes : null;
  }

  /**
   * Stores a value (Envoy keeps it as filter state "wasm.<path>"; readable back by the
   * same single-segment path). NotFound outside a stream.
   */
  export function set<T>(path: string, value: T): WasmResult {
    const encodedPath = encodeDottedPath(path);
    const data = toBytes<T>(value);
    return record(proxy_set_property(changetype<usize>(encodedPath), encodedPath.byteLength, changetype<usize>(data), data.byteLength));
  }
}
