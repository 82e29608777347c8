// Reads a JSON object configuration field by field and keeps the FIRST problem as one
// message, worded the same in every plugin: "the configuration is not valid JSON: …",
// "\"x\" must be a string, not number", "unknown field \"y\" (the fields are …)".
//
// A read never stops the plugin. A missing field gives back the fallback; a wrong one
// gives back the fallback (lists: []) and records a problem, unless an earlier one is
// already recorded: the user fixes the first problem first, and later ones are often its
// consequences. So reads, and checks that run on what they returned, can follow each
// other without an `if` after each, and onConfigure asks `accept` once at the end.
//
// Problems are reported in the order the reads ran. To report them in the order they
// stand in the document, loop over `keys()` and read each field as it comes.
//
//   const config = new ConfigReader(this.pluginConfiguration, "with the fields header, status");
//   settings.header = config.headerName("header", "allow");
//   settings.status = <u32>config.integer("status", 403, 200, 599, "an HTTP status code");
//   config.rejectUnknown("header, status");
//   if (!config.accept("my-plugin")) return false;   // logged "my-plugin: <the first problem>"
import { Configuration } from "./configuration";
import { isValidHeaderName, isValidHeaderValue } from "./headers";
import { JsonType, JsonValue } from "./json";
import { log } from "./log";

export class ConfigReader {
  private value: JsonValue;
  private empty: bool;
  /** See `path`. */
  private at: string = "";
  /** The reader that holds the problem: nested readers share their root's, so the first problem is the first of all. */
  private root: ConfigReader | null = null;
  private first: string = "";

  /**
   * Reads `configuration`, which must be a JSON object. `shape` completes "the configuration
   * must be a JSON object …, not array", e.g. "with the fields a, b". An empty configuration
   * reads as `{}`: every field takes its fallback (check `isEmpty` when that will not do).
   */
  constructor(configuration: Configuration, shape: string) {
    this.empty = configuration.isEmpty;
    this.value = JsonValue.object();
    if (!configuration.isEmpty) {
      const parsed = configuration.json();
      const value = parsed.value;
      if (value === null) this.fail("the configuration is not valid JSON: " + parsed.error);
      else this.become(value, shape);
    }
  }

  /** Nothing was configured (Envoy passes an empty buffer when `pluginConfig` is unset). */
  get isEmpty(): bool { return this.empty; }

  /** The first problem, or "" while there is none. */
  get problem(): string { return this.holder().first; }

  get ok(): bool { return this.holder().first.length == 0; }

  /** Records `message` as the problem, unless one was recorded before. */
  fail(message: string): void {
    const holder = this.holder();
    if (holder.first.length == 0) holder.first = message;
  }

  /**
   * True when the configuration is usable. Otherwise logs "<who>: <problem>" at error level
   * and returns false, for onConfigure to return: Envoy then reports the plugin as failed,
   * and that log line is the only place the user learns why.
   */
  accept(who: string): bool {
    if (this.ok) return true;
    log.error(who + ": " + this.problem);
    return false;
  }

  /** Field names in document order. */
  keys(): Array<string> { return this.value.keys(); }

  has(name: string): bool { return this.value.has(name); }

  /** The raw value of a field, or null: for checks whose message the typed reads cannot word. */
  get(name: string): JsonValue | null { return this.value.get(name); }

  /** Where this object stands, for messages: "" for the configuration itself, e.g. "rules[0]" below it. */
  get path(): string { return this.at; }

  /** How messages name a field: `"name"` at the top, `rules[0].name` inside a nested object. */
  label(name: string): string {
    return this.at.length == 0 ? "\"" + name + "\"" : this.at + "." + name;
  }

  string(name: string, fallback: string): string {
    const field = this.typed(name, JsonType.String, "a string");
    return field !== null ? field.asString() : fallback;
  }

  /** A string that, when present, must not be empty (a name to look something up by). */
  nonEmptyString(name: string, fallback: string): string {
    const text = this.string(name, fallback);
    if (!this.has(name) || text.length > 0) return text;
    this.fail(this.label(name) + " must not be empty");
    return fallback;
  }

  boolean(name: string, fallback: bool): bool {
    const field = this.typed(name, JsonType.Bool, "a boolean");
    return field !== null ? field.asBool() : fallback;
  }

  /**
   * A whole number from `min` to `max`. `what` names it in the problem:
   * "\"timeout_ms\" must be a whole number of milliseconds from 1 to 60000".
   * i32, not i64: configured numbers (statuses, milliseconds, counts) fit, and formatting
   * 64-bit bounds would add about 300 bytes to plugins that format no other 64-bit number.
   */
  integer(name: string, fallback: i32, min: i32, max: i32, what: string = "a whole number"): i32 {
    const field = this.value.get(name);
    if (field === null) return fallback;
    const n = field.asNumber();
    if (!field.isNumber || n != Math.floor(n) || n < <f64>min || n > <f64>max) {
      this.fail(this.label(name) + " must be " + what + " from " + min.toString() + " to " + max.toString());
      return fallback;
    }
    return <i32>n;
  }

  /** A header name (RFC 9110 token: no pseudo-headers, no spaces). */
  headerName(name: string, fallback: string): string {
    const text = this.string(name, fallback);
    if (!this.has(name) || isValidHeaderName(text)) return text;
    this.invalid(name, text, "is not a valid HTTP header name");
    return fallback;
  }

