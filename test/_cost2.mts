import { readFileSync } from "node:fs";
import { Host } from "../runtime-mock/index.js";
import { compileWat } from "./support/plugin.js";
const A = "/work/shared/anchors/";
const mods: [string, Uint8Array, object][] = [
  ["floor", compileWat(readFileSync(A + "floor-noop.wat", "utf8")), {}],
  ["limit", compileWat(readFileSync(A + "header-append-floor.wat", "utf8")), {}],
  ["rust", readFileSync(A + "rust-sdk-0.2.2-http_config.wasm"), { pluginConfig: "some-value" }],
  ["ha", readFileSync("examples/header-append/build/release.wasm"), { pluginConfig: JSON.stringify({ "first-header": "some-value" }) }],
  ["runtime", readFileSync(A + "proxy-runtime-add_header.wasm"), { pluginConfig: "some-value", rootId: "add_header" }],
];
for (const [name, bytes, opts] of mods) {
  const host = await Host.load(bytes, { meterCost: true, ...opts });
  const r = host.start(); if (!r.ok) { console.log(name, r); continue; }
  let last;
  for (let i = 0; i < 5; i++) {
    const s = host.newHttpStream();
    s.sendRequestHeaders([[":path", "/"], [":method", "GET"], [":authority", "x"]], true);
    s.sendResponseHeaders([[":status", "200"]], false);
    s.sendResponseBody("hello world 20 bytes", true);
    last = s;
  }
  console.log(name.padEnd(8), last.cost.instructions, last.cost.hostCalls, Object.entries(last.cost.callbacks).map(([k, v]) => `${k.replace("proxy_on_", "")}=${v.instructions}/${v.hostCalls}`).join(" "));
}
