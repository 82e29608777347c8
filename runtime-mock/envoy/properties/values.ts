// Property values with Envoy's CEL types, and their byte encodings as returned by
// `proxy_get_property` (ABI.md §6.2; Envoy `serializeValue` in E-CTX).
import { encodeBytePairs } from "../../wasm/pairs.js";
import { utf8Bytes } from "../../wasm/utf8.js";

const utf8Decoder = new TextDecoder("utf-8");

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * A property value. Plain JS values map to CEL types as follows: string → string,
 * boolean → bool, integer number or bigint → int, non-integer number → double,
 * Uint8Array → bytes, array → list, plain object → map. `TypedValue` picks any other
 * type explicitly (uint, timestamp, duration, proto message, null, a double that
 * happens to be integral, …). An object key whose value is `undefined` counts as absent.
 */
export type PropertyValue =
  | string
  | boolean
  | number
  | bigint
  | Uint8Array
  | TypedValue
  | PropertyValue[]
  | { [key: string]: PropertyValue };

export type PropertyTree = { [topLevelName: string]: PropertyValue };

type Payload =
  | { kind: "int" | "uint" | "timestamp" | "duration"; value: bigint }
  | { kind: "double"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "string"; value: string }
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "message"; fields: Readonly<Record<string, PropertyValue>>; wire: Uint8Array | undefined; typeName: string | undefined }
  | { kind: "null" };

export type TypedKind = Payload["kind"];

/** A value with an explicit CEL type, for when the plain JS mapping is not the one wanted. */
export class TypedValue {
  private constructor(private readonly payload: Payload) {}

  get kind(): TypedKind {
    return this.payload.kind;
  }

  static int(v: number | bigint): TypedValue {
    return new TypedValue({ kind: "int", value: toBigInt(v, INT64_MIN, INT64_MAX, "int") });
  }

  static uint(v: number | bigint): TypedValue {
    return new TypedValue({ kind: "uint", value: toBigInt(v, 0n, UINT64_MAX, "uint") });
  }

  static double(v: number): TypedValue {
    return new TypedValue({ kind: "double", value: v });
  }

  static bool(v: boolean): TypedValue {
    return new TypedValue({ kind: "bool", value: v });
  }

  static string(v: string): TypedValue {
    return new TypedValue({ kind: "string", value: v });
  }

  /** Bytes; a string is taken as its UTF-8 encoding. */
  static bytes(v: Uint8Array | string): TypedValue {
    return new TypedValue({ kind: "bytes", value: typeof v === "string" ? utf8Bytes(v) : v.slice() });
  }

  /** A timestamp: a Date (millisecond precision) or nanoseconds since the Unix epoch. */
  static timestamp(v: Date | bigint): TypedValue {
    let ns: bigint;
    if (v instanceof Date) {
      const ms = v.getTime();
      if (Number.isNaN(ms)) throw new RangeError("TypedValue.timestamp: invalid Date");
      ns = BigInt(ms) * 1_000_000n;
    } else {
      ns = v;
    }
    return new TypedValue({ kind: "timestamp", value: toBigInt(ns, INT64_MIN, INT64_MAX, "timestamp") });
  }

  /** A duration in nanoseconds. */
  static duration(ns: bigint): TypedValue {
    return new TypedValue({ kind: "duration", value: toBigInt(ns, INT64_MIN, INT64_MAX, "duration") });
  }

  /**
   * A protobuf message. Paths traverse it by field name through `fields` (values in their
   * CEL form: a Struct field is a plain map whose numbers are doubles, an enum is an int, …);
   * asking for the message itself returns `wire`, its protobuf binary encoding, as Envoy does.
   *
   * Field numbers cannot be guessed from names, so a message without `wire` can be traversed
   * but not returned whole: doing so throws (a test-setup error, not an Envoy status). Use
   * `protoMessage(schema, data)` (./proto.ts) to get both the CEL view and a real encoding,
   * e.g. for envoy.config.core.v3.Node / Metadata.
   */
  static message(fields: { [k: string]: PropertyValue }, wire?: Uint8Array, typeName?: string): TypedValue {
    return new TypedValue({ kind: "message", fields: { ...fields }, wire: wire?.slice(), typeName });
  }

  /** CEL null: cannot be serialized (SerializationFailure), and nothing is below it (NotFound). */
  static null(): TypedValue {
    return new TypedValue({ kind: "null" });
  }