  /** A header value: Envoy refuses CR, LF and NUL, and they would let a value smuggle in another header. */
  headerValue(name: string, fallback: string): string {
    const text = this.string(name, fallback);
    if (!this.has(name) || isValidHeaderValue(text)) return text;
    // Not quoted back: control characters do not print.
    this.fail(this.label(name) + " is not a valid HTTP header value (CR, LF and control characters are not allowed)");
    return fallback;
  }

  /** The items of a list, or [] when it is absent. `what` names them: "must be a list of <what>, not object". */
  array(name: string, what: string): Array<JsonValue> {
    const field = this.value.get(name);
    if (field === null) return new Array<JsonValue>();
    if (!field.isArray) {
      this.mismatch(this.label(name), "a list of " + what, field);
      return new Array<JsonValue>();
    }
    return field.asArray();
  }

  /**
   * A list of strings, or [] when it is absent. With `valid`, each must pass it, or the
   * problem is `"name": "item" <invalid>`. Items are checked one at a time, so the problem
   * is the first bad item's, whatever is wrong with it.
   */
  strings(name: string, what: string, valid: ((text: string) => bool) | null = null, invalid: string = ""): Array<string> {
    const items = this.array(name, what);
    const out = new Array<string>();
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!item.isString) {
        this.mismatch(this.label(name) + "[" + i.toString() + "]", "a string", item);
        return new Array<string>();
      }
      const text = item.asString();
      if (valid !== null && !valid(text)) {
        this.invalid(name, text, invalid);
        return new Array<string>();
      }
      out.push(text);
    }
    return out;
  }

  /** A list of header names, e.g. the headers to pass on. */
  headerNames(name: string): Array<string> {
    return this.strings(name, "header names", isValidHeaderName, "is not a valid HTTP header name");
  }

  /** A reader for the object in field `name` (reading as `{}` when it is absent); its problems are this reader's. */
  object(name: string, shape: string): ConfigReader {
    const field = this.value.get(name);
    return this.nested(field !== null ? field : JsonValue.object(), this.at.length == 0 ? name : this.at + "." + name, shape);
  }

  /**
   * A reader for `value`, an object inside this configuration such as a list item; `path`
   * names it in messages ("rules[0] must be an object with the fields …, not string";
   * "rules[0].prefix must be …"). Its problems are this reader's.
   */
  nested(value: JsonValue, path: string, shape: string): ConfigReader {
    // AssemblyScript has no constructor overloads: start from an empty configuration, which
    // parses nothing, and point the reader at the value.
    const reader = new ConfigReader(new Configuration(new ArrayBuffer(0)), shape);
    reader.empty = false;
    reader.at = path;
    reader.root = this.holder();
    reader.become(value, shape);
    return reader;
  }

  /** Records `"name" is missing` (and `: <hint>`) unless the field is present; returns whether it is. */
  require(name: string, hint: string = ""): bool {
    if (this.has(name)) return true;
    this.fail(this.label(name) + " is missing" + (hint.length > 0 ? ": " + hint : ""));
    return false;
  }

  /** Records that `name` is not one of `fields` ("a, b, c"), the fields this object may have. */
  unknown(name: string, fields: string): void {
    this.fail((this.at.length == 0 ? "" : this.at + ": ") + "unknown field \"" + name + "\" (the fields are " + fields + ")");
  }

  /** Rejects the first field not named in `fields` ("a, b, c"), as `unknown` words it. */
  rejectUnknown(fields: string): void {
    const names = this.value.keys();
    for (let i = 0; i < names.length; i++) {
      if (!listed(names[i], fields)) {
        this.unknown(names[i], fields);
        return;
      }
    }
  }

  private become(value: JsonValue, shape: string): void {
    if (value.isObject) {
      this.value = value;
      return;
    }
    if (this.at.length == 0) this.mismatch("the configuration", "a JSON object " + shape, value);
    else this.mismatch(this.at, "an object " + shape, value);
  }

  /** The field when it has `type`; null when it is absent or (a problem) of another type. */
  private typed(name: string, type: JsonType, expected: string): JsonValue | null {
    const field = this.value.get(name);
    if (field === null || field.type == type) return field;
    this.mismatch(this.label(name), expected, field);
    return null;
  }

  private mismatch(where: string, expected: string, value: JsonValue): void {
    this.fail(where + " must be " + expected + ", not " + value.typeName());
  }

  private invalid(name: string, text: string, why: string): void {
    this.fail(this.label(name) + ": \"" + text + "\" " + why);
  }

  private holder(): ConfigReader {
    const root = this.root;
    return root !== null ? root : this;
  }
}

/** Whether `text` holds `part` at `at` (String#startsWith's position argument is not in the editor's type definitions). */
function sameAt(text: string, at: i32, part: string): bool {
  for (let k = 0; k < part.length; k++) if (text.charCodeAt(at + k) != part.charCodeAt(k)) return false;
  return true;
}

/** Whether `name` is an item of `fields` ("a, b, c"). A scan: String#split would add about 400 bytes to a plugin. */
function listed(name: string, fields: string): bool {
  let start = 0;
  for (let i = 0; i <= fields.length; i++) {
    if (i < fields.length && fields.charCodeAt(i) != 0x2c) continue;
    if (i - start == name.length && name.length > 0 && sameAt(fields, start, name)) return true;
    start = i + 2; // past ", "
  }
  return false;
}
