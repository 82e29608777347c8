// npm start: runs the example plugins (release builds) in the mock host and shows what
// each does to sample requests and responses, before and after the filter.
import { readFileSync } from "node:fs";
import { Host, LogLevel, type HttpStream } from "proxy-wasm-as";

type Pairs = [string, string][];

const show = (title: string, pairs: Pairs) => {
  console.log(`    ${title}`);
  for (const [name, value] of pairs) console.log(`      ${name}: ${value}`);
};

async function plugin(name: string): Promise<Host> {
  const config = readFileSync(`examples/${name}/config.json`, "utf8");
  const host = await Host.load(`examples/${name}/build/release.wasm`, { rootId: name, pluginConfig: config, logLevel: LogLevel.Debug });
  const started = host.start();
  if (!started.ok) throw new Error(`${name} failed to start: ${started.message}`);
  console.log(`\n== ${name} (configuration: ${JSON.stringify(JSON.parse(config))})`);
  return host;
}

function exchange(host: Host, label: string, request: Pairs, response: Pairs, responseBody = ""): HttpStream {
  console.log(`\n  ${label}`);
  const stream = host.newHttpStream();
  show("client sends:", request);
  stream.sendRequestHeaders(request, true);
  if (stream.localResponse) {
    const reply = stream.localResponse;
    console.log(`    the plugin answered locally (upstream never saw the request):`);
    show(`client gets ${reply.status}:`, stream.response.headers.pairs());
    console.log(`      body: ${JSON.stringify(reply.bodyText)}`);
  } else {
    show("upstream gets:", stream.request.headers.pairs());
    show("upstream answers:", response);
    stream.sendResponseHeaders(response, responseBody.length === 0);
    if (responseBody.length > 0) stream.sendResponseBody(responseBody, true);
    show("client gets:", stream.response.headers.pairs());
  }
  for (const entry of host.logs.filter((e) => e.contextId === stream.contextId)) {
    console.log(`    log (${LogLevel[entry.level].toLowerCase()}): ${entry.message}`);
  }
  return stream;
}

const request: Pairs = [[":method", "GET"], [":path", "/productpage"], [":authority", "bookinfo.example.com"]];
const response: Pairs = [[":status", "200"], ["content-type", "text/html"]];

const append = await plugin("header-append");
exchange(append, "GET /productpage", request, response, "<html>…</html>");

const authorization = await plugin("header-authorization");
exchange(authorization, "without the allow header", request, response);
exchange(authorization, "with allow: false", [...request, ["allow", "false"]], response);
exchange(authorization, "with allow: true", [...request, ["allow", "true"]], response);

console.log("\nThe same modules load unchanged in Envoy: see each example's wasmplugin.yaml.");
