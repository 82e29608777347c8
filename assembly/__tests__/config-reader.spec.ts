// ConfigReader: typed reads of a JSON object configuration that keep the first problem.
import { ConfigReader, Configuration, LogLevel, registerRootContext, RootContext } from "..";
import { mockHost } from "../testing/host";

const FIELDS = "name, retries, enabled";

function reader(json: string): ConfigReader {
  return new ConfigReader(new Configuration(String.UTF8.encode(json, false)), "with the fields " + FIELDS);
}

function isShort(text: string): bool {
  return text.length <= 3;
}

// A plugin that reads its configuration the way the examples do, for accept().
class Root extends RootContext {
  onConfigure(size: u32): bool {
    const config = new ConfigReader(this.pluginConfiguration, "with the fields " + FIELDS);
    config.string("name", "");
    config.rejectUnknown(FIELDS);
    return config.accept("config-spec");
  }
}

registerRootContext((id: u32) => new Root(id), "config-spec");

describe("ConfigReader: the configuration as a whole", () => {
  it("reads an empty configuration as {}: every field takes its fallback", () => {
    const config = reader("");
    expect(config.isEmpty).toBe(true);
    expect(config.string("name", "default")).toBe("default");
    expect(config.integer("retries", 3, 0, 10)).toBe(3);
    expect(config.keys().length).toBe(0);
    expect(config.ok).toBe(true);
    expect(config.problem).toBe("");
  });

  it("names the JSON error with its position", () => {
    const config = reader('{"name": x}');
    expect(config.ok).toBe(false);
    expect(config.problem).toBe("the configuration is not valid JSON: expected a value at line 1, column 10");
    expect(config.string("name", "fallback")).toBe("fallback");
  });

  it("wants an object, and says which fields it has", () => {
    expect(reader("[1]").problem).toBe("the configuration must be a JSON object with the fields name, retries, enabled, not array");
    expect(reader("null").problem).toBe("the configuration must be a JSON object with the fields name, retries, enabled, not null");
    expect(reader("{}").ok).toBe(true);
    expect(reader("{}").isEmpty).toBe(false);
  });

  it("keeps the first problem; later reads still give values or fallbacks", () => {
    const config = reader('{"name": 1, "retries": 99, "enabled": true}');
    expect(config.string("name", "n")).toBe("n");
    expect(config.integer("retries", 3, 0, 10)).toBe(3);
    expect(config.boolean("enabled", false)).toBe(true);
    config.fail("a later problem");
    expect(config.problem).toBe("\"name\" must be a string, not number");
  });

  it("fail() records a problem of the plugin's own wording", () => {
    const config = reader("");
    if (config.isEmpty) config.fail("the configuration is empty: it needs \"name\"");
    config.require("name");
    expect(config.problem).toBe("the configuration is empty: it needs \"name\"");
  });
});

