// basic-auth, release build, in the mock host: what a user of the filter relies on.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { FilterDataStatus, FilterHeadersStatus, LogLevel, measureMemoryGrowth, type Host, type HostOptions, type HttpStream } from "proxy-wasm-as";
import { assertCostPerRequest, example } from "../../test-support.js";

const plugin = example(new URL("../", import.meta.url));
const ROOT_ID = "basic-auth";
const CONFIG = JSON.parse(plugin.configJson) as object;
const CHALLENGE: [string, string] = ["www-authenticate", 'Basic realm="istio"'];
const MISSING = "basic_auth_missing_credentials";
const INVALID = "basic_auth_invalid_credentials";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const ADMIN3 = "Basic YWRtaW4zOmFkbWluMw=="; // admin3:admin3, configured as base64
const OK_TEST = `Basic ${b64("ok:test")}`; // configured as "ok:test"

const start = (pluginConfig: HostOptions["pluginConfig"] = CONFIG, options: HostOptions = {}) =>
  plugin.start({ rootId: ROOT_ID, logLevel: LogLevel.Debug, pluginConfig, ...options });

type Pairs = [string, string][];
function request(method: string, path: string, ...extra: Pairs): Pairs {
  return [[":authority", "bookinfo.example.com"], [":path", path], [":method", method], [":scheme", "https"], ["user-agent", "curl/8.5.0"], ...extra];
}
const withAuth = (method: string, path: string, authorization: string) => request(method, path, ["authorization", authorization]);

const pluginLogs = (host: Host) => host.logs.map((e) => [e.level, e.message]);
const deniedLine = (method: string, path: string, rule: string, reason: string) => `basic-auth: 401 for ${method} ${path} (rule ${rule}): ${reason}`;

/** Sends the request (and a body) and checks Envoy answered 401 with the challenge and nothing went upstream. */
function assertDenied(host: Host, headers: Pairs, details: string, challenge: [string, string] = CHALLENGE): HttpStream {
  const stream = host.newHttpStream();
  assert.equal(stream.sendRequestHeaders(headers), FilterHeadersStatus.StopAllIterationAndWatermark);
  assert.equal(stream.request.headersForwarded, false);
  assert.equal(stream.sendRequestBody("form=1", true), FilterDataStatus.StopIterationNoBuffer);
  assert.equal(stream.request.body.length, 0);
  const { headers: replyHeaders, ...reply } = stream.localResponse!;
  assert.deepEqual(reply, { status: 401, body: new Uint8Array(0), bodyText: "", details, generatedBy: "plugin" });
  assert.deepEqual(replyHeaders.pairs(), [[":status", "401"], challenge]);
  assert.deepEqual(stream.response.headers.pairs(), [[":status", "401"], challenge]);
  assert.equal(stream.responseCodeDetails, details);
  assert.equal(stream.completed, true);
  return stream;
}

/** Sends the request and checks it went upstream unchanged (Authorization included), then completes it. */
function assertPassed(host: Host, headers: Pairs): void {
  const stream = host.newHttpStream();
  assert.equal(stream.sendRequestHeaders(headers), FilterHeadersStatus.Continue);
  assert.equal(stream.request.headersForwarded, true);
  assert.deepEqual(stream.request.headers.pairs(), headers);
  assert.equal(stream.sendRequestBody("form=1", true), FilterDataStatus.Continue);
  assert.equal(stream.request.bodyText, "form=1");
  assert.equal(stream.sendResponseHeaders([[":status", "200"], ["content-type", "text/html"]], true), FilterHeadersStatus.Continue);
  assert.equal(stream.localResponse, undefined);
  assert.equal(stream.completed, true);
}

