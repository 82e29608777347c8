// A strict JSON parser (RFC 8259) for plugin and VM configuration. It reports errors
// as values, with line and column, instead of aborting: AssemblyScript cannot catch,
// so a parser that throws (as assemblyscript-json does) would kill the VM on a typo
// in a WasmPlugin's pluginConfig.

export enum JsonType { Null, Bool, Number, String, Array, Object }

/** A parsed JSON value. Accessors of the wrong type return neutral values (false, 0, ""). */
export class JsonValue {
  type: JsonType = JsonType.Null;
  private boolValue: bool = false;
  private numberValue: f64 = 0;
  private stringValue: string = "";
  private items: Array<JsonValue> | null = null;
  private fieldNames: Array<string> | null = null;
  private fieldValues: Array<JsonValue> | null = null;

  static null(): JsonValue { return new JsonValue(); }
  static bool(value: bool): JsonValue { const v = new JsonValue(); v.type = JsonType.Bool; v.boolValue = value; return v; }
  static number(value: f64): JsonValue { const v = new JsonValue(); v.type = JsonType.Number; v.numberValue = value; return v; }
  static string(value: string): JsonValue { const v = new JsonValue(); v.type = JsonType.String; v.stringValue = value; return v; }
  static array(items: Array<JsonValue>): JsonValue { const v = new JsonValue(); v.type = JsonType.Array; v.items = items; return v; }
  static object(): JsonValue {
    const v = new JsonValue();
    v.type = JsonType.Object;
    v.fieldNames = new Array<string>();
    v.fieldValues = new Array<JsonValue>();
    return v;
  }

  get isNull(): bool { return this.type == JsonType.Null; }
  get isBool(): bool { return this.type == JsonType.Bool; }
  get isNumber(): bool { return this.type == JsonType.Number; }
  get isString(): bool { return this.type == JsonType.String; }
  get isArray(): bool { return this.type == JsonType.Array; }
  get isObject(): bool { return this.type == JsonType.Object; }

  asBool(): bool { return this.boolValue; }
  asNumber(): f64 { return this.numberValue; }
  asString(): string { return this.stringValue; }
  asArray(): Array<JsonValue> { const items = this.items; return items !== null ? items : new Array<JsonValue>(); }

  /** Field names of an object in document order (a repeated name counts once; its last value wins). */
  keys(): Array<string> { const names = this.fieldNames; return names !== null ? names : new Array<string>(); }

  has(key: string): bool { return this.indexOf(key) >= 0; }

  /** The field `key` of an object, or null. */
  get(key: string): JsonValue | null {
    const index = this.indexOf(key);
    return index >= 0 ? this.fieldValues![index] : null;
  }

  /** Sets a field of an object (a linear scan: configuration objects are small). */
  set(key: string, value: JsonValue): void {
    const names = this.fieldNames;
    const values = this.fieldValues;
    if (names === null || values === null) return;
    const index = this.indexOf(key);
    if (index >= 0) {
      values[index] = value;
    } else {
      names.push(key);
      values.push(value);
    }
  }

  private indexOf(key: string): i32 {
    const names = this.fieldNames;
    if (names === null) return -1;
    for (let i = 0; i < names.length; i++) {
      if (names[i] == key) return i;
    }
    return -1;
  }

  /** Name of the type, for error messages ("string", "object", ...). */
  typeName(): string {
    switch (this.type) {
      case JsonType.Bool: return "boolean";
      case JsonType.Number: return "number";
      case JsonType.String: return "string";
      case JsonType.Array: return "array";
      case JsonType.Object: return "object";
      default: return "null";
    }
  }
}

/** Outcome of `parseJson`: a value, or an error message naming the position. */
export class JsonResult {
  constructor(public value: JsonValue | null, public error: string) {}
  get ok(): bool { return this.value !== null; }
}

const MAX_DEPTH = 64;

/** Parses `text` as one JSON value (surrounding whitespace allowed). */
export function parseJson(text: string): JsonResult {
  return parseJsonBytes(String.UTF8.encode(text, false));
}

/** Parses UTF-8 bytes (a configuration buffer) as one JSON value. */
export function parseJsonBytes(bytes: ArrayBuffer): JsonResult {
  const parser = new Parser(changetype<usize>(bytes), bytes.byteLength);
  // No collection can run during the parse (the SDK collects only between callbacks),
  // so reading `bytes` through a raw pointer is safe.
  const value = parser.document();
  if (value === null) return new JsonResult(null, parser.errorMessage());
  return new JsonResult(value, "");
}

// The parser reads UTF-8 bytes through a pointer: far smaller code than string
// indexing, which bounds-checks every character.
class Parser {
  pos: usize;
  errorAt: usize = 0;
  error: string = "";

  constructor(private start: usize, length: i32) {
    this.pos = start;
    this.end = start + <usize>length;
  }

  private end: usize;

  document(): JsonValue | null {
    this.skipSpace();
    if (this.pos >= this.end) return this.fail("empty document");
    const value = this.value(0);
    if (value === null) return null;
    this.skipSpace();
    if (this.pos < this.end) return this.fail("unexpected data after the value");
    return value;
  }

  /** "<problem> at line L, column C". */
  errorMessage(): string {
    let line = 1;
    let column = 1;
    for (let p = this.start; p < this.errorAt; p++) {
      if (load<u8>(p) == 0x0a) { line++; column = 1; } else { column++; }
    }
    return this.error + " at line " + line.toString() + ", column " + column.toString();
  }

  private fail(message: string): JsonValue | null {
    if (this.error.length == 0) {
      this.error = message;
      this.errorAt = this.pos;
    }
    return null;
  }

  private peek(): i32 {
    return this.pos < this.end ? <i32>load<u8>(this.pos) : -1;
  }

