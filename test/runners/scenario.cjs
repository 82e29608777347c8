// One scenario for every test runner (node's, jest, vitest): the package as a consumer
// gets it, by name (require or import), a plugin loaded and a stream run through it.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const MODULE = join(__dirname, "../../examples/header-append/build/release.wasm");

/** Loads header-append with one configured header and runs one stream; returns what a test asserts. */
async function headerAppendStream(Host) {
  const host = await Host.load(readFileSync(MODULE), { pluginConfig: JSON.stringify({ "x-runner": "yes" }) });
  const start = host.start();
  const stream = host.newHttpStream();
  stream.sendRequestHeaders([[":method", "GET"], [":path", "/"], [":authority", "example.com"]], true);
  stream.sendResponseHeaders([[":status", "200"]], true);
  return { started: start.ok, added: stream.response.headers.get("x-runner"), completed: stream.completed };
}

module.exports = { headerAppendStream };
