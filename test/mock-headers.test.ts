// Envoy's header map model (runtime-mock/headers.ts; ABI.md §5.5, §10 #19/#21).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { HeaderMap, INLINE_HEADERS, type HeaderMapKind } from "../runtime-mock/envoy/headers.js";

const KINDS: HeaderMapKind[] = ["requestHeaders", "requestTrailers", "responseHeaders", "responseTrailers"];

describe("HeaderMap basics", () => {
  test("keys are lower-cased (ASCII only), values kept", () => {
    const map = new HeaderMap("requestHeaders", [["X-Foo", "Bar"], ["ÄB", "v"]]);
    assert.deepEqual(map.pairs(), [["x-foo", "Bar"], ["Äb", "v"]]);
    assert.equal(map.get("X-FOO"), "Bar");
    assert.equal(map.get("x-missing"), undefined);
  });

  test("ordinary duplicates stay separate entries in insertion order", () => {
    const map = new HeaderMap("requestHeaders");
    map.add("x-a", "1");
    map.add("x-b", "2");
    map.add("X-A", "3");
    assert.deepEqual(map.pairs(), [["x-a", "1"], ["x-b", "2"], ["x-a", "3"]]);
    assert.equal(map.get("x-a"), "1"); // first value
    assert.deepEqual(map.getAll("x-a"), ["1", "3"]);
    assert.equal(map.size, 3);
  });

  test("an inline header is coalesced with ',' (user-agent in request headers)", () => {
    const map = new HeaderMap("requestHeaders", [["user-agent", "a"]]);
    map.add("user-agent", "b");
    assert.deepEqual(map.pairs(), [["user-agent", "a,b"]]);
  });

  test("user-agent is not inline in response headers: separate entries there", () => {
    const map = new HeaderMap("responseHeaders", [["user-agent", "a"]]);
    map.add("user-agent", "b");
    assert.deepEqual(map.pairs(), [["user-agent", "a"], ["user-agent", "b"]]);
  });

  test("grpc-status is inline in response headers and trailers, not in request trailers", () => {
    for (const kind of ["responseHeaders", "responseTrailers"] as const) {
      const map = new HeaderMap(kind, [["grpc-status", "0"], ["grpc-status", "1"]]);
      assert.deepEqual(map.pairs(), [["grpc-status", "0,1"]], kind);
    }
    const trailers = new HeaderMap("requestTrailers", [["grpc-status", "0"], ["grpc-status", "1"]]);
    assert.equal(trailers.size, 2);
  });

  test("appending an empty value to an inline header changes nothing; appending to an empty value adds no comma", () => {
    const map = new HeaderMap("requestHeaders", [["x-forwarded-for", "1.1.1.1"]]);
    map.add("x-forwarded-for", "");
    assert.equal(map.get("x-forwarded-for"), "1.1.1.1");
    const empty = new HeaderMap("requestHeaders", [["via", ""]]);
    empty.add("via", "proxy");
    assert.deepEqual(empty.pairs(), [["via", "proxy"]]);
  });

  test("pseudo-headers are kept in front, in their own insertion order", () => {
    const map = new HeaderMap("requestHeaders", [["x-a", "1"], [":method", "GET"]]);
    map.add(":path", "/p");
    map.add("x-b", "2");
    map.add(":x-custom", "c");
    assert.deepEqual(map.pairs(), [[":method", "GET"], [":path", "/p"], [":x-custom", "c"], ["x-a", "1"], ["x-b", "2"]]);
  });

  test("replace = remove every entry, then one new entry at the end", () => {
    const map = new HeaderMap("requestHeaders", [["x-a", "1"], ["x-b", "2"], ["x-a", "3"]]);
    map.replace("x-a", "9");
    assert.deepEqual(map.pairs(), [["x-b", "2"], ["x-a", "9"]]);
    map.replace("x-new", "n");
    assert.deepEqual(map.pairs(), [["x-b", "2"], ["x-a", "9"], ["x-new", "n"]]);
  });

  test("replacing a pseudo-header moves it to the end of the pseudo block", () => {
    const map = new HeaderMap("requestHeaders", [[":method", "GET"], [":path", "/"], [":authority", "h"], ["x", "1"]]);
    map.replace(":method", "POST");
    assert.deepEqual(map.pairs(), [[":path", "/"], [":authority", "h"], [":method", "POST"], ["x", "1"]]);
  });

  test("setInPlace keeps an inline header's position; otherwise it replaces", () => {
    const map = new HeaderMap("responseHeaders", [[":status", "200"], ["content-length", "1"], ["x", "1"]]);
    map.setInPlace("content-length", "5");
    assert.deepEqual(map.pairs(), [[":status", "200"], ["content-length", "5"], ["x", "1"]]);
    map.add("y", "1");
    map.add("y", "2");
    map.setInPlace("y", "3");
    assert.deepEqual(map.getAll("y"), ["3"]);
  });

  test("remove drops every entry and reports how many", () => {
    const map = new HeaderMap("requestHeaders", [[":path", "/"], ["x", "1"], ["x", "2"], ["y", "3"]]);
    assert.equal(map.remove("X"), 2);
    assert.equal(map.remove(":path"), 1);
    assert.equal(map.remove("nope"), 0);
    assert.deepEqual(map.pairs(), [["y", "3"]]);
  });

  test("setPairs removes everything, then adds with add's rules", () => {
    const map = new HeaderMap("requestHeaders", [["x-old", "1"], [":path", "/"]]);
    map.setPairs([["x-forwarded-for", "a"], ["X-Forwarded-For", "b"], ["x-n", "1"], ["x-n", "2"], [":method", "GET"]]);
    assert.deepEqual(map.pairs(), [[":method", "GET"], ["x-forwarded-for", "a,b"], ["x-n", "1"], ["x-n", "2"]]);
    map.setPairs([]);
    assert.equal(map.size, 0);
    map.add("a", "1");
    map.setPairs(map.pairs()); // its own pairs
    assert.deepEqual(map.pairs(), [["a", "1"]]);
  });

  test("byteSize is Σ len(key) + len(value) in UTF-8 bytes (ABI.md §5.5 example: 32)", () => {
    const map = new HeaderMap("requestHeaders", [[":method", "GET"], [":path", "/p"], [":authority", "h"], ["x-a", "1"]]);
    assert.equal(map.byteSize(), 32);
    assert.equal(new HeaderMap("requestHeaders", [["x", "é"]]).byteSize(), 3);
  });

  test("host is :authority in request header maps only", () => {
    const req = new HeaderMap("requestHeaders", [["host", "example.com"]]);
    assert.deepEqual(req.pairs(), [[":authority", "example.com"]]);
    assert.equal(req.get("Host"), "example.com");
    req.add("host", "other"); // :authority is inline: coalesced
    assert.equal(req.get(":authority"), "example.com,other");
    assert.equal(req.remove("host"), 1);
    assert.equal(req.size, 0);
    const res = new HeaderMap("responseHeaders", [["host", "x"]]);
    assert.deepEqual(res.pairs(), [["host", "x"]]);
  });

  test("init forms: record with arrays, iterable, another map; clone is independent", () => {
    const fromRecord = new HeaderMap("requestHeaders", { "X-A": ["1", "2"], b: "3" });
    assert.deepEqual(fromRecord.pairs(), [["x-a", "1"], ["x-a", "2"], ["b", "3"]]);
    const fromMap = new HeaderMap("requestHeaders", fromRecord);
    assert.deepEqual(fromMap.pairs(), fromRecord.pairs());
    const copy = fromRecord.clone();
    copy.add("c", "4");
    assert.equal(fromRecord.has("c"), false);
    assert.deepEqual(fromRecord.toObject(), { "x-a": "1,2", b: "3" });
  });
});

