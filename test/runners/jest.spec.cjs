// The test API under jest (CommonJS): require("proxy-wasm-as").
const { Host } = require("proxy-wasm-as");
const { headerAppendStream } = require("./scenario.cjs");

test("a plugin runs through the mock host under jest", async () => {
  expect(await headerAppendStream(Host)).toEqual({ started: true, added: "yes", completed: true });
});