describe("ConfigReader: fields", () => {
  it("reads strings, booleans and whole numbers", () => {
    const config = reader('{"name": "a", "enabled": false, "retries": 7, "big": 1e3}');
    expect(config.string("name", "")).toBe("a");
    expect(config.boolean("enabled", true)).toBe(false);
    expect(config.integer("retries", 0, 0, 10)).toBe(7);
    expect(config.integer("big", 0, 0, 1000)).toBe(1000);
    expect(config.has("name")).toBe(true);
    expect(config.has("other")).toBe(false);
    expect(config.get("retries")!.asNumber()).toBe(7);
    expect(config.ok).toBe(true);
  });

  it("names the type it wanted and the one it got", () => {
    const config = reader('{"enabled": "yes"}');
    expect(config.boolean("enabled", true)).toBe(true);
    expect(config.problem).toBe("\"enabled\" must be a boolean, not string");
    const name = reader('{"name": ["a"]}');
    name.string("name", "");
    expect(name.problem).toBe("\"name\" must be a string, not array");
  });

  it("wants whole numbers in range, and words the range with what they are", () => {
    const cases = ['{"retries": 11}', '{"retries": -1}', '{"retries": 1.5}', '{"retries": "3"}', '{"retries": 1e400}'];
    for (let i = 0; i < cases.length; i++) {
      const config = reader(cases[i]);
      expect(config.integer("retries", 3, 0, 10)).toBe(3);
      expect(config.problem).toBe("\"retries\" must be a whole number from 0 to 10");
    }
    const status = reader('{"retries": 600}');
    status.integer("retries", 403, 200, 599, "an HTTP status code");
    expect(status.problem).toBe("\"retries\" must be an HTTP status code from 200 to 599");
    const negative = reader('{"retries": -5}');
    expect(negative.integer("retries", 0, -10, 10)).toBe(-5);
    expect(negative.ok).toBe(true);
  });

  it("checks header names and values", () => {
    const good = reader('{"name": "x-user", "value": "a b\\tc"}');
    expect(good.headerName("name", "")).toBe("x-user");
    expect(good.headerValue("value", "")).toBe("a b\tc");
    expect(good.headerName("absent", "x-default")).toBe("x-default");
    expect(good.ok).toBe(true);

    const names = [
      ['{"name": "x user"}', "\"name\": \"x user\" is not a valid HTTP header name"],
      ['{"name": ":path"}', "\"name\": \":path\" is not a valid HTTP header name"],
      ['{"name": 1}', "\"name\" must be a string, not number"],
    ];
    for (let i = 0; i < names.length; i++) {
      const config = reader(names[i][0]);
      expect(config.headerName("name", "x-default")).toBe("x-default");
      expect(config.problem).toBe(names[i][1]);
    }
    const value = reader('{"value": "a\\r\\nb"}');
    expect(value.headerValue("value", "ok")).toBe("ok");
    expect(value.problem).toBe("\"value\" is not a valid HTTP header value (CR, LF and control characters are not allowed)");
  });

  it("nonEmptyString refuses \"\" but not an absent field", () => {
    const config = reader('{"name": ""}');
    expect(config.nonEmptyString("other", "d")).toBe("d");
    expect(config.ok).toBe(true);
    expect(config.nonEmptyString("name", "d")).toBe("d");
    expect(config.problem).toBe("\"name\" must not be empty");
  });

  it("require() names a missing field, with an optional hint", () => {
    const config = reader('{"name": "a"}');
    expect(config.require("name")).toBe(true);
    expect(config.require("retries", "say how often to retry")).toBe(false);
    expect(config.problem).toBe("\"retries\" is missing: say how often to retry");
    const plain = reader("{}");
    plain.require("name");
    expect(plain.problem).toBe("\"name\" is missing");
  });

  it("unknown() and rejectUnknown() list the fields there are", () => {
    const config = reader('{"name": "a", "nam": 1}');
    config.unknown("nam", FIELDS);
    expect(config.problem).toBe("unknown field \"nam\" (the fields are name, retries, enabled)");

    const known = reader('{"enabled": true, "name": "a", "retries": 1}');
    known.rejectUnknown(FIELDS);
    expect(known.ok).toBe(true);
    // Whole items only: neither a prefix, a suffix nor a longer name of a field passes.
    const names = ["nam", "names", "abled", "", "name, retries", "retries, "];
    for (let i = 0; i < names.length; i++) {
      const config = new ConfigReader(new Configuration(String.UTF8.encode("{\"" + names[i] + "\": 1}", false)), "");
      config.rejectUnknown(FIELDS);
      expect(config.problem).toBe("unknown field \"" + names[i] + "\" (the fields are " + FIELDS + ")");
    }
  });
});