  /** The scalar payload (bigint for int/uint/timestamp/duration); undefined for message/null. */
  get value(): bigint | number | boolean | string | Uint8Array | undefined {
    const p = this.payload;
    return p.kind === "message" || p.kind === "null" ? undefined : p.value;
  }

  /** Field `name` of a message (own fields only); undefined for non-messages. */
  field(name: string): PropertyValue | undefined {
    const p = this.payload;
    return p.kind === "message" && Object.hasOwn(p.fields, name) ? p.fields[name] : undefined;
  }

  /** Protobuf wire bytes of a message, if known. */
  get wire(): Uint8Array | undefined {
    return this.payload.kind === "message" ? this.payload.wire : undefined;
  }

  get typeName(): string | undefined {
    return this.payload.kind === "message" ? this.payload.typeName : undefined;
  }

  toString(): string {
    const p = this.payload;
    if (p.kind === "message") return `message(${p.typeName ?? "?"})`;
    if (p.kind === "null") return "null";
    return `${p.kind}(${String(p.value)})`;
  }
}

function toBigInt(v: number | bigint, min: bigint, max: bigint, what: string): bigint {
  if (typeof v === "number" && !Number.isInteger(v)) {
    throw new RangeError(`${what}: ${v} is not an integer (use TypedValue.double for doubles)`);
  }
  const b = BigInt(v);
  if (b < min || b > max) throw new RangeError(`${what}: ${b} is out of range`);
  return b;
}

/** A plain object used as a CEL map (not an array, bytes, TypedValue, or null). */
export function isPlainMap(v: unknown): v is { [key: string]: PropertyValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof TypedValue);
}

/** Own-property lookup, so keys such as "constructor" or "__proto__" never hit the prototype. */
export function ownValue(map: { [key: string]: PropertyValue }, key: string): PropertyValue | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

function le64(write: (view: DataView) => void): Uint8Array {
  const out = new Uint8Array(8);
  write(new DataView(out.buffer));
  return out;
}

const int64 = (v: bigint) => le64((d) => d.setBigInt64(0, v, true));
const uint64 = (v: bigint) => le64((d) => d.setBigUint64(0, v, true));
const float64 = (v: number) => le64((d) => d.setFloat64(0, v, true));

/**
 * Pairs layout (§6.1) for map/list property values. Unlike `proxy_get_header_map_pairs`,
 * Envoy's `serializeValue` always writes the count word, so an empty map or list is the
 * 4 bytes `00 00 00 00`, not an empty result (cpp-host `PairsUtil::pairsSize`).
 */
export function encodePropertyPairs(pairs: readonly (readonly [Uint8Array, Uint8Array])[]): Uint8Array {
  return pairs.length === 0 ? new Uint8Array(4) : encodeBytePairs(pairs);
}

const EMPTY = new Uint8Array(0);

/**
 * Encodes a value as Envoy returns it (ABI.md §6.2). `undefined` means the value cannot be
 * serialized (null, or a map/list containing null) → SERIALIZATION_FAILURE.
 * Throws for test-setup errors: an out-of-range integer, a message without wire bytes.
 */
export function encodeValue(v: PropertyValue): Uint8Array | undefined {
  switch (typeof v) {
    case "string":
      return utf8Bytes(v);
    case "boolean":
      return Uint8Array.of(v ? 1 : 0);
    case "number":
      return Number.isInteger(v) ? int64(toBigInt(v, INT64_MIN, INT64_MAX, "int")) : float64(v);
    case "bigint":
      return int64(toBigInt(v, INT64_MIN, INT64_MAX, "int"));
  }
  if (v instanceof Uint8Array) return v.slice();
  if (v instanceof TypedValue) return encodeTyped(v);
  if (Array.isArray(v)) {
    const pairs: [Uint8Array, Uint8Array][] = [];
    for (const element of v) {
      const e = encodeValue(element);
      if (e === undefined) return undefined;
      pairs.push([e, EMPTY]); // list elements go in the key slot, values stay empty
    }
    return encodePropertyPairs(pairs);
  }
  if (isPlainMap(v)) {
    const pairs: [Uint8Array, Uint8Array][] = [];
    for (const [key, value] of Object.entries(v)) {
      if (value === undefined) continue;
      const e = encodeValue(value);
      if (e === undefined) return undefined;
      pairs.push([utf8Bytes(key), e]);
    }
    return encodePropertyPairs(pairs);
  }
  return undefined; // JS null/undefined smuggled in: CEL null
}

