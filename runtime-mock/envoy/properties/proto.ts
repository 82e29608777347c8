// Just enough protobuf for the messages Envoy hands out as properties (xds.node,
// *_metadata, upstream.locality): a schema-driven encoder producing the bytes Envoy's
// `SerializeToString` would, the CEL view used to traverse them by field name, and a
// field reader for tests. Proto3 rules: scalars at their default value are not written,
// sub-messages are written when set, map entries always carry key and value.
import { TypedValue, isPlainMap, type PropertyValue } from "./values.js";
import { utf8Bytes } from "../../wasm/utf8.js";

export type ProtoScalar = "string" | "bytes" | "bool" | "double" | "int32" | "int64" | "uint32" | "uint64" | "enum";

/** `struct` is google.protobuf.Struct, which CEL (hence Envoy) exposes as a map with JSON semantics. */
export type ProtoType = ProtoScalar | "struct" | ProtoSchema;

export interface ProtoField {
  no: number;
  type: ProtoType;
  repeated?: boolean;
  /** map<string, type> */
  map?: boolean;
}

export interface ProtoSchema {
  name: string;
  fields: Readonly<Record<string, ProtoField>>;
}

/** JSON as held by a google.protobuf.Struct. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

const Locality: ProtoSchema = {
  name: "envoy.config.core.v3.Locality",
  fields: { region: { no: 1, type: "string" }, zone: { no: 2, type: "string" }, sub_zone: { no: 3, type: "string" } },
};

/** The subset of envoy.config.core.v3.Node that plugins read. */
const Node: ProtoSchema = {
  name: "envoy.config.core.v3.Node",
  fields: {
    id: { no: 1, type: "string" },
    cluster: { no: 2, type: "string" },
    metadata: { no: 3, type: "struct" },
    locality: { no: 4, type: Locality },
    user_agent_name: { no: 6, type: "string" },
    user_agent_version: { no: 7, type: "string" },
    client_features: { no: 10, type: "string", repeated: true },
  },
};

/** envoy.config.core.v3.Metadata without typed_filter_metadata (Any needs a type registry). */
const Metadata: ProtoSchema = {
  name: "envoy.config.core.v3.Metadata",
  fields: { filter_metadata: { no: 1, type: "struct", map: true } },
};

export const schemas = { Node, Metadata, Locality } as const;


/** Append-only protobuf writer. */
class Writer {
  private readonly out: number[] = [];

  varint(v: bigint): void {
    let u = BigInt.asUintN(64, v); // negative int32/int64 are sign-extended to 10 bytes
    do {
      let byte = Number(u & 0x7fn);
      u >>= 7n;
      if (u !== 0n) byte |= 0x80;
      this.out.push(byte);
    } while (u !== 0n);
  }

  tag(no: number, wireType: WireType): void {
    this.varint(BigInt(no) * 8n + BigInt(wireType));
  }

  raw(data: Uint8Array): void {
    for (const b of data) this.out.push(b);
  }

  /** Length prefix + bytes: the body of a wire-type-2 field. */
  prefixed(data: Uint8Array): void {
    this.varint(BigInt(data.length));
    this.raw(data);
  }

