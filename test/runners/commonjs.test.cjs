// require("proxy-wasm-as") under node's test runner: the package's CommonJS entry.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { Host, HeaderMap } = require("proxy-wasm-as");
const { headerAppendStream } = require("./scenario.cjs");

test("require('proxy-wasm-as') gives the test API; a plugin runs through it", async () => {
  assert.equal(typeof HeaderMap, "function");
  assert.deepEqual(await headerAppendStream(Host), { started: true, added: "yes", completed: true });
});
