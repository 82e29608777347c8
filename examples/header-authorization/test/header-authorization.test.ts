// header-authorization, release build, in the mock host: what a user of the filter relies on.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FilterDataStatus, FilterHeadersStatus, LogLevel, measureMemoryGrowth, type Host, type HostOptions, type HttpStream } from "proxy-wasm-as";
import { assertCostPerRequest, example, wasmPluginConfig } from "../../test-support.js";

const plugin = example(new URL("../", import.meta.url));
/** The WasmPlugin's pluginName, which Istio sends as the root id. */
const ROOT_ID = "header-authorization";
const DEFAULT_BODY = "Forbidden by header-authorization Wasm plugin";
const DETAILS = "header_authorization_denied";
const encoder = new TextEncoder();

const start = (pluginConfig?: HostOptions["pluginConfig"], options: HostOptions = {}) =>
  plugin.start({ rootId: ROOT_ID, logLevel: LogLevel.Debug, ...(pluginConfig !== undefined ? { pluginConfig } : {}), ...options });

const BASE_REQUEST: [string, string][] = [
  [":authority", "productpage.bookinfo"],
  [":path", "/productpage"],
  [":method", "GET"],
  [":scheme", "http"],
  ["user-agent", "curl/8.5.0"],
];
const withHeaders = (...extra: [string, string][]): [string, string][] => [...BASE_REQUEST, ...extra];

/** The debug line of a denial. */
const deniedLine = (header: string, seen: string, expected: string) =>
  `header-authorization: denied: header "${header}" is ${seen}; only "${expected}" passes`;

const pluginLogs = (host: Host) => host.logs.map((e) => [e.level, e.message]);

/** A local reply as Envoy builds it for a plain HTTP request: :status, content-length, content-type. */
function localReply(status: number, body: string) {
  const bytes = encoder.encode(body);
  return {
    status,
    body: bytes,
    bodyText: body,
    headers: [[":status", String(status)], ["content-length", String(bytes.length)], ["content-type", "text/plain"]],
    details: DETAILS,
    generatedBy: "plugin",
  };
}

/** Sends the request headers (and a body) and checks the request was denied with `status`/`body`. */
function assertDenied(host: Host, request: [string, string][], status: number, body: string): HttpStream {
  const stream = host.newHttpStream();
  assert.equal(stream.sendRequestHeaders(request), FilterHeadersStatus.StopAllIterationAndWatermark);
  // Nothing reaches the upstream: not the headers, not a body sent afterwards.
  assert.equal(stream.request.headersForwarded, false);
  assert.equal(stream.sendRequestBody("payload", true), FilterDataStatus.StopIterationNoBuffer);
  assert.equal(stream.request.body.length, 0);
  const { headers: replyHeaders, ...reply } = stream.localResponse!;
  const { headers: expectedHeaders, ...expected } = localReply(status, body);
  assert.deepEqual(reply, expected);
  assert.deepEqual(replyHeaders.pairs(), expectedHeaders);
  // The client gets the reply and the stream is over.
  assert.deepEqual(stream.response.headers.pairs(), localReply(status, body).headers);
  assert.equal(stream.response.bodyText, body);
  assert.equal(stream.response.endStreamForwarded, true);
  assert.equal(stream.responseCodeDetails, DETAILS);
  assert.equal(stream.completed, true);
  return stream;
}

/** Sends the request headers and checks they went upstream untouched, then completes the stream through an upstream response. */
function assertAllowed(host: Host, request: [string, string][]): HttpStream {
  const stream = host.newHttpStream();
  assert.equal(stream.sendRequestHeaders(request), FilterHeadersStatus.Continue);
  assert.equal(stream.request.headersForwarded, true);
  assert.equal(stream.request.paused, false);
  assert.deepEqual(stream.request.headers.pairs(), request);
  assert.equal(stream.sendRequestBody("payload", true), FilterDataStatus.Continue);
  assert.equal(stream.request.bodyText, "payload");
  assert.equal(stream.localResponse, undefined);
  const upstream: [string, string][] = [[":status", "200"], ["content-type", "text/html"]];
  assert.equal(stream.sendResponseHeaders(upstream), FilterHeadersStatus.Continue);
  assert.equal(stream.sendResponseBody("<html>", true), FilterDataStatus.Continue);
  assert.deepEqual(stream.response.headers.pairs(), upstream);
  assert.equal(stream.response.bodyText, "<html>");
  assert.equal(stream.completed, true);
  return stream;
}