  delimited(no: number, data: Uint8Array): void {
    this.tag(no, 2);
    this.prefixed(data);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

type WireType = 0 | 1 | 2 | 5;

function float64(v: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, v, true);
  return out;
}

function fail(schema: string, field: string, expected: string, got: unknown): never {
  throw new TypeError(`${schema}.${field}: expected ${expected}, got ${typeof got === "object" ? JSON.stringify(got) : String(got)}`);
}

// ---- google.protobuf.Struct / Value / ListValue ----

function structWire(json: { [key: string]: Json | undefined }): Uint8Array {
  const w = new Writer();
  for (const [key, value] of Object.entries(json)) {
    if (value === undefined) continue;
    const entry = new Writer();
    entry.delimited(1, utf8Bytes(key));
    entry.delimited(2, valueWire(value));
    w.delimited(1, entry.finish()); // Struct.fields = 1 (map<string, Value>)
  }
  return w.finish();
}

function valueWire(json: Json): Uint8Array {
  // Value is a oneof, so even a default member (0, "", false) is written.
  const w = new Writer();
  if (json === null) {
    w.tag(1, 0); // null_value = NULL_VALUE (0)
    w.varint(0n);
  } else if (typeof json === "number") {
    w.tag(2, 1);
    w.raw(float64(json));
  } else if (typeof json === "string") {
    w.delimited(3, utf8Bytes(json));
  } else if (typeof json === "boolean") {
    w.tag(4, 0);
    w.varint(json ? 1n : 0n);
  } else if (Array.isArray(json)) {
    const list = new Writer();
    for (const item of json) list.delimited(1, valueWire(item)); // ListValue.values = 1
    w.delimited(6, list.finish());
  } else {
    w.delimited(5, structWire(json));
  }
  return w.finish();
}

/** The CEL view of a google.protobuf.Struct value: numbers are doubles, null is CEL null. */
export function structValue(json: Json): PropertyValue {
  if (json === null) return TypedValue.null();
  if (typeof json === "number") return TypedValue.double(json);
  if (typeof json === "string" || typeof json === "boolean") return json;
  if (Array.isArray(json)) return json.map(structValue);
  const map: { [key: string]: PropertyValue } = {};
  for (const [key, value] of Object.entries(json)) if (value !== undefined) map[key] = structValue(value);
  return map;
}

// ---- schema-driven messages ----

/** One field value: its CEL view, and its wire type and tag-less body (unless `omit`). */
interface Converted {
  cel: PropertyValue;
  wireType: WireType;
  body: (w: Writer) => void;
  omit: boolean;
}

function convert(schema: string, field: string, type: ProtoType, raw: unknown): Converted {
  const where = (what: string): never => fail(schema, field, what, raw);
  switch (type) {
    case "string": {
      if (typeof raw !== "string") where("a string");
      const s = raw as string;
      return { cel: s, omit: s === "", wireType: 2, body: (w) => w.prefixed(utf8Bytes(s)) };
    }
    case "bytes": {
      if (!(raw instanceof Uint8Array)) where("a Uint8Array");
      const b = (raw as Uint8Array).slice();
      return { cel: b, omit: b.length === 0, wireType: 2, body: (w) => w.prefixed(b) };
    }
    case "bool":
      if (typeof raw !== "boolean") where("a boolean");
      return { cel: raw as boolean, omit: raw === false, wireType: 0, body: (w) => w.varint(raw ? 1n : 0n) };
    case "double": {
      if (typeof raw !== "number") where("a number");
      const d = raw as number;
      // proto3 compares the bit pattern with zero, so -0.0 is still written
      return { cel: TypedValue.double(d), omit: Object.is(d, 0), wireType: 1, body: (w) => w.raw(float64(d)) };
    }
    case "int32":
    case "int64":
    case "enum":
    case "uint32":
    case "uint64": {
      if (typeof raw !== "number" && typeof raw !== "bigint") where("an integer");
      const unsigned = type === "uint32" || type === "uint64";
      const cel = unsigned ? TypedValue.uint(raw as number | bigint) : TypedValue.int(raw as number | bigint);
      const v = cel.value as bigint;
      return { cel, omit: v === 0n, wireType: 0, body: (w) => w.varint(v) };
    }
    case "struct": {
      if (!isPlainMap(raw)) where("a plain object (google.protobuf.Struct)");
      const json = raw as { [key: string]: Json };
      return { cel: structValue(json), omit: false, wireType: 2, body: (w) => w.prefixed(structWire(json)) };
    }
    default: {
      const message =
        raw instanceof TypedValue && raw.kind === "message" ? raw : isPlainMap(raw) ? protoMessage(type, raw) : where(`a ${type.name}`);
      const wire = message.wire;
      if (wire === undefined) throw new TypeError(`${schema}.${field}: sub-message has no wire bytes`);
      return { cel: message, omit: false, wireType: 2, body: (w) => w.prefixed(wire) };
    }
  }
}

function writeField(w: Writer, no: number, c: Converted): void {
  w.tag(no, c.wireType);
  c.body(w);
}

/** CEL default of an unset field: proto3 defaults, empty message/Struct/list/map. */
function defaultCel(field: ProtoField): PropertyValue {
  if (field.repeated) return [];
  if (field.map || field.type === "struct") return {};
  switch (field.type) {
    case "string":
      return "";
    case "bytes":
      return new Uint8Array(0);
    case "bool":
      return false;
    case "double":
      return TypedValue.double(0);
    case "uint32":
    case "uint64":
      return TypedValue.uint(0);
    case "int32":
    case "int64":
    case "enum":
      return TypedValue.int(0);
    default:
      return protoMessage(field.type, {});
  }
}

/**
 * Builds a message of `schema` from plain data: the result traverses like Envoy's CEL view
 * (every schema field exists, unset ones at their default) and returns real protobuf wire
 * bytes when asked for whole. Unknown keys throw, since Envoy would never find them.
 */
export function protoMessage(schema: ProtoSchema, data: { [key: string]: unknown }): TypedValue {
  for (const key of Object.keys(data)) {
    if (!Object.hasOwn(schema.fields, key)) throw new TypeError(`${schema.name} has no field "${key}"`);
  }
  const cel: { [key: string]: PropertyValue } = {};
  const w = new Writer();
  const ordered = Object.entries(schema.fields).sort(([, a], [, b]) => a.no - b.no); // C++ writes in field-number order
  for (const [name, field] of ordered) {
    const raw = data[name];
    if (raw === undefined) {
      cel[name] = defaultCel(field);
      continue;
    }
    if (field.map) {
      if (!isPlainMap(raw)) fail(schema.name, name, "a plain object (map)", raw);
      const map: { [key: string]: PropertyValue } = {};
      for (const [key, value] of Object.entries(raw as object)) {
        if (value === undefined) continue;
        const c = convert(schema.name, `${name}[${key}]`, field.type, value);
        map[key] = c.cel;
        const entry = new Writer();
        entry.delimited(1, utf8Bytes(key));
        writeField(entry, 2, c);
        w.delimited(field.no, entry.finish());
      }
      cel[name] = map;
    } else if (field.repeated) {
      if (!Array.isArray(raw)) fail(schema.name, name, "an array", raw);
      const items = (raw as unknown[]).map((item, i) => convert(schema.name, `${name}[${i}]`, field.type, item));
      cel[name] = items.map((c) => c.cel);
      if (items.length > 0 && items[0]!.wireType !== 2) {
        // proto3 packs repeated scalars: one length-delimited run of tag-less values
        const packed = new Writer();
        for (const c of items) c.body(packed);
        w.delimited(field.no, packed.finish());
      } else {
        for (const c of items) writeField(w, field.no, c);
      }
    } else {
      const c = convert(schema.name, name, field.type, raw);
      cel[name] = c.cel;
      if (!c.omit) writeField(w, field.no, c);
    }
  }
  return TypedValue.message(cel, w.finish(), schema.name);
}

// ---- reading (tests, SDK-side checks) ----

export interface ProtoWireField {
  no: number;
  wireType: WireType;
  /** varint → bigint; fixed64/fixed32/length-delimited → the raw bytes */
  value: bigint | Uint8Array;
}

/** Splits protobuf wire bytes into top-level fields (no schema needed); throws on malformed input. */
export function decodeProtoFields(bytes: Uint8Array): ProtoWireField[] {
  const fields: ProtoWireField[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= bytes.length || shift > 63n) throw new RangeError("protobuf: truncated or overlong varint");
      const b = bytes[i++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
  };
  const take = (n: number): Uint8Array => {
    if (i + n > bytes.length) throw new RangeError("protobuf: field overruns the buffer");
    const out = bytes.slice(i, i + n);
    i += n;
    return out;
  };
  while (i < bytes.length) {
    const key = varint();
    const no = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === 0) fields.push({ no, wireType, value: varint() });
    else if (wireType === 1) fields.push({ no, wireType, value: take(8) });
    else if (wireType === 2) fields.push({ no, wireType, value: take(Number(varint())) });
    else if (wireType === 5) fields.push({ no, wireType, value: take(4) });
    else throw new RangeError(`protobuf: unsupported wire type ${wireType}`);
  }
  return fields;
}
