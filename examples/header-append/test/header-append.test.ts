// header-append, release build, in the mock host: what a user of the filter relies on.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  INLINE_HEADERS,
  LogLevel,
  measureMemoryGrowth,
  type Host,
  type HostOptions,
  type HttpStream,
} from "proxy-wasm-as";
import { assertCostPerRequest, example, wasmPluginConfig } from "../../test-support.js";

const plugin = example(new URL("../", import.meta.url));
/** The WasmPlugin's pluginName, which Istio sends as the root id. */
const ROOT_ID = "header-append";
const DEFAULT_APPENDED: [string, string][] = [
  ["first-header", "some-value"],
  ["another-header", "another-value"],
];

const start = (pluginConfig?: HostOptions["pluginConfig"], options: HostOptions = {}) =>
  plugin.start({ rootId: ROOT_ID, ...(pluginConfig !== undefined ? { pluginConfig } : {}), ...options });

const REQUEST: [string, string][] = [
  [":authority", "productpage.bookinfo"],
  [":path", "/productpage"],
  [":method", "GET"],
  [":scheme", "http"],
  ["user-agent", "curl/8.5.0"],
  ["accept", "*/*"],
];

/** One request and one response, both ending at the headers. Returns the finished stream. */
function exchange(host: Host, responseHeaders: [string, string][]): HttpStream {
  const stream = host.newHttpStream();
  assert.equal(stream.sendRequestHeaders(REQUEST, true), FilterHeadersStatus.Continue);
  assert.equal(stream.sendResponseHeaders(responseHeaders, true), FilterHeadersStatus.Continue);
  assert.equal(stream.completed, true);
  return stream;
}

describe("header-append: the shipped configuration", () => {
  test("config.json appends both headers to every response, after the upstream's, and leaves the request alone", async () => {
    const host = await start(plugin.configJson);
    const upstream: [string, string][] = [
      [":status", "200"],
      ["content-type", "text/html; charset=utf-8"],
      ["x-app", "productpage"],
    ];
    for (let i = 0; i < 3; i++) {
      const stream = exchange(host, upstream);
      assert.deepEqual(stream.response.headers.pairs(), [...upstream, ...DEFAULT_APPENDED]);
      assert.equal(stream.response.headersForwarded, true);
      assert.equal(stream.response.endStreamForwarded, true);
      assert.deepEqual(stream.request.headers.pairs(), REQUEST);
      assert.equal(stream.request.headersForwarded, true);
      assert.equal(stream.localResponse, undefined);
    }
    assert.deepEqual(host.logs, []);
  });

  test("the pluginConfig of wasmplugin.yaml is config.json, and its pluginName is the registered root id", () => {
    assert.deepEqual(wasmPluginConfig(plugin.wasmPluginYaml), JSON.parse(plugin.configJson));
    assert.match(plugin.wasmPluginYaml, new RegExp(`^\\s*pluginName: ${ROOT_ID}$`, "m"));
  });

  test("works without a pluginName (root id \"\"), and names the registered root id when the pluginName is wrong", async () => {
    const unnamed = await plugin.start({ pluginConfig: plugin.configJson });
    assert.deepEqual(exchange(unnamed, [[":status", "200"]]).response.headers.pairs(), [[":status", "200"], ...DEFAULT_APPENDED]);

    const host = await plugin.load({ rootId: "header_append", pluginConfig: plugin.configJson });
    assert.equal(host.start().ok, false);
    assert.equal(host.state, "startFailed");
    assert.deepEqual(host.logs.map((e) => [e.level, e.message]), [
      [
        LogLevel.Critical,
        'no root context is registered for root id "header_append" (registered: "header-append"); set the WasmPlugin\'s ' +
          'pluginName to one of them, or register one with registerRootContext(factory, "header_append")',
      ],
    ]);
  });
});