describe("header-authorization: the default behaviour", () => {
  test("no allow header: a local 403 with the default body, nothing forwarded upstream, one debug line", async () => {
    const host = await start(plugin.configJson);
    assertDenied(host, BASE_REQUEST, 403, DEFAULT_BODY);
    assert.deepEqual(pluginLogs(host), [[LogLevel.Debug, deniedLine("allow", "absent", "true")]]);
  });

  test("allow: true passes untouched: headers and body forwarded as sent, the response untouched, no log line even at Debug", async () => {
    const host = await start(plugin.configJson);
    assertAllowed(host, withHeaders(["allow", "true"]));
    // The header name is case-insensitive (HTTP/1.1 clients may send "Allow"); Envoy lower-cases it.
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders([...BASE_REQUEST, ["Allow", "true"]], true), FilterHeadersStatus.Continue);
    assert.equal(stream.request.headersForwarded, true);
    assert.deepEqual(host.logs, []);
    assert.equal(host.droppedLogCount, 0);
  });

  const denials: [string, [string, string][], string][] = [
    ["allow: false", [["allow", "false"]], '"false"'],
    ["allow: TRUE (the match is case-sensitive)", [["allow", "TRUE"]], '"TRUE"'],
    ["allow: True", [["allow", "True"]], '"True"'],
    ["allow: 1", [["allow", "1"]], '"1"'],
    ["an empty allow header", [["allow", ""]], '""'],
    ["allow: true,true (one header line, not two)", [["allow", "true,true"]], '"true,true"'],
    ["repeated allow headers, one false", [["allow", "true"], ["allow", "false"]], '"true", "false"'],
    ["repeated allow headers, the false one first", [["allow", "false"], ["allow", "true"], ["allow", "true"]], '"false", "true", "true"'],
    ["the value in another header", [["x-allow", "true"]], "absent"],
  ];
  for (const [label, extra, seen] of denials) {
    test(`denied: ${label}; the debug line shows ${seen}`, async () => {
      const host = await start();
      assertDenied(host, withHeaders(...extra), 403, DEFAULT_BODY);
      assert.deepEqual(pluginLogs(host), [[LogLevel.Debug, deniedLine("allow", seen, "true")]]);
    });
  }

  test("repeated allow headers that are all true pass", async () => {
    const host = await start();
    assertAllowed(host, withHeaders(["allow", "true"], ["allow", "true"]));
    assertAllowed(host, withHeaders(["allow", "true"], ["x-other", "1"], ["allow", "true"], ["allow", "true"]));
    assert.deepEqual(host.logs, []);
  });

  test("at logLevel Info the debug line is not emitted (no proxy_log call at all); raising the level shows it on the next stream", async () => {
    const host = await start(undefined, { logLevel: LogLevel.Info });
    assertDenied(host, BASE_REQUEST, 403, DEFAULT_BODY);
    assertDenied(host, withHeaders(["allow", "no"]), 403, DEFAULT_BODY);
    assert.deepEqual(host.logs, []);
    assert.equal(host.droppedLogCount, 0);

    host.setLogLevel(LogLevel.Debug);
    assertDenied(host, withHeaders(["allow", "no"]), 403, DEFAULT_BODY);
    assert.deepEqual(pluginLogs(host), [[LogLevel.Debug, deniedLine("allow", '"no"', "true")]]);
  });

  test("the debug line as Envoy prints it on the wasm logger", async () => {
    const host = await start();
    assertDenied(host, BASE_REQUEST, 403, DEFAULT_BODY);
    assert.deepEqual(
      host.logs.map((e) => e.formatted),
      [`wasm log ${ROOT_ID} ${ROOT_ID}: ${deniedLine("allow", "absent", "true")}`],
    );
  });

  test("a denied gRPC request gets Envoy's trailers-only reply: grpc-status 7 (PERMISSION_DENIED) and the body as grpc-message", async () => {
    const host = await start();
    const stream = host.newHttpStream();
    stream.sendRequestHeaders([[":method", "POST"], [":path", "/reviews.Reviews/Get"], [":authority", "reviews"], ["content-type", "application/grpc"]]);
    assert.equal(stream.request.headersForwarded, false);
    assert.equal(stream.localResponse?.status, 403);
    assert.deepEqual(stream.response.headers.pairs(), [
      [":status", "200"],
      ["content-type", "application/grpc"],
      ["grpc-status", "7"],
      ["grpc-message", DEFAULT_BODY],
    ]);
    assert.equal(stream.response.body.length, 0);
    assert.equal(stream.completed, true);
  });
});