function encodeTyped(v: TypedValue): Uint8Array | undefined {
  switch (v.kind) {
    case "int":
    case "timestamp":
    case "duration":
      return int64(v.value as bigint);
    case "uint":
      return uint64(v.value as bigint);
    case "double":
      return float64(v.value as number);
    case "bool":
      return Uint8Array.of(v.value ? 1 : 0);
    case "string":
      return utf8Bytes(v.value as string);
    case "bytes":
      return (v.value as Uint8Array).slice();
    case "message": {
      if (v.wire === undefined) {
        throw new TypeError(
          `${v} has no protobuf wire bytes, so it cannot be returned whole: ` +
            "pass `wire` to TypedValue.message or build it with protoMessage(schema, data)",
        );
      }
      return v.wire.slice();
    }
    case "null":
      return undefined;
  }
}

function fixed(b: Uint8Array, size: number, what: string): DataView {
  if (b.length !== size) throw new RangeError(`decode.${what}: expected ${size} bytes, got ${b.length}`);
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Strict inverse of `encodePropertyPairs`: throws on any malformation (unlike the host's
 * lenient `toPairs`), because a test reading back a value should fail loudly. Empty input
 * (what the host hands out as ptr 0/size 0) is the empty list.
 */
export function decodePropertyPairs(b: Uint8Array): [Uint8Array, Uint8Array][] {
  if (b.length === 0) return [];
  if (b.length < 4) throw new RangeError("decode: pairs buffer shorter than its count word");
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = view.getUint32(0, true);
  let offset = 4 + 8 * count;
  if (offset > b.length) throw new RangeError("decode: pairs size table overruns the buffer");
  const pairs: [Uint8Array, Uint8Array][] = [];
  for (let i = 0; i < count; i++) {
    const parts: Uint8Array[] = [];
    for (const len of [view.getUint32(4 + 8 * i, true), view.getUint32(8 + 8 * i, true)]) {
      if (offset + len + 1 > b.length || b[offset + len] !== 0) {
        throw new RangeError(`decode: pair ${i} overruns the buffer or lacks its NUL`);
      }
      parts.push(b.slice(offset, offset + len));
      offset += len + 1;
    }
    pairs.push([parts[0]!, parts[1]!]);
  }
  if (offset !== b.length) throw new RangeError("decode: trailing bytes after the last pair");
  return pairs;
}

/** Decoders for the bytes `proxy_get_property` returns (inverse of `encodeValue`). */
export const decode = {
  string: (b: Uint8Array): string => utf8Decoder.decode(b),
  bytes: (b: Uint8Array): Uint8Array => b.slice(),
  int: (b: Uint8Array): bigint => fixed(b, 8, "int").getBigInt64(0, true),
  uint: (b: Uint8Array): bigint => fixed(b, 8, "uint").getBigUint64(0, true),
  double: (b: Uint8Array): number => fixed(b, 8, "double").getFloat64(0, true),
  bool: (b: Uint8Array): boolean => fixed(b, 1, "bool").getUint8(0) !== 0,
  /** Nanoseconds since the Unix epoch. */
  timestamp: (b: Uint8Array): bigint => fixed(b, 8, "timestamp").getBigInt64(0, true),
  /** Nanoseconds. */
  duration: (b: Uint8Array): bigint => fixed(b, 8, "duration").getBigInt64(0, true),
  /** Map entries: key as UTF-8 text, value still encoded (decode it by its known type). */
  map: (b: Uint8Array): [string, Uint8Array][] => decodePropertyPairs(b).map(([k, v]) => [utf8Decoder.decode(k), v]),
  /** List elements, each still encoded; every value slot must be empty. */
  list: (b: Uint8Array): Uint8Array[] =>
    decodePropertyPairs(b).map(([element, value], i) => {
      if (value.length !== 0) throw new RangeError(`decode.list: element ${i} has a non-empty value slot`);
      return element;
    }),
};

const isPlainObject = (v: unknown): v is Record<string, PropertyTree[string]> =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Host-wide overrides with a stream's on top; plain objects merge key by key, anything else replaces. */
export function mergePropertyTrees(base: PropertyTree, top: PropertyTree | undefined): PropertyTree {
  if (!top) return base;
  const out: PropertyTree = { ...base };
  for (const [key, value] of Object.entries(top)) {
    const below = out[key];
    out[key] = isPlainObject(below) && isPlainObject(value) ? (mergePropertyTrees(below, value) as PropertyTree[string]) : value;
  }
  return out;
}