describe("ConfigReader: lists", () => {
  it("reads a list of strings, [] when absent", () => {
    const config = reader('{"headers": ["x-a", "x-b"]}');
    const headers = config.headerNames("headers");
    expect(headers.length).toBe(2);
    expect(headers[1]).toBe("x-b");
    expect(config.strings("absent", "names").length).toBe(0);
    expect(config.array("headers", "names").length).toBe(2);
    expect(config.ok).toBe(true);
  });

  it("names the list, and the index of an item of the wrong type", () => {
    const list = reader('{"headers": "x-a"}');
    expect(list.headerNames("headers").length).toBe(0);
    expect(list.problem).toBe("\"headers\" must be a list of header names, not string");
    const item = reader('{"headers": ["x-a", 1]}');
    expect(item.strings("headers", "names").length).toBe(0);
    expect(item.problem).toBe("\"headers\"[1] must be a string, not number");
  });

  it("checks items in turn: the first bad item's problem wins", () => {
    const invalidFirst = reader('{"headers": ["x a", 1]}');
    invalidFirst.headerNames("headers");
    expect(invalidFirst.problem).toBe("\"headers\": \"x a\" is not a valid HTTP header name");
    const typeFirst = reader('{"headers": [1, "x a"]}');
    typeFirst.headerNames("headers");
    expect(typeFirst.problem).toBe("\"headers\"[0] must be a string, not number");
    const own = reader('{"names": ["abc", "abcd"]}');
    own.strings("names", "short names", isShort, "is longer than 3 characters");
    expect(own.problem).toBe("\"names\": \"abcd\" is longer than 3 characters");
  });
});

describe("ConfigReader: nested objects", () => {
  it("reads a list item with its path in every message, and shares the first problem", () => {
    const config = reader('{"rules": [{"prefix": "/a", "methods": ["GET"]}, {"prefix": 1}]}');
    const rules = config.array("rules", "rules");
    const first = config.nested(rules[0], "rules[0]", "with the fields prefix, methods");
    expect(first.path).toBe("rules[0]");
    expect(first.string("prefix", "")).toBe("/a");
    expect(first.strings("methods", "methods")[0]).toBe("GET");
    expect(first.label("prefix")).toBe("rules[0].prefix");
    expect(config.ok).toBe(true);

    const second = config.nested(rules[1], "rules[1]", "with the fields prefix, methods");
    second.string("prefix", "");
    expect(second.problem).toBe("rules[1].prefix must be a string, not number");
    expect(config.problem).toBe("rules[1].prefix must be a string, not number");
    config.require("absent");
    expect(config.problem).toBe("rules[1].prefix must be a string, not number");
  });

  it("words a nested object's own problems with its path", () => {
    const config = reader('{"rules": ["/a", {"path": "/"}]}');
    const rules = config.array("rules", "rules");
    const item = config.nested(rules[0], "rules[0]", "with the fields prefix, methods");
    expect(config.problem).toBe("rules[0] must be an object with the fields prefix, methods, not string");
    expect(item.keys().length).toBe(0);

    const unknown = reader('{"rules": [{"path": "/"}]}');
    const rule = unknown.nested(unknown.array("rules", "rules")[0], "rules[0]", "");
    rule.rejectUnknown("prefix, methods");
    expect(unknown.problem).toBe("rules[0]: unknown field \"path\" (the fields are prefix, methods)");
    const list = reader('{"rules": [{"methods": "GET"}]}');
    list.nested(list.array("rules", "rules")[0], "rules[0]", "").strings("methods", "methods");
    expect(list.problem).toBe("rules[0].methods must be a list of methods, not string");
  });

  it("object() reads a field's object, {} when absent", () => {
    const config = reader('{"limits": {"rps": 5, "burst": "x"}}');
    const limits = config.object("limits", "with the fields rps, burst");
    expect(limits.integer("rps", 0, 1, 100)).toBe(5);
    expect(limits.integer("burst", 1, 1, 100)).toBe(1);
    expect(config.problem).toBe("limits.burst must be a whole number from 1 to 100");
    expect(reader("{}").object("limits", "").keys().length).toBe(0);
    const wrong = reader('{"limits": 5}');
    wrong.object("limits", "with the fields rps, burst");
    expect(wrong.problem).toBe("limits must be an object with the fields rps, burst, not number");
  });
});

describe("ConfigReader: accept", () => {
  it("logs \"<who>: <problem>\" at error and rejects the configuration", () => {
    expect(mockHost.start("config-spec", '{"name": "a", "retry": 1}')).toBe(false);
    expect(mockHost.lastLog(LogLevel.Error)).toBe("config-spec: unknown field \"retry\" (the fields are name, retries, enabled)");
  });

  it("accepts a good configuration without logging", () => {
    mockHost.clearLogs();
    expect(mockHost.start("config-spec", '{"name": "a", "retries": 1}')).toBe(true);
    expect(mockHost.logCount(LogLevel.Error)).toBe(0);
  });
});