describe("basic-auth: the Istio example configuration (config.json)", () => {
  test("GET /productpage without credentials: 401 with WWW-Authenticate: Basic realm=\"istio\", an empty body, one debug line", async () => {
    const host = await start();
    assertDenied(host, request("GET", "/productpage"), MISSING);
    assert.deepEqual(pluginLogs(host), [[LogLevel.Debug, deniedLine("GET", "/productpage", 'prefix "/productpage"', "no Basic credentials")]]);
  });

  test("GET /productpage with Authorization: Basic YWRtaW4zOmFkbWluMw== (admin3:admin3, configured as base64) passes", async () => {
    const host = await start();
    assertPassed(host, withAuth("GET", "/productpage", ADMIN3));
    assert.deepEqual(pluginLogs(host), []);
  });

  test("a credential configured as user:password (ok:test) passes, for every configured method", async () => {
    const host = await start();
    assertPassed(host, withAuth("GET", "/productpage", OK_TEST));
    assertPassed(host, withAuth("POST", "/productpage", OK_TEST));
    assertPassed(host, withAuth("POST", "/productpage", ADMIN3));
  });

  test("the scheme is case-insensitive; spaces around the token and missing base64 padding are tolerated", async () => {
    const host = await start();
    assertPassed(host, withAuth("GET", "/productpage", "basic YWRtaW4zOmFkbWluMw=="));
    assertPassed(host, withAuth("GET", "/productpage", "BASIC YWRtaW4zOmFkbWluMw=="));
    assertPassed(host, withAuth("GET", "/productpage", "Basic   YWRtaW4zOmFkbWluMw=="));
    assertPassed(host, withAuth("GET", "/productpage", "Basic YWRtaW4zOmFkbWluMw"));
  });

  test("wrong password, unknown user, swapped case: 401 invalid credentials", async () => {
    const host = await start();
    for (const credential of ["admin3:admin4", "admin3:", "nobody:admin3", "Admin3:admin3", "ok:test ", "ok:tes"]) {
      assertDenied(host, withAuth("GET", "/productpage", `Basic ${b64(credential)}`), INVALID);
    }
    const reason = deniedLine("GET", "/productpage", 'prefix "/productpage"', "credentials not accepted");
    assert.deepEqual(pluginLogs(host), Array(6).fill([LogLevel.Debug, reason]));
  });

  test("a scheme other than Basic, or no token at all: 401 as without credentials", async () => {
    const host = await start();
    for (const authorization of ["Bearer YWRtaW4zOmFkbWluMw==", "YWRtaW4zOmFkbWluMw==", "Basic", "Basic\tYWRtaW4zOmFkbWluMw==", "Digest username=\"admin3\"", ""]) {
      assertDenied(host, withAuth("GET", "/productpage", authorization), MISSING);
    }
    // A password sent in clear, not base64-encoded, is not a Basic credential either.
    assertDenied(host, withAuth("GET", "/productpage", "Basic admin3:admin3"), INVALID);
  });

  test("malformed base64, or base64 of something that is not user:password: 401 invalid credentials", async () => {
    const host = await start();
    const tokens = [
      "Basic !!!!", // not the alphabet
      "Basic YWRtaW4zOmFkbWluMw==x", // data after the padding
      "Basic YWRtaW4zOmFkbWluM", // 1 mod 4 characters
      "Basic YWRtaW4zOmFkbWluMx==", // non-zero bits after the last byte
      "Basic YWRtaW4zOmFkbWluMw===", // too much padding
      "Basic YWRta W4zOmFkbWluMw==", // a space inside
      "Basic YWRtaW4zOmFkbWluMw-_", // the URL-safe alphabet
      `Basic ${b64("admin3admin3")}`, // no colon
      "Basic ", // empty token
    ];
    for (const authorization of tokens) assertDenied(host, withAuth("GET", "/productpage", authorization), INVALID);
  });

  test("unprotected paths and methods pass without credentials, and with wrong ones", async () => {
    const host = await start();
    assertPassed(host, request("GET", "/"));
    assertPassed(host, request("GET", "/static/bootstrap.css"));
    assertPassed(host, request("GET", "/api/v1/products"));
    assertPassed(host, withAuth("GET", "/health", "Basic bad"));
    // /productpage with a method the rule does not list
    assertPassed(host, request("PUT", "/productpage"));
    assertPassed(host, request("DELETE", "/productpage"));
    assertPassed(host, request("HEAD", "/productpage"));
    assertPassed(host, request("get", "/productpage")); // methods are case-sensitive
    assert.deepEqual(pluginLogs(host), []);
  });

  test("prefix: a string prefix of the path, the query string ignored", async () => {
    const host = await start();
    for (const path of ["/productpage", "/productpage/", "/productpage/reviews", "/productpage?u=normal", "/productpage#top", "/productpages"]) {
      assertDenied(host, request("GET", path), MISSING);
      assertPassed(host, withAuth("GET", path, ADMIN3));
    }
    assertPassed(host, request("GET", "/Productpage"));
    assertPassed(host, request("GET", "/v2/productpage"));
  });

  test("a denial's debug line shows the path without its query string, which can carry tokens", async () => {
    const host = await start();
    assertDenied(host, request("GET", "/productpage?token=s3cret#top"), MISSING);
    assert.deepEqual(pluginLogs(host), [[LogLevel.Debug, deniedLine("GET", "/productpage", 'prefix "/productpage"', "no Basic credentials")]]);
  });

  test("a prefix with ? or # in it is still compared with the path before the query string: it matches no request", async () => {
    const host = await start({ basic_auth_rules: [{ prefix: "/search?q=", request_methods: ["GET"], credentials: ["ok:test"] }] });
    assertPassed(host, request("GET", "/search?q=cats"));
    const fragment = await start({ basic_auth_rules: [{ prefix: "/docs#", request_methods: ["GET"], credentials: ["ok:test"] }] });
    assertPassed(fragment, request("GET", "/docs#intro"));
  });

  test("a gRPC request gets Envoy's trailers-only reply: grpc-status 16 (UNAUTHENTICATED)", async () => {
    const host = await start();
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(request("POST", "/productpage", ["content-type", "application/grpc"]), true);
    assert.equal(stream.localResponse?.status, 401);
    assert.deepEqual(stream.response.headers.pairs(), [
      [":status", "200"],
      CHALLENGE,
      ["content-type", "application/grpc"],
      ["grpc-status", "16"],
    ]);
  });

  test("at log level Info the filter makes no logging call", async () => {
    const host = await start(CONFIG, { logLevel: LogLevel.Info });
    assertDenied(host, request("GET", "/productpage"), MISSING);
    assertDenied(host, withAuth("GET", "/productpage", "Basic bad"), INVALID);
    assert.deepEqual(host.logs, []);
    assert.equal(host.droppedLogCount, 0);
  });

  test("the pluginConfig of wasmplugin.yaml is config.json; pluginName is the registered root id; phase AUTHN", () => {
    const resource = parseYaml(plugin.wasmPluginYaml) as { apiVersion: string; kind: string; spec: Record<string, unknown> };
    assert.equal(resource.apiVersion, "extensions.istio.io/v1alpha1");
    assert.equal(resource.kind, "WasmPlugin");
    assert.deepEqual(resource.spec.pluginConfig, CONFIG);
    assert.equal(resource.spec.pluginName, ROOT_ID);
    assert.equal(resource.spec.phase, "AUTHN");
  });
});

