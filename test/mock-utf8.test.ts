// The host's UTF-8 encoder: a loop for short ASCII text, TextEncoder for the rest. Both
// paths must write exactly what TextEncoder writes, lone surrogates included.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { utf8Bytes } from "../runtime-mock/wasm/utf8.js";

const encoder = new TextEncoder();

test("utf8Bytes writes what TextEncoder writes, for any string of any length", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: "grapheme-ascii", maxLength: 100 }), fc.string({ unit: "binary", maxLength: 100 }), fc.string({ unit: "binary-ascii", maxLength: 200 })), (text) => {
      assert.deepEqual(utf8Bytes(text), encoder.encode(text));
    }),
    { numRuns: 2000 },
  );
});

test("utf8Bytes at the edges: empty, the last ASCII code, the first non-ASCII, a lone surrogate, past the short-text limit", () => {
  for (const text of ["", "\x7f", "a\x80", "é", "ab\ud800", "\udc00", "x".repeat(64), "x".repeat(65), "x".repeat(63) + "€"]) {
    assert.deepEqual(utf8Bytes(text), encoder.encode(text), JSON.stringify(text));
  }
  assert.equal(new TextDecoder().decode(utf8Bytes("plugin_root_id")), "plugin_root_id");
});
