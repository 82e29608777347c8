import { parseJson, JsonType } from "../json";

describe("parseJson", () => {
  it("parses an object of strings in document order", () => {
    const result = parseJson('{"b": "2", "a": "1"}');
    expect(result.ok).toBe(true);
    const value = result.value!;
    expect(value.isObject).toBe(true);
    const keys = value.keys();
    expect(keys.length).toBe(2);
    expect(keys[0]).toBe("b");
    expect(keys[1]).toBe("a");
    expect(value.get("a")!.asString()).toBe("1");
  });

  it("keeps the last value of a repeated field once", () => {
    const value = parseJson('{"k": "x", "k": "y"}').value!;
    expect(value.keys().length).toBe(1);
    expect(value.get("k")!.asString()).toBe("y");
  });

  it("reads numbers exactly for integers and short decimals", () => {
    const value = parseJson('[0, -7, 403, 9007199254740991, 0.1, 1.5e3, 25E-2, -0.0]').value!;
    const items = value.asArray();
    expect(items[0].asNumber()).toBe(0);
    expect(items[1].asNumber()).toBe(-7);
    expect(items[2].asNumber()).toBe(403);
    expect(items[3].asNumber()).toBe(9007199254740991);
    expect(items[4].asNumber()).toBe(0.1);
    expect(items[5].asNumber()).toBe(1500);
    expect(items[6].asNumber()).toBe(0.25);
    expect(items[7].type).toBe(JsonType.Number);
  });

  it("decodes escapes, including surrogate pairs", () => {
    const value = parseJson('"a\\"b\\\\c\\/d\\n\\t\\u0041\\ud83d\\ude00é"').value!;
    expect(value.asString()).toBe("a\"b\\c/d\n\tA😀é");
  });

  it("parses literals and nesting", () => {
    const value = parseJson(' {"t": true, "f": false, "n": null, "o": {"x": [1, {"y": []}]}} ').value!;
    expect(value.get("t")!.asBool()).toBe(true);
    expect(value.get("f")!.isBool).toBe(true);
    expect(value.get("n")!.isNull).toBe(true);
    expect(value.get("o")!.get("x")!.asArray().length).toBe(2);
    expect(value.get("missing")).toBeNull();
  });

  it("names the problem and its position for malformed input", () => {
    expect(parseJson("").error).toBe("empty document at line 1, column 1");
    expect(parseJson('{"a": }').error).toBe("expected a value at line 1, column 7");
    expect(parseJson('{"a": "1",\n "b" "2"}').error).toBe("expected ':' at line 2, column 6");
    expect(parseJson("[1, 2").error).toBe("expected ',' or ']' at line 1, column 6");
    expect(parseJson('"abc').error).toBe("unterminated string at line 1, column 5");
    expect(parseJson('{"a": 1} x').error).toBe("unexpected data after the value at line 1, column 10");
    expect(parseJson("01").error).toBe("unexpected data after the value at line 1, column 2");
    expect(parseJson("1.").error).toBe("invalid number: digits expected after '.' at line 1, column 3");
    expect(parseJson("1e+").error).toBe("invalid number: digits expected in exponent at line 1, column 4");
    expect(parseJson('"\\x"').error).toBe("invalid escape at line 1, column 3");
    expect(parseJson('"\\u12G4"').error).toBe("invalid escape at line 1, column 7");
    expect(parseJson('"a\tb"').error).toBe("control character in string at line 1, column 3");
    expect(parseJson("tru").error).toBe("expected a value at line 1, column 1");
    expect(parseJson("{'a': 1}").error).toBe("expected a field name in double quotes at line 1, column 2");
    expect(parseJson("[1,]").error).toBe("expected a value at line 1, column 4");
  });

  it("refuses nesting deeper than 64 levels instead of overflowing the stack", () => {
    let deep = "";
    for (let i = 0; i < 100; i++) deep += "[";
    expect(parseJson(deep).error).toBe("nesting too deep at line 1, column 66");
    let ok = "";
    for (let i = 0; i < 60; i++) ok += "[";
    for (let i = 0; i < 60; i++) ok += "]";
    expect(parseJson(ok).ok).toBe(true);
  });
});
