// The JSON writer: valid RFC 8259 text whatever the strings hold, read back by the SDK's
// own strict reader.
import { parseJson } from "../json";
import { JsonWriter, jsonString } from "../json-writer";

describe("jsonString", () => {
  it("quotes plain text as it is", () => {
    expect(jsonString("denied")).toBe("\"denied\"");
    expect(jsonString("")).toBe("\"\"");
    expect(jsonString("é ☃ 😀")).toBe("\"é ☃ 😀\"");
  });

  it("escapes quote, backslash and every control character", () => {
    expect(jsonString("say \"hi\"\\")).toBe("\"say \\\"hi\\\"\\\\\"");
    expect(jsonString("a\nb\rc\td\be\ff")).toBe("\"a\\nb\\rc\\td\\be\\ff\"");
    expect(jsonString("\u0000\u001f\u007f")).toBe("\"\\u0000\\u001f\u007f\"");
  });

  it("round-trips every character below 0x80 through the strict reader", () => {
    let text = "";
    for (let c = 0; c < 0x80; c++) text += String.fromCharCode(c);
    const result = parseJson(jsonString(text));
    expect(result.ok).toBe(true, result.error);
    expect(result.value!.asString()).toBe(text);
  });
});

describe("JsonWriter", () => {
  it("writes an error body with commas where they belong", () => {
    const body = new JsonWriter().beginObject().key("error").string("bad \"token\"").key("status").integer(401).key("retry").bool(false).key("detail").null().endObject().toString();
    expect(body).toBe("{\"error\":\"bad \\\"token\\\"\",\"status\":401,\"retry\":false,\"detail\":null}");
    expect(parseJson(body).ok).toBe(true);
  });

  it("nests arrays and objects", () => {
    const w = new JsonWriter().beginObject().key("users").beginArray();
    w.beginObject().key("name").string("alice").endObject();
    w.beginObject().key("name").string("bob").endObject();
    w.endArray().key("empty").beginArray().endArray().key("none").beginObject().endObject().endObject();
    expect(w.toString()).toBe("{\"users\":[{\"name\":\"alice\"},{\"name\":\"bob\"}],\"empty\":[],\"none\":{}}");
    expect(parseJson(w.toString()).ok).toBe(true);
  });

  it("writes numbers as JSON numbers: integers without a fraction, NaN and infinities as null", () => {
    const w = new JsonWriter().beginArray().number(1).number(-2.5).number(0.1).number(NaN).number(Infinity).integer(-9007199254740993).endArray();
    expect(w.toString()).toBe("[1,-2.5,0.1,null,null,-9007199254740993]");
    const parsed = parseJson(w.toString());
    expect(parsed.ok).toBe(true, parsed.error);
  });

  it("a lone value is a document too", () => {
    expect(new JsonWriter().string("x").toString()).toBe("\"x\"");
    expect(new JsonWriter().integer(0).toString()).toBe("0");
  });
});
