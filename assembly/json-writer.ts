// Writing JSON (RFC 8259) for local replies and callout bodies, so a plugin never escapes
// strings by hand: `{"error": "…"}` with a quote or a newline in the message stays valid.
// The counterpart of json.ts's reader. Bodies are small, so the text grows by plain
// concatenation: no arrays, which keeps the writer to about a kilobyte of a module.

/** `"text"` with the characters RFC 8259 requires escaped (quote, backslash, controls). */
export function jsonString(text: string): string {
  let out = "\"";
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    out += text.substring(start, i) + escapeOf(c);
    start = i + 1;
  }
  return out + (start == 0 ? text : text.substring(start)) + "\"";
}

function escapeOf(c: i32): string {
  if (c == 0x22) return "\\\"";
  if (c == 0x5c) return "\\\\";
  if (c == 0x0a) return "\\n";
  if (c == 0x0d) return "\\r";
  if (c == 0x09) return "\\t";
  if (c == 0x08) return "\\b";
  if (c == 0x0c) return "\\f";
  const hex = "0123456789abcdef";
  return "\\u00" + hex.charAt(c >> 4) + hex.charAt(c & 15);
}

/**
 * Builds one JSON text: `new JsonWriter().beginObject().key("error").string("denied")
 * .key("status").integer(401).endObject().toString()` is `{"error":"denied","status":401}`.
 * Commas are placed for you; keys go only inside objects, values after a key or in arrays.
 */
export class JsonWriter {
  private text: string = "";
  /** Bit d set: the object or array open at depth d has a member already (64 levels, as the reader allows). */
  private hasMember: u64 = 0;
  private depth: i32 = 0;
  private afterKey: bool = false;

  beginObject(): JsonWriter { return this.open("{"); }
  endObject(): JsonWriter { return this.close("}"); }
  beginArray(): JsonWriter { return this.open("["); }
  endArray(): JsonWriter { return this.close("]"); }

  /** The next member's name (inside an object). */
  key(name: string): JsonWriter {
    this.separate();
    this.text += jsonString(name) + ":";
    this.afterKey = true;
    return this;
  }

  string(text: string): JsonWriter { return this.value(jsonString(text)); }
  integer(n: i64): JsonWriter { return this.value(n.toString()); }
  /** NaN and the infinities are not JSON numbers: they are written as null, as JSON.stringify does. */
  number(n: f64): JsonWriter { return this.value(isFinite(n) ? (n == Math.floor(n) && Math.abs(n) < 9007199254740992 ? (<i64>n).toString() : n.toString()) : "null"); }
  bool(b: bool): JsonWriter { return this.value(b ? "true" : "false"); }
  null(): JsonWriter { return this.value("null"); }

  toString(): string { return this.text; }

  private open(bracket: string): JsonWriter {
    this.value(bracket);
    this.depth++;
    this.hasMember &= ~(<u64>1 << <u64>(this.depth & 63));
    return this;
  }

  private close(bracket: string): JsonWriter {
    this.depth--;
    this.text += bracket;
    return this;
  }

  private value(text: string): JsonWriter {
    if (this.afterKey) this.afterKey = false;
    else this.separate();
    this.text += text;
    return this;
  }

  /** A comma before every member of an open object or array but its first. */
  private separate(): void {
    if (this.depth == 0) return;
    const bit = <u64>1 << <u64>(this.depth & 63);
    if (this.hasMember & bit) this.text += ",";
    else this.hasMember |= bit;
  }
}