  private skipSpace(): void {
    while (this.pos < this.end) {
      const c = load<u8>(this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }

  private value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail("nesting too deep");
    const c = this.peek();
    if (c == 0x7b) return this.object(depth);          // {
    if (c == 0x5b) return this.array(depth);           // [
    if (c == 0x22) {                                   // "
      const s = this.string();
      return s === null ? null : JsonValue.string(s);
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.literal("true")) return JsonValue.bool(true);
    if (this.literal("false")) return JsonValue.bool(false);
    if (this.literal("null")) return JsonValue.null();
    return this.fail("expected a value");
  }

  private literal(word: string): bool {
    const length = <usize>word.length;
    if (this.pos + length > this.end) return false;
    for (let i: usize = 0; i < length; i++) {
      if (<i32>load<u8>(this.pos + i) != word.charCodeAt(<i32>i)) return false;
    }
    this.pos += length;
    return true;
  }

  private object(depth: i32): JsonValue | null {
    this.pos++; // {
    const result = JsonValue.object();
    this.skipSpace();
    if (this.peek() == 0x7d) { this.pos++; return result; }
    while (true) {
      this.skipSpace();
      if (this.peek() != 0x22) return this.fail("expected a field name in double quotes");
      const key = this.string();
      if (key === null) return null;
      this.skipSpace();
      if (this.peek() != 0x3a) return this.fail("expected ':'");
      this.pos++;
      this.skipSpace();
      const item = this.value(depth + 1);
      if (item === null) return null;
      result.set(key, item);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 0x2c) continue;
      if (c == 0x7d) return result;
      this.pos--;
      return this.fail("expected ',' or '}'");
    }
  }

  private array(depth: i32): JsonValue | null {
    this.pos++; // [
    const items = new Array<JsonValue>();
    this.skipSpace();
    if (this.peek() == 0x5d) { this.pos++; return JsonValue.array(items); }
    while (true) {
      this.skipSpace();
      const item = this.value(depth + 1);
      if (item === null) return null;
      items.push(item);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 0x2c) continue;
      if (c == 0x5d) return JsonValue.array(items);
      this.pos--;
      return this.fail("expected ',' or ']'");
    }
  }

  /** A string token; escapes are decoded into UTF-16 code units. */
  private string(): string | null {
    this.pos++; // opening quote
    let out = "";
    let run = this.pos;
    while (true) {
      if (this.pos >= this.end) { this.fail("unterminated string"); return null; }
      const c = load<u8>(this.pos);
      if (c == 0x22) break;
      if (c < 0x20) { this.fail("control character in string"); return null; }
      if (c != 0x5c) { this.pos++; continue; }
      out += String.UTF8.decodeUnsafe(run, this.pos - run);
      this.pos++; // backslash
      const code = this.escape();
      if (code < 0) { this.fail("invalid escape"); return null; }
      out += String.fromCharCode(code);
      run = this.pos;
    }
    out += String.UTF8.decodeUnsafe(run, this.pos - run);
    this.pos++; // closing quote
    return out;
  }

  /** The code unit of the escape at `pos` (after the backslash), or -1. */
  private escape(): i32 {
    const e = this.peek();
    this.pos++;
    switch (e) {
      case 0x22: return 0x22;
      case 0x5c: return 0x5c;
      case 0x2f: return 0x2f;
      case 0x62: return 0x08;
      case 0x66: return 0x0c;
      case 0x6e: return 0x0a;
      case 0x72: return 0x0d;
      case 0x74: return 0x09;
      case 0x75: break;
      default: this.pos--; return -1;
    }
    if (this.pos + 4 > this.end) return -1;
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const c = <i32>load<u8>(this.pos++);
      let digit = c - 0x30;
      if (c >= 0x61) digit = c - 0x61 + 10;
      else if (c >= 0x41) digit = c - 0x41 + 10;
      if (digit < 0 || digit > 15 || (c > 0x39 && c < 0x41)) return -1;
      value = (value << 4) | digit;
    }
    return value;
  }

  /** A number token, validated against the JSON grammar and converted. */
  private number(): JsonValue | null {
    let negative = false;
    if (this.peek() == 0x2d) { negative = true; this.pos++; }
    const first = this.peek();
    if (first < 0x30 || first > 0x39) return this.fail("invalid number");
    let mantissa: f64 = 0;
    let scale: i32 = 0;
    if (first == 0x30) this.pos++;
    else mantissa = this.digits(mantissa);
    if (this.peek() == 0x2e) {
      this.pos++;
      const before = this.pos;
      mantissa = this.digits(mantissa);
      if (this.pos == before) return this.fail("invalid number: digits expected after '.'");
      scale = -<i32>(this.pos - before);
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign == 0x2b || sign == 0x2d) this.pos++;
      const before = this.pos;
      const exponent = <i32>min(this.digits(0), 100000);
      if (this.pos == before) return this.fail("invalid number: digits expected in exponent");
      scale += sign == 0x2d ? -exponent : exponent;
    }
    // Divide by an exact power of ten rather than multiply by its inexact inverse.
    if (scale > 0) mantissa *= pow10(scale);
    else if (scale < 0) mantissa /= pow10(-scale);
    return JsonValue.number(negative ? -mantissa : mantissa);
  }

  /** Accumulates decimal digits into `value` (exact up to 2^53). */
  private digits(value: f64): f64 {
    while (this.pos < this.end) {
      const c = <i32>load<u8>(this.pos);
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + <f64>(c - 0x30);
      this.pos++;
    }
    return value;
  }
}

function pow10(n: i32): f64 {
  if (n > 400) return Infinity;
  let result: f64 = 1;
  let base: f64 = 10;
  while (n > 0) {
    if (n & 1) result *= base;
    base *= base;
    n >>= 1;
  }
  return result;
}