describe("header-authorization: configuration", () => {
  test("the pluginConfig of wasmplugin.yaml is config.json, which spells out the defaults; pluginName is the registered root id", () => {
    const shipped = JSON.parse(plugin.configJson);
    assert.deepEqual(wasmPluginConfig(plugin.wasmPluginYaml), shipped);
    assert.deepEqual(shipped, { header: "allow", expectedValue: "true", status: 403, body: DEFAULT_BODY });
    assert.match(plugin.wasmPluginYaml, new RegExp(`^\\s*pluginName: ${ROOT_ID}$`, "m"));
  });

  for (const [label, config] of [
    ["empty (\"\")", ""],
    ["absent (no pluginConfig)", undefined],
    ["{}", "{}"],
    ["config.json", plugin.configJson],
  ] as const) {
    test(`${label}: the defaults (allow: true passes, anything else gets 403 "${DEFAULT_BODY}")`, async () => {
      const host = await start(config);
      assert.equal(host.state, "running");
      assertAllowed(host, withHeaders(["allow", "true"]));
      assertDenied(host, withHeaders(["allow", "yes"]), 403, DEFAULT_BODY);
      assert.deepEqual(pluginLogs(host), [[LogLevel.Debug, deniedLine("allow", '"yes"', "true")]]);
    });
  }

  test("works without a pluginName (root id \"\")", async () => {
    const host = await plugin.start({ logLevel: LogLevel.Debug });
    assertDenied(host, BASE_REQUEST, 403, DEFAULT_BODY);
    assertAllowed(host, withHeaders(["allow", "true"]));
  });

  test("custom header (any case), expected value, status 401 and body", async () => {
    const host = await start({ header: "X-Api-Key", expectedValue: "s3cr3t", status: 401, body: "missing or wrong API key" });
    assertAllowed(host, withHeaders(["x-api-key", "s3cr3t"]));
    assertDenied(host, withHeaders(["allow", "true"]), 401, "missing or wrong API key");
    assertDenied(host, withHeaders(["x-api-key", "S3CR3T"]), 401, "missing or wrong API key");
    assert.deepEqual(pluginLogs(host), [
      [LogLevel.Debug, deniedLine("X-Api-Key", "absent", "s3cr3t")],
      [LogLevel.Debug, deniedLine("X-Api-Key", '"S3CR3T"', "s3cr3t")],
    ]);
  });

  test("each field alone changes only itself", async () => {
    const status = await start({ status: 401 });
    assertDenied(status, BASE_REQUEST, 401, DEFAULT_BODY);
    assertAllowed(status, withHeaders(["allow", "true"]));

    const body = await start({ body: "go away" });
    assertDenied(body, BASE_REQUEST, 403, "go away");

    const header = await start({ header: "x-allow" });
    assertAllowed(header, withHeaders(["x-allow", "true"]));
    assertDenied(header, withHeaders(["allow", "true"]), 403, DEFAULT_BODY);

    const value = await start({ expectedValue: "yes please" });
    assertAllowed(value, withHeaders(["allow", "yes please"]));
    assertDenied(value, withHeaders(["allow", "true"]), 403, DEFAULT_BODY);

    // An empty expected value: only an empty header passes; an absent one is still denied.
    const empty = await start({ expectedValue: "" });
    assertAllowed(empty, withHeaders(["allow", ""]));
    assertDenied(empty, BASE_REQUEST, 403, DEFAULT_BODY);
    assertDenied(empty, withHeaders(["allow", "true"]), 403, DEFAULT_BODY);
  });

  test("an empty body gives a reply without body, content-length or content-type", async () => {
    const host = await start({ body: "" });
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders(BASE_REQUEST, true), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.deepEqual(stream.response.headers.pairs(), [[":status", "403"]]);
    assert.equal(stream.response.body.length, 0);
    assert.equal(stream.completed, true);
  });

  test("status boundaries: 200 and 599 are accepted and sent", async () => {
    assertDenied(await start({ status: 200 }), BASE_REQUEST, 200, DEFAULT_BODY);
    assertDenied(await start({ status: 599 }), BASE_REQUEST, 599, DEFAULT_BODY);
  });

  const STATUS = '"status" must be an HTTP status code from 200 to 599';
  const VALUE = '"expectedValue" is not a valid HTTP header value (CR, LF and control characters are not allowed)';
  const invalid: [string, string, string][] = [
    // not JSON
    ["YAML instead of JSON", "allow: true", "the configuration is not valid JSON: expected a value at line 1, column 1"],
    ["an unquoted string", '{"header": allow}', "the configuration is not valid JSON: expected a value at line 1, column 12"],
    ["a trailing comma", '{\n  "header": "allow",\n  "status": 403,\n}', "the configuration is not valid JSON: expected a field name in double quotes at line 4, column 1"],
    // not an object
    ["an array", '["allow"]', "the configuration must be a JSON object with the fields header, expectedValue, status, body, not array"],
    ["a string", '"allow"', "the configuration must be a JSON object with the fields header, expectedValue, status, body, not string"],
    ["a number", "403", "the configuration must be a JSON object with the fields header, expectedValue, status, body, not number"],
    ["null", "null", "the configuration must be a JSON object with the fields header, expectedValue, status, body, not null"],
    // unknown field
    ["a misspelt field", '{"headers": "allow"}', 'unknown field "headers" (the fields are header, expectedValue, status, body)'],
    ["a field in the wrong case", '{"expectedvalue": "true"}', 'unknown field "expectedvalue" (the fields are header, expectedValue, status, body)'],
    // status
    ["status as a string", '{"status": "403"}', STATUS],
    ["status not an integer", '{"status": 403.5}', STATUS],
    ["status 199", '{"status": 199}', STATUS],
    ["status 600", '{"status": 600}', STATUS],
    ["status 0", '{"status": 0}', STATUS],
    ["status negative", '{"status": -403}', STATUS],
    ["status null", '{"status": null}', STATUS],
    // header
    ["header with a space", '{"header": "x api key"}', '"header": "x api key" is not a valid HTTP header name'],
    ["header with a colon", '{"header": "x-api:key"}', '"header": "x-api:key" is not a valid HTTP header name'],
    ["a pseudo-header", '{"header": ":authority"}', '"header": ":authority" is not a valid HTTP header name'],
    ["an empty header", '{"header": ""}', '"header": "" is not a valid HTTP header name'],
    ["a non-ASCII header", '{"header": "clé"}', '"header": "clé" is not a valid HTTP header name'],
    ["header not a string", '{"header": 1}', '"header" must be a string, not number'],
    // expectedValue
    ["expectedValue with CR LF", '{"expectedValue": "true\\r\\nx-injected: 1"}', VALUE],
    ["expectedValue with LF", '{"expectedValue": "a\\nb"}', VALUE],
    ["expectedValue with CR", '{"expectedValue": "a\\rb"}', VALUE],
    ["expectedValue as an unquoted YAML true", '{"expectedValue": true}', '"expectedValue" must be a string, not boolean'],
    // body
    ["body a number", '{"body": 403}', '"body" must be a string, not number'],
    ["body null", '{"body": null}', '"body" must be a string, not null'],
    ["body an object", '{"body": {"message": "no"}}', '"body" must be a string, not object'],
    ["body an array", '{"body": ["no"]}', '"body" must be a string, not array'],
  ];
  for (const [label, config, problem] of invalid) {
    test(`rejected with one error line: ${label}`, async () => {
      await plugin.expectRejected({ rootId: ROOT_ID, pluginConfig: config }, `header-authorization: ${problem}`);
    });
  }
});