describe("header-append: what gets appended", () => {
  test("50 configured headers are all appended, in configuration order", async () => {
    const configured: [string, string][] = Array.from({ length: 50 }, (_, i) => [
      `x-header-${String(i).padStart(2, "0")}`,
      `value ${i}`,
    ]);
    // Not sorted: the order is the JSON object's.
    configured.reverse();
    const host = await start(Object.fromEntries(configured));
    const stream = exchange(host, [[":status", "200"], ["x-app", "a"]]);
    assert.deepEqual(stream.response.headers.pairs(), [[":status", "200"], ["x-app", "a"], ...configured]);
  });

  test("a header the upstream already sent stays; a regular header gets a second entry, an Envoy inline header gets \",value\"", async () => {
    // Envoy's addCopy (proxy_add_header_map_value): inline headers exist once and are comma-joined.
    assert.equal(INLINE_HEADERS.responseHeaders.has("server"), true);
    assert.equal(INLINE_HEADERS.responseHeaders.has("content-type"), true);
    assert.equal(INLINE_HEADERS.responseHeaders.has("via"), true);
    assert.equal(INLINE_HEADERS.responseHeaders.has("x-team"), false);
    assert.equal(INLINE_HEADERS.responseHeaders.has("cache-control"), false);

    const host = await start({
      "x-team": "edge",
      server: "mesh",
      "content-type": "charset=utf-8",
      via: "1.1 sidecar",
      "cache-control": "no-store",
    });
    const present = exchange(host, [
      [":status", "200"],
      ["server", "envoy"],
      ["content-type", "text/plain"],
      ["via", "1.1 upstream"],
      ["x-team", "backend"],
      ["cache-control", "max-age=60"],
    ]);
    assert.deepEqual(present.response.headers.pairs(), [
      [":status", "200"],
      ["server", "envoy,mesh"],
      ["content-type", "text/plain,charset=utf-8"],
      ["via", "1.1 upstream,1.1 sidecar"],
      ["x-team", "backend"],
      ["cache-control", "max-age=60"],
      ["x-team", "edge"],
      ["cache-control", "no-store"],
    ]);
    assert.deepEqual(present.response.headers.getAll("x-team"), ["backend", "edge"]);

    // Absent from the response: every configured header is a new entry, inline or not.
    const absent = exchange(host, [[":status", "204"]]);
    assert.deepEqual(absent.response.headers.pairs(), [
      [":status", "204"],
      ["x-team", "edge"],
      ["server", "mesh"],
      ["content-type", "charset=utf-8"],
      ["via", "1.1 sidecar"],
      ["cache-control", "no-store"],
    ]);
  });

  test("names are sent lower-case; values byte for byte (UTF-8, tab, empty); an empty value adds nothing to a present inline header", async () => {
    const host = await start({ "X-Powered-By": "proxy-wasm-as", "x-unicode": "héllo ✓", "x-tab": "a\tb", "x-empty": "", server: "" });
    const stream = exchange(host, [[":status", "200"], ["server", "envoy"]]);
    assert.deepEqual(stream.response.headers.pairs(), [
      [":status", "200"],
      ["server", "envoy"],
      ["x-powered-by", "proxy-wasm-as"],
      ["x-unicode", "héllo ✓"],
      ["x-tab", "a\tb"],
      ["x-empty", ""],
    ]);
  });

  test("streams with bodies and trailers: the headers are appended once, bodies and trailers pass untouched, nothing pauses", async () => {
    const host = await start(plugin.configJson);
    const stream = host.newHttpStream();
    const request: [string, string][] = [[":method", "POST"], [":path", "/reviews"], [":authority", "reviews"], ["content-type", "application/json"]];
    assert.equal(stream.sendRequestHeaders(request), FilterHeadersStatus.Continue);
    assert.equal(stream.sendRequestBody('{"rating":'), FilterDataStatus.Continue);
    assert.equal(stream.sendRequestBody("5}"), FilterDataStatus.Continue);
    assert.equal(stream.sendRequestTrailers({ "x-request-checksum": "abc" }), FilterTrailersStatus.Continue);

    const upstream: [string, string][] = [[":status", "201"], ["content-type", "application/json"]];
    assert.equal(stream.sendResponseHeaders(upstream), FilterHeadersStatus.Continue);
    assert.equal(stream.response.paused, false);
    assert.equal(stream.sendResponseBody('{"id":'), FilterDataStatus.Continue);
    assert.equal(stream.sendResponseBody("7}"), FilterDataStatus.Continue);
    assert.equal(stream.completed, false);
    assert.equal(stream.sendResponseTrailers({ "x-response-checksum": "def" }), FilterTrailersStatus.Continue);
    assert.equal(stream.completed, true);

    assert.deepEqual(stream.request.headers.pairs(), request);
    assert.equal(stream.request.bodyText, '{"rating":5}');
    assert.deepEqual(stream.request.trailers?.pairs(), [["x-request-checksum", "abc"]]);
    assert.deepEqual(stream.response.headers.pairs(), [...upstream, ...DEFAULT_APPENDED]);
    assert.equal(stream.response.bodyText, '{"id":7}');
    assert.deepEqual(stream.response.trailers?.pairs(), [["x-response-checksum", "def"]]);
    assert.equal(stream.response.endStreamForwarded, true);
  });

  test("replies Envoy generates before the upstream (a router 503, a redirect) reach the filter like any response and get the headers", async () => {
    // The mock runs one plugin, so a reply from another filter or the router is played as
    // the response it is when it reaches this filter's encoder: Envoy's local-reply shape.
    const host = await start(plugin.configJson);
    const unavailable = host.newHttpStream();
    unavailable.sendRequestHeaders(REQUEST, true);
    const reply: [string, string][] = [[":status", "503"], ["content-length", "19"], ["content-type", "text/plain"]];
    assert.equal(unavailable.sendResponseHeaders(reply), FilterHeadersStatus.Continue);
    assert.equal(unavailable.sendResponseBody("no healthy upstream", true), FilterDataStatus.Continue);
    assert.deepEqual(unavailable.response.headers.pairs(), [...reply, ...DEFAULT_APPENDED]);
    assert.equal(unavailable.response.bodyText, "no healthy upstream");

    const redirect = exchange(host, [[":status", "301"], ["location", "https://productpage/"]]);
    assert.deepEqual(redirect.response.headers.pairs(), [[":status", "301"], ["location", "https://productpage/"], ...DEFAULT_APPENDED]);
  });
});