describe("basic-auth: rules", () => {
  const RULES = {
    basic_auth_rules: [
      { exact: "/admin", request_methods: ["GET", "POST", "DELETE"], credentials: ["root:s3cret"] },
      { suffix: ".json", request_methods: ["GET"], credentials: ["reader:r", "root:s3cret"] },
      { prefix: "/api/", request_methods: ["POST", "PUT", "PATCH"], credentials: ["writer:w:with:colons", "root:s3cret"] },
    ],
  };
  const ROOT = `Basic ${b64("root:s3cret")}`;
  const READER = `Basic ${b64("reader:r")}`;
  const WRITER = `Basic ${b64("writer:w:with:colons")}`;

  test("exact: only that path (with any query string)", async () => {
    const host = await start(RULES);
    for (const path of ["/admin", "/admin?tab=users"]) {
      assertDenied(host, request("GET", path), MISSING);
      assertDenied(host, withAuth("DELETE", path, READER), INVALID);
      assertPassed(host, withAuth("DELETE", path, ROOT));
    }
    for (const path of ["/admin/", "/admin/users", "/administrator", "/ADMIN"]) assertPassed(host, request("GET", path));
    assert.equal(host.logs[0]?.message, deniedLine("GET", "/admin", 'exact "/admin"', "no Basic credentials"));
  });

  test("suffix: paths ending with it (before the query string)", async () => {
    const host = await start(RULES);
    for (const path of ["/data/products.json", "/data/products.json?page=2", "/.json"]) {
      assertDenied(host, request("GET", path), MISSING);
      assertPassed(host, withAuth("GET", path, READER));
      assertPassed(host, withAuth("GET", path, ROOT));
    }
    assertPassed(host, request("GET", "/data/products.json/raw"));
    assertPassed(host, request("POST", "/data/products.json")); // GET only
  });

  test("a password may contain colons: the user ends at the first one", async () => {
    const host = await start(RULES);
    assertPassed(host, withAuth("PATCH", "/api/products/1", WRITER));
    assertDenied(host, withAuth("PATCH", "/api/products/1", `Basic ${b64("writer:w")}`), INVALID);
    assertPassed(host, request("GET", "/api/products/1"));
  });

  test("a request several rules protect needs credentials every one of them accepts", async () => {
    const host = await start(RULES);
    // /api/export.json with GET: only the suffix rule; with PUT: only the prefix rule.
    assertPassed(host, withAuth("GET", "/api/export.json", READER));
    assertPassed(host, withAuth("PUT", "/api/export.json", WRITER));
    const both = {
      basic_auth_rules: [
        { prefix: "/", request_methods: ["GET"], credentials: ["alice:a", "bob:b"] },
        { prefix: "/private", request_methods: ["GET"], credentials: ["alice:a"] },
      ],
    };
    const strict = await start(both);
    assertPassed(strict, withAuth("GET", "/private/x", `Basic ${b64("alice:a")}`));
    assertDenied(strict, withAuth("GET", "/private/x", `Basic ${b64("bob:b")}`), INVALID);
    assertPassed(strict, withAuth("GET", "/public", `Basic ${b64("bob:b")}`));
    assert.deepEqual(pluginLogs(strict), [[LogLevel.Debug, deniedLine("GET", "/private/x", 'prefix "/private"', "credentials not accepted")]]);
  });

  test("a custom realm goes into the challenge; UTF-8 credentials compare as UTF-8", async () => {
    const host = await start({ realm: "Bookinfo staff", basic_auth_rules: [{ prefix: "/", request_methods: ["GET"], credentials: ["jürgen:pässwört"] }] });
    assertDenied(host, request("GET", "/"), MISSING, ["www-authenticate", 'Basic realm="Bookinfo staff"']);
    assertPassed(host, withAuth("GET", "/", `Basic ${Buffer.from("jürgen:pässwört").toString("base64")}`));
    assertDenied(host, withAuth("GET", "/", `Basic ${Buffer.from("jürgen:pässwört", "latin1").toString("base64")}`), INVALID, [
      "www-authenticate",
      'Basic realm="Bookinfo staff"',
    ]);
  });
});