describe("header-authorization: memory", () => {
  /** Stream i: allowed, denied without the header, denied with a wrong value, or allowed twice-over, in turn. */
  function oneStream(host: Host, i: number): void {
    const stream = host.newHttpStream();
    const kind = i % 4;
    const extra: [string, string][] =
      kind === 0 ? [["allow", "true"]] : kind === 1 ? [] : kind === 2 ? [["allow", `no-${i}`]] : [["allow", "true"], ["allow", "true"]];
    stream.sendRequestHeaders(withHeaders(["x-request-id", `req-${i}`], ...extra), false);
    stream.sendRequestBody(`body ${i}`, true);
    const allowed = kind === 0 || kind === 3;
    assert.equal(stream.request.headersForwarded, allowed);
    if (allowed) {
      stream.sendResponseHeaders([[":status", "200"]]);
      stream.sendResponseBody(`response ${i}`, true);
    } else {
      assert.equal(stream.localResponse?.status, 403);
    }
    assert.equal(stream.completed, true);
  }

  for (const logLevel of [LogLevel.Info, LogLevel.Debug]) {
    test(`10,000 streams, mixed allowed and denied, at log level ${LogLevel[logLevel]}: memory does not grow after the leak check's warm-up (measureMemoryGrowth)`, async () => {
      const host = await start(plugin.configJson, { logLevel });
      const growth = measureMemoryGrowth(host, 10_000, oneStream);
      assert.equal(growth.grewBytes, 0, JSON.stringify(growth));
      // Half of the warm-up's 2,048 streams and of the 10,000 are denied.
      assert.equal(host.logsAt(LogLevel.Debug).length, logLevel === LogLevel.Debug ? 6024 : 0);
    });
  }

  test("1,000 streams open at once (allowed ones waiting for the upstream), ten times over: memory after the first round stays the same", async () => {
    const host = await start(plugin.configJson);
    const round = () => {
      const open: HttpStream[] = [];
      for (let i = 0; i < 1000; i++) {
        const stream = host.newHttpStream();
        stream.sendRequestHeaders(i % 2 === 0 ? withHeaders(["allow", "true"]) : BASE_REQUEST, true);
        open.push(stream);
      }
      for (const [i, stream] of open.entries()) {
        assert.equal(stream.completed, i % 2 === 1); // denied streams end at once
        if (!stream.completed) stream.sendResponseHeaders([[":status", "204"]], true);
        assert.equal(stream.completed, true);
      }
      return host.memoryBytes;
    };
    const baseline = round();
    const after = Array.from({ length: 10 }, round);
    assert.deepEqual(after, Array(10).fill(baseline));
  });
});

describe("header-authorization: cost", () => {
  test("an allowed request and a denied one each cost at most their budget (the cost meter)", async () => {
    const allowed = await start(undefined, { meterCost: true, logLevel: LogLevel.Info });
    assertCostPerRequest(allowed, (h) => {
      const stream = h.newHttpStream();
      stream.sendRequestHeaders(withHeaders(["allow", "true"]), true);
      stream.sendResponseHeaders([[":status", "200"]], true);
    }, { instructions: 940, hostCalls: 1 });
    const denied = await start(undefined, { meterCost: true, logLevel: LogLevel.Info });
    assertCostPerRequest(denied, (h) => h.newHttpStream().sendRequestHeaders(withHeaders(["allow", "false"]), true), { instructions: 1_430, hostCalls: 3 });
  });
});