describe("header-append: configuration", () => {
  for (const [label, config] of [
    ["empty (\"\")", ""],
    ["absent (no pluginConfig)", undefined],
    ["{}", "{}"],
    ["{} with whitespace", " {\n}\n"],
  ] as const) {
    test(`${label}: starts and appends nothing`, async () => {
      const host = await start(config);
      assert.equal(host.state, "running");
      const upstream: [string, string][] = [[":status", "200"], ["server", "envoy"]];
      assert.deepEqual(exchange(host, upstream).response.headers.pairs(), upstream);
      assert.deepEqual(host.logs, []);
    });
  }

  const invalid: [string, string, string][] = [
    // not JSON
    ["YAML instead of JSON", "first-header: some-value", "the configuration is not valid JSON: expected a value at line 1, column 1"],
    ["an unquoted value", '{\n  "first-header": some-value\n}', "the configuration is not valid JSON: expected a value at line 2, column 19"],
    ["a trailing comma", '{"first-header": "some-value",}', "the configuration is not valid JSON: expected a field name in double quotes at line 1, column 31"],
    ["an unterminated object", '{"first-header": "some-value"', "the configuration is not valid JSON: expected ',' or '}' at line 1, column 30"],
    // not an object
    ["an array", '["first-header", "some-value"]', "the configuration must be a JSON object of header name to value, not array"],
    ["a string", '"first-header: some-value"', "the configuration must be a JSON object of header name to value, not string"],
    ["a number", "42", "the configuration must be a JSON object of header name to value, not number"],
    ["null", "null", "the configuration must be a JSON object of header name to value, not null"],
    // a value that is not a string
    ["a number value", '{"x-version": 2}', 'the value of "x-version" must be a string, not number'],
    ["a null value", '{"x-version": null}', 'the value of "x-version" must be a string, not null'],
    ["an object value", '{"x-version": {"major": "2"}}', 'the value of "x-version" must be a string, not object'],
    ["a boolean value (unquoted YAML true)", '{"x-enabled": true}', 'the value of "x-enabled" must be a string, not boolean'],
    ["an array value", '{"x-list": ["a", "b"]}', 'the value of "x-list" must be a string, not array'],
    // a name that is not an HTTP token
    ["a name with a space", '{"first header": "v"}', '"first header" is not a valid HTTP header name'],
    ["a name with a colon", '{"first:header": "v"}', '"first:header" is not a valid HTTP header name'],
    ["a pseudo-header", '{":status": "500"}', '":status" is not a valid HTTP header name'],
    ["an empty name", '{"": "v"}', '"" is not a valid HTTP header name'],
    ["a non-ASCII name", '{"x-héader": "v"}', '"x-héader" is not a valid HTTP header name'],
    // a value with CR or LF (header injection)
    ["a value with CR LF", '{"x-a": "v\\r\\nset-cookie: admin=1"}', 'the value of "x-a" is not a valid HTTP header value (CR, LF and control characters are not allowed)'],
    ["a value with LF", '{"x-a": "v\\nw"}', 'the value of "x-a" is not a valid HTTP header value (CR, LF and control characters are not allowed)'],
    ["a value with CR", '{"x-a": "v\\rw"}', 'the value of "x-a" is not a valid HTTP header value (CR, LF and control characters are not allowed)'],
    ["a value with NUL", '{"x-a": "v\\u0000w"}', 'the value of "x-a" is not a valid HTTP header value (CR, LF and control characters are not allowed)'],
    // the first problem is the one reported, after the valid entries before it
    ["a bad entry after good ones", '{"first-header": "ok", "bad name": "v", "x": 1}', '"bad name" is not a valid HTTP header name'],
  ];
  for (const [label, config, problem] of invalid) {
    test(`rejected with one error line: ${label}`, async () => {
      await plugin.expectRejected({ rootId: ROOT_ID, pluginConfig: config }, `header-append: ${problem}`);
    });
  }

  test("the error line is what Envoy prints on its wasm logger", async () => {
    const host = await plugin.load({ rootId: ROOT_ID, pluginConfig: "[]" });
    host.start();
    assert.deepEqual(
      host.logs.map((e) => e.formatted),
      ["wasm log header-append: header-append: the configuration must be a JSON object of header name to value, not array"],
    );
  });
});