describe("basic-auth: rejected configurations", () => {
  const rule = (fields: object) => ({ basic_auth_rules: [{ prefix: "/", request_methods: ["GET"], credentials: ["a:b"], ...fields }] });
  const METHODS = "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH";
  const ONE_MATCH = 'must have exactly one of "prefix", "exact" and "suffix", not';
  const invalid: [string, string | object, string][] = [
    ["an empty configuration", "", 'the configuration is empty: it needs "basic_auth_rules"'],
    ["not JSON", "basic_auth_rules: []", "the configuration is not valid JSON: expected a value at line 1, column 1"],
    ["an array", "[]", "the configuration must be a JSON object with the fields basic_auth_rules, realm, not array"],
    ["a string", '"rules"', "the configuration must be a JSON object with the fields basic_auth_rules, realm, not string"],
    ["null", "null", "the configuration must be a JSON object with the fields basic_auth_rules, realm, not null"],
    ["an unknown field", { basic_auth_rule: [] }, 'unknown field "basic_auth_rule" (the fields are basic_auth_rules, realm)'],
    ["no rules field", {}, '"basic_auth_rules" is missing'],
    ["rules not a list", { basic_auth_rules: { prefix: "/" } }, '"basic_auth_rules" must be a list of rules, not object'],
    ["rules a string", { basic_auth_rules: "/productpage" }, '"basic_auth_rules" must be a list of rules, not string'],
    ["no rules", { basic_auth_rules: [] }, '"basic_auth_rules" is empty: the filter would protect nothing'],
    ["a rule not an object", { basic_auth_rules: ["/productpage"] }, "basic_auth_rules[0] must be an object with the fields prefix, exact, suffix, request_methods, credentials, not string"],
    ["a rule with prefix and exact", rule({ exact: "/x" }), `basic_auth_rules[0] ${ONE_MATCH} "prefix", "exact"`],
    ["a rule with all three matches", rule({ exact: "/x", suffix: "x" }), `basic_auth_rules[0] ${ONE_MATCH} "prefix", "exact", "suffix"`],
    [
      "a rule without a match",
      { basic_auth_rules: [{ prefix: "/", request_methods: ["GET"], credentials: ["a:b"] }, { request_methods: ["GET"], credentials: ["a:b"] }] },
      `basic_auth_rules[1] ${ONE_MATCH} none`,
    ],
    ["a match not a string", rule({ prefix: 1 }), "basic_auth_rules[0].prefix must be a non-empty string"],
    ["an empty match", rule({ prefix: "" }), "basic_auth_rules[0].prefix must be a non-empty string"],
    ["an unknown rule field", rule({ path: "/" }), 'basic_auth_rules[0]: unknown field "path" (the fields are prefix, exact, suffix, request_methods, credentials)'],
    ["no methods", { basic_auth_rules: [{ prefix: "/", credentials: ["a:b"] }] }, "basic_auth_rules[0].request_methods must be a non-empty list of HTTP methods"],
    ["methods empty", rule({ request_methods: [] }), "basic_auth_rules[0].request_methods must be a non-empty list of HTTP methods"],
    ["methods a string", rule({ request_methods: "GET" }), "basic_auth_rules[0].request_methods must be a non-empty list of HTTP methods"],
    ["an unknown method", rule({ request_methods: ["GET", "FETCH"] }), `basic_auth_rules[0].request_methods: "FETCH" is not an HTTP method (${METHODS})`],
    ["a lower-case method", rule({ request_methods: ["get"] }), `basic_auth_rules[0].request_methods: "get" is not an HTTP method (${METHODS})`],
    ["a method not a string", rule({ request_methods: ["GET", 1] }), "basic_auth_rules[0].request_methods[1] must be a string, not number"],
    ["no credentials", { basic_auth_rules: [{ prefix: "/", request_methods: ["GET"] }] }, 'basic_auth_rules[0].credentials must be a non-empty list of "user:password" or its base64'],
    ["credentials empty", rule({ credentials: [] }), 'basic_auth_rules[0].credentials must be a non-empty list of "user:password" or its base64'],
    ["a credential not a string", rule({ credentials: ["a:b", null] }), "basic_auth_rules[0].credentials[1] must be a string, not null"],
    ["a credential neither user:password nor base64", rule({ credentials: ["a:b", "admin3-admin3"] }), 'basic_auth_rules[0].credentials[1] is neither "user:password" nor the base64 of it'],
    ["base64 of a credential without a colon", rule({ credentials: [b64("admin3admin3")] }), 'basic_auth_rules[0].credentials[0] is neither "user:password" nor the base64 of it'],
    ["an empty credential", rule({ credentials: [""] }), 'basic_auth_rules[0].credentials[0] is neither "user:password" nor the base64 of it'],
    ["a realm with a quote", { ...rule({}), realm: 'say "hi"' }, '"realm" must be a non-empty string without quotes, backslashes or control characters'],
    ["a realm not a string", { ...rule({}), realm: 1 }, '"realm" must be a non-empty string without quotes, backslashes or control characters'],
  ];
  for (const [label, config, problem] of invalid) {
    test(`rejected with one error line: ${label}`, async () => {
      await plugin.expectRejected({ rootId: ROOT_ID, pluginConfig: config, logLevel: LogLevel.Debug }, `basic-auth: ${problem}`);
    });
  }

  test("the error line never repeats a credential", async () => {
    const host = await plugin.load({ rootId: ROOT_ID, pluginConfig: rule({ credentials: ["hunter2"] }) });
    assert.equal(host.start().ok, false);
    assert.equal(host.logs.length, 1);
    assert.doesNotMatch(host.logs[0]!.message, /hunter2/);
  });
});