// --- invariants under random operation sequences ----------------------------------------

const inlineKeys = [...new Set(KINDS.flatMap((k) => [...INLINE_HEADERS[k]]))];
const keyArb = fc.oneof(
  fc.constantFrom(...inlineKeys, "host", "Host", "x-a", "X-A", "x-b", ":custom", "cookie"),
  fc.stringMatching(/^:?[A-Za-z0-9-]{1,6}$/),
);
const valueArb = fc.oneof(fc.constant(""), fc.string({ maxLength: 6 }), fc.constantFrom("é", "ü,v"));
type Op = { op: "add" | "replace" | "setInPlace"; key: string; value: string } | { op: "remove"; key: string } | { op: "setPairs"; pairs: [string, string][] };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom("add", "replace", "setInPlace"), key: keyArb, value: valueArb }),
  fc.record({ op: fc.constant("remove"), key: keyArb }),
  fc.record({ op: fc.constant("setPairs"), pairs: fc.array(fc.tuple(keyArb, valueArb), { maxLength: 6 }) }),
) as fc.Arbitrary<Op>;

function apply(map: HeaderMap, op: Op): void {
  if (op.op === "remove") map.remove(op.key);
  else if (op.op === "setPairs") map.setPairs(op.pairs);
  else map[op.op](op.key, op.value);
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

describe("HeaderMap invariants (fast-check)", () => {
  test("pseudo-headers first, lower-case keys, inline keys unique, byteSize = Σ", () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), fc.array(opArb, { maxLength: 25 }), (kind, ops) => {
        const map = new HeaderMap(kind);
        for (const op of ops) apply(map, op);
        const pairs = map.pairs();
        const firstRegular = pairs.findIndex(([k]) => !k.startsWith(":"));
        if (firstRegular >= 0) assert.ok(pairs.slice(firstRegular).every(([k]) => !k.startsWith(":")), "pseudo after regular");
        for (const [k] of pairs) assert.equal(k, k.replace(/[A-Z]/g, (c) => c.toLowerCase()));
        for (const key of INLINE_HEADERS[kind]) assert.ok(pairs.filter(([k]) => k === key).length <= 1, `${key} twice`);
        if (kind === "requestHeaders") assert.ok(!pairs.some(([k]) => k === "host"));
        assert.equal(map.byteSize(), pairs.reduce((n, [k, v]) => n + utf8Length(k) + utf8Length(v), 0));
        assert.equal(map.size, pairs.length);
      }),
    );
  });

  test("remove leaves no entry; replace leaves exactly one with the value", () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), fc.array(opArb, { maxLength: 15 }), keyArb, valueArb, (kind, ops, key, value) => {
        const map = new HeaderMap(kind);
        for (const op of ops) apply(map, op);
        const removedFrom = map.clone();
        removedFrom.remove(key);
        assert.deepEqual(removedFrom.getAll(key), []);
        map.replace(key, value);
        assert.deepEqual(map.getAll(key), [value]);
      }),
    );
  });

  test("setPairs(p) gives the same map as building one from p", () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), fc.array(opArb, { maxLength: 10 }), fc.array(fc.tuple(keyArb, valueArb), { maxLength: 8 }), (kind, ops, pairs) => {
        const map = new HeaderMap(kind);
        for (const op of ops) apply(map, op);
        map.setPairs(pairs);
        assert.deepEqual(map.pairs(), new HeaderMap(kind, pairs).pairs());
      }),
    );
  });

  test("adding a non-inline regular key appends exactly one entry at the end", () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), fc.array(opArb, { maxLength: 10 }), fc.stringMatching(/^x-[a-z]{1,4}$/), valueArb, (kind, ops, key, value) => {
        fc.pre(!INLINE_HEADERS[kind].has(key));
        const map = new HeaderMap(kind);
        for (const op of ops) apply(map, op);
        const before = map.pairs();
        map.add(key, value);
        assert.deepEqual(map.pairs(), [...before, [key, value]]);
      }),
    );
  });
});