describe("header-append: memory", () => {
  const upstream: [string, string][] = [[":status", "200"], ["content-type", "text/plain"], ["server", "envoy"]];

  function oneStream(host: Host, i: number): void {
    const stream = host.newHttpStream();
    stream.sendRequestHeaders([[":method", "POST"], [":path", `/item/${i}`], [":authority", "shop"]]);
    stream.sendRequestBody(`request ${i}`, true);
    stream.sendResponseHeaders(upstream);
    stream.sendResponseBody(`response ${i}`, true);
    assert.equal(stream.completed, true);
    assert.deepEqual(stream.response.headers.pairs().slice(-2), DEFAULT_APPENDED);
  }

  test("10,000 streams on one VM: linear memory does not grow after the leak check's warm-up (measureMemoryGrowth)", async () => {
    const host = await start(plugin.configJson);
    const growth = measureMemoryGrowth(host, 10_000, oneStream);
    assert.equal(growth.grewBytes, 0, JSON.stringify(growth));
    assert.equal(host.state, "running");
  });

  test("1,000 streams open at once, ten times over: memory after the first round stays the same", async () => {
    const host = await start(plugin.configJson);
    const round = () => {
      const open: HttpStream[] = [];
      for (let i = 0; i < 1000; i++) {
        const stream = host.newHttpStream();
        stream.sendRequestHeaders([[":method", "GET"], [":path", `/${i}`], [":authority", "shop"]], true);
        open.push(stream);
      }
      for (const stream of open) {
        assert.equal(stream.completed, false);
        stream.sendResponseHeaders(upstream);
        stream.sendResponseBody("ok", true);
        assert.equal(stream.completed, true);
        assert.deepEqual(stream.response.headers.pairs().slice(-2), DEFAULT_APPENDED);
      }
      return host.memoryBytes;
    };
    const baseline = round();
    const after = Array.from({ length: 10 }, round);
    assert.deepEqual(after, Array(10).fill(baseline));
  });
});

describe("header-append: cost", () => {
  test("a request costs at most its budget of WebAssembly instructions and its two host calls (the cost meter)", async () => {
    const host = await start(plugin.configJson, { meterCost: true });
    assertCostPerRequest(host, (h) => exchange(h, [[":status", "200"]]), { instructions: 550, hostCalls: 2 });
  });

  test("with 1,000 long-lived streams open (gRPC streams, websockets), a request still costs about as much", async () => {
    // Their context ids are one run of numbers; the SDK's stream table must not cluster them
    // (with `id & mask` as the slot, every later id landing in the run probed it: 11,000 instructions).
    const host = await start(plugin.configJson, { meterCost: true });
    const open = Array.from({ length: 1000 }, () => {
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(REQUEST, false);
      return stream;
    });
    assertCostPerRequest(host, (h) => exchange(h, [[":status", "200"]]), { instructions: 830, hostCalls: 2 });
    for (const stream of open) {
      stream.sendRequestBody("", true);
      stream.sendResponseHeaders([[":status", "200"]], true);
      assert.equal(stream.completed, true);
    }
  });
});