describe("basic-auth: memory", () => {
  /** Stream i: passes with a credential, 401 without, 401 with a wrong one, or passes unprotected, in turn. */
  function oneStream(host: Host, i: number): void {
    const kind = i % 4;
    const headers =
      kind === 0 ? withAuth("GET", `/productpage?i=${i}`, ADMIN3)
      : kind === 1 ? request("GET", `/productpage/${i}`)
      : kind === 2 ? withAuth("POST", "/productpage", `Basic ${b64(`admin3:${i}`)}`)
      : request("GET", `/static/${i}.css`);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(headers, true);
    if (kind === 1 || kind === 2) {
      assert.equal(stream.localResponse?.status, 401);
    } else {
      assert.equal(stream.request.headersForwarded, true);
      stream.sendResponseHeaders([[":status", "200"]], true);
    }
    assert.equal(stream.completed, true);
  }

  for (const logLevel of [LogLevel.Info, LogLevel.Debug]) {
    test(`10,000 mixed streams at log level ${LogLevel[logLevel]}: memory does not grow after the leak check's warm-up (measureMemoryGrowth)`, async () => {
      const host = await start(CONFIG, { logLevel });
      const growth = measureMemoryGrowth(host, 10_000, oneStream);
      assert.equal(growth.grewBytes, 0, JSON.stringify(growth));
      // Half of the warm-up's 2,048 streams and of the 10,000 are refused.
      assert.equal(host.logsAt(LogLevel.Debug).length, logLevel === LogLevel.Debug ? 6024 : 0);
    });
  }

  test("1,000 streams open at once, twenty times over: memory after two warm-up rounds stays the same", async () => {
    const host = await start();
    const round = () => {
      const open: HttpStream[] = [];
      for (let i = 0; i < 1000; i++) {
        const stream = host.newHttpStream();
        stream.sendRequestHeaders(i % 2 === 0 ? withAuth("GET", "/productpage", ADMIN3) : request("GET", "/productpage"), true);
        open.push(stream);
      }
      for (const [i, stream] of open.entries()) {
        assert.equal(stream.completed, i % 2 === 1);
        if (!stream.completed) stream.sendResponseHeaders([[":status", "200"]], true);
      }
      return host.memoryBytes;
    };
    // Nothing is collected while all 1,000 are open: the first rounds set the high-water mark.
    round();
    const baseline = round();
    assert.deepEqual(Array.from({ length: 20 }, round), Array(20).fill(baseline));
  });
});

describe("basic-auth: cost", () => {
  test("an allowed request and a challenged one each cost at most their budget (the cost meter)", async () => {
    const exchange = (headers: Pairs) => (h: Host) => {
      const stream = h.newHttpStream();
      stream.sendRequestHeaders(headers, true);
      if (!stream.completed) stream.sendResponseHeaders([[":status", "200"]], true);
    };
    const allowed = await start(CONFIG, { meterCost: true, logLevel: LogLevel.Info });
    assertCostPerRequest(allowed, exchange(withAuth("GET", "/productpage", ADMIN3)), { instructions: 1_350, hostCalls: 3 });
    const challenged = await start(CONFIG, { meterCost: true, logLevel: LogLevel.Info });
    assertCostPerRequest(challenged, exchange(request("GET", "/productpage")), { instructions: 1_550, hostCalls: 5 });
  });
});
