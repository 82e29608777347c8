// The test API under vitest (ESM): import from "proxy-wasm-as".
import { createRequire } from "node:module";
import { expect, test } from "vitest";
import { Host } from "proxy-wasm-as";

const { headerAppendStream } = createRequire(import.meta.url)("./scenario.cjs");

test("a plugin runs through the mock host under vitest", async () => {
  expect(await headerAppendStream(Host)).toEqual({ started: true, added: "yes", completed: true });
});
