// ext-authz, release build, in the mock host: the test plays the authorization service
// through host.httpCalls (respond, fail, or let the virtual clock time the call out).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import {
  FilterDataStatus, FilterHeadersStatus, LogLevel, measureMemoryGrowth, type Host, type HostOptions, type HttpCall, type HttpStream,
} from "proxy-wasm-as";
import { assertCostPerRequest, example } from "../../test-support.js";

const plugin = example(new URL("../", import.meta.url));
const ROOT_ID = "ext-authz";
const CONFIG = JSON.parse(plugin.configJson) as Record<string, unknown>;
const CLUSTER = "outbound|8000||ext-authz.auth.svc.cluster.local";
const AUTHORITY = "ext-authz.auth.svc.cluster.local";

const start = (pluginConfig: HostOptions["pluginConfig"] = CONFIG, options: HostOptions = {}) =>
  plugin.start({ rootId: ROOT_ID, logLevel: LogLevel.Debug, clusters: [CLUSTER], pluginConfig, ...options });

type Pairs = [string, string][];
const request = (path = "/productpage", ...extra: Pairs): Pairs => [
  [":authority", "bookinfo.example.com"],
  [":path", path],
  [":method", "GET"],
  [":scheme", "https"],
  ["user-agent", "curl/8.5.0"],
  ...extra,
];

const pluginLogs = (host: Host) => host.logs.filter((e) => e.origin === "plugin").map((e) => [e.level, e.message]);
const stats = (host: Host) => ({
  ok: host.metrics.value("ext_authz.ok"),
  denied: host.metrics.value("ext_authz.denied"),
  error: host.metrics.value("ext_authz.error"),
});

/** Sends request headers (no end of stream), checks the stream paused for exactly one new call, returns both. */
function paused(host: Host, headers: Pairs): { stream: HttpStream; call: HttpCall } {
  const before = host.httpCallHistory.length;
  const stream = host.newHttpStream();
  assert.equal(stream.sendRequestHeaders(headers), FilterHeadersStatus.StopAllIterationAndWatermark);
  assert.equal(stream.request.headersForwarded, false);
  assert.equal(host.httpCallHistory.length, before + 1);
  return { stream, call: host.httpCallHistory[before]! };
}

/** The stream ended with a local reply of `status`/`body`, and nothing reached the upstream. */
function assertReplied(stream: HttpStream, status: number, body: string, headers: Pairs, details: string): void {
  assert.equal(stream.localResponse?.status, status);
  assert.equal(stream.localResponse?.bodyText, body);
  assert.deepEqual(stream.response.headers.pairs(), headers);
  assert.equal(stream.responseCodeDetails, details);
  assert.equal(stream.request.headersForwarded, false);
  assert.equal(stream.completed, true);
}

describe("ext-authz: the configuration of config.json", () => {
  test("the call: the request's method, path_prefix + :path, the authority from the Istio cluster name, the configured headers only, 200 ms", async () => {
    const host = await start();
    const { call } = paused(host, request("/productpage?u=normal", ["authorization", "Bearer abc"], ["cookie", "session=1"], ["x-user", "ann"], ["x-forwarded-for", "10.0.0.1"]));
    assert.equal(call.cluster, CLUSTER);
    assert.deepEqual(call.headers.pairs(), [
      [":method", "GET"],
      [":path", "/check/productpage?u=normal"],
      [":authority", AUTHORITY],
      ["authorization", "Bearer abc"],
      ["x-user", "ann"],
    ]);
    assert.equal(call.bodyText, "");
    assert.equal(call.timeoutMs, 200);
    assert.equal(call.trailers, undefined);
  });

  test("headers passed on are exactly the configured ones: absent ones are left out, repeated ones keep every value", async () => {
    const host = await start();
    const none = paused(host, request("/", ["x-other", "1"])).call;
    assert.deepEqual(none.headers.pairs(), [[":method", "GET"], [":path", "/check/"], [":authority", AUTHORITY]]);
    const repeated = paused(host, request("/", ["x-user", "ann"], ["X-User", "bob"])).call;
    assert.deepEqual(repeated.headers.pairs().slice(3), [["x-user", "ann"], ["x-user", "bob"]]);
  });

  test("200: the request goes upstream with the configured header of the answer (replacing the client's), and its body follows", async () => {
    const host = await start();
    const { stream, call } = paused(host, request("/productpage", ["x-user", "ann"], ["x-auth-user", "spoofed"]));
    // Envoy holds the body while the headers wait.
    assert.equal(stream.sendRequestBody("form=1", true), FilterDataStatus.StopIterationAndWatermark);
    assert.equal(stream.request.body.length, 0);
    call.respond({ status: 200, headers: { "x-auth-user": "ann@example.com", "x-internal": "not copied" }, body: "ok" });
    assert.equal(stream.request.headersForwarded, true);
    assert.deepEqual(stream.request.headers.pairs(), [...request("/productpage", ["x-user", "ann"]), ["x-auth-user", "ann@example.com"]]);
    assert.equal(stream.request.bodyText, "form=1");
    assert.equal(stream.localResponse, undefined);
    stream.sendResponseHeaders([[":status", "200"]], true);
    assert.equal(stream.completed, true);
    assert.deepEqual(stats(host), { ok: 1n, denied: 0n, error: 0n });
    assert.deepEqual(pluginLogs(host), []);
  });

  test("any 2xx allows; an answer without the upstream header leaves the request as it was", async () => {
    const host = await start();
    for (const status of [200, 204, 299]) {
      const { stream, call } = paused(host, request("/", ["x-auth-user", "client"]));
      call.respond({ status });
      assert.equal(stream.request.headersForwarded, true);
      assert.deepEqual(stream.request.headers.pairs(), request("/", ["x-auth-user", "client"]));
    }
    assert.deepEqual(stats(host), { ok: 3n, denied: 0n, error: 0n });
  });

  test("403: the client gets the service's status and body, with only the configured client headers", async () => {
    const host = await start();
    const { stream, call } = paused(host, request());
    call.respond({ status: 403, body: "user ann may not see /productpage", headers: { "www-authenticate": 'Bearer error="insufficient_scope"', "x-internal": "secret" } });
    assertReplied(stream, 403, "user ann may not see /productpage", [
      [":status", "403"],
      ["www-authenticate", 'Bearer error="insufficient_scope"'],
      ["content-length", "33"],
      ["content-type", "text/plain"],
    ], "ext_authz_denied");
    assert.equal(stream.sendRequestBody("late body", true), FilterDataStatus.StopIterationNoBuffer);
    assert.deepEqual(stats(host), { ok: 0n, denied: 1n, error: 0n });
    assert.deepEqual(pluginLogs(host), [[LogLevel.Debug, "ext-authz: denied: the service answered 403"]]);
  });

  test("401, 302 and 429 go back as they are; an empty body gives a reply without one", async () => {
    const host = await start();
    const answers = [
      { status: 401, body: "" },
      { status: 302, body: "" },
      { status: 429, body: "slow down" },
    ];
    const pending = answers.map(() => paused(host, request()));
    answers.forEach((answer, i) => pending[i]!.call.respond(answer));
    assertReplied(pending[0]!.stream, 401, "", [[":status", "401"]], "ext_authz_denied");
    assertReplied(pending[1]!.stream, 302, "", [[":status", "302"]], "ext_authz_denied");
    assertReplied(pending[2]!.stream, 429, "slow down", [[":status", "429"], ["content-length", "9"], ["content-type", "text/plain"]], "ext_authz_denied");
    assert.deepEqual(stats(host), { ok: 0n, denied: 3n, error: 0n });
  });

  test("a reset callout (fail()) fails closed: 403 without a body, ext_authz_error", async () => {
    const host = await start();
    const { stream, call } = paused(host, request());
    call.fail();
    assertReplied(stream, 403, "", [[":status", "403"]], "ext_authz_error");
    assert.deepEqual(stats(host), { ok: 0n, denied: 0n, error: 1n });
    assert.deepEqual(pluginLogs(host), [[LogLevel.Debug, "ext-authz: failing closed with 403: the call failed (BrokenConnection)"]]);
  });

  test("the timeout: nothing before 200 ms; at 200 ms Envoy's 504 fails closed with 403", async () => {
    const host = await start();
    const { stream, call } = paused(host, request());
    host.advanceTime(199);
    assert.equal(call.state, "pending");
    assert.equal(stream.localResponse, undefined);
    host.advanceTime(1);
    assert.equal(call.state, "timedOut");
    assertReplied(stream, 403, "", [[":status", "403"]], "ext_authz_error");
    assert.deepEqual(stats(host), { ok: 0n, denied: 0n, error: 1n });
    assert.deepEqual(pluginLogs(host), [[LogLevel.Debug, "ext-authz: failing closed with 403: the service answered 504"]]);
  });

  test("a 5xx from the service is its failure, not a verdict: 403, its body is not shown", async () => {
    const host = await start();
    for (const status of [500, 503]) {
      const { stream, call } = paused(host, request());
      call.respond({ status, body: "stack trace" });
      assertReplied(stream, 403, "", [[":status", "403"]], "ext_authz_error");
    }
    assert.deepEqual(stats(host), { ok: 0n, denied: 0n, error: 2n });
  });

  test("many concurrent streams answered out of order: each answer resumes or denies the stream that asked", async () => {
    const host = await start();
    const users = Array.from({ length: 50 }, (_, i) => `user-${i}`);
    const pending = users.map((user) => paused(host, request(`/orders/${user}`, ["x-user", user])));
    assert.equal(host.httpCalls.length, 50);
    // Answer in a scrambled order: users whose number is divisible by 3 are denied.
    const order = users.map((_, i) => (i * 17) % 50);
    assert.equal(new Set(order).size, 50);
    for (const i of order) {
      const { call } = pending[i]!;
      const user = call.headers.get("x-user")!;
      assert.equal(call.headers.get(":path"), `/check/orders/${user}`);
      if (i % 3 === 0) call.respond({ status: 403, body: `no orders for ${user}` });
      else call.respond({ status: 200, headers: { "x-auth-user": `${user}@example.com` } });
    }
    pending.forEach(({ stream }, i) => {
      if (i % 3 === 0) {
        assert.equal(stream.localResponse?.bodyText, `no orders for user-${i}`);
      } else {
        assert.equal(stream.request.headersForwarded, true);
        assert.equal(stream.request.headers.get("x-auth-user"), `user-${i}@example.com`);
        assert.equal(stream.request.headers.get(":path"), `/orders/user-${i}`);
      }
    });
    assert.deepEqual(stats(host), { ok: 33n, denied: 17n, error: 0n });
    assert.equal(host.failure, undefined);
  });

  test("a client gone before the answer: the late answer is ignored, the next stream is unaffected", async () => {
    const host = await start();
    const gone = paused(host, request());
    gone.stream.end();
    assert.equal(gone.stream.completed, true);
    const next = paused(host, request());
    gone.call.respond({ status: 200 });
    next.call.respond({ status: 200 });
    assert.equal(next.stream.request.headersForwarded, true);
    assert.equal(host.failure, undefined);
    assert.deepEqual(stats(host), { ok: 1n, denied: 0n, error: 0n });
  });

  test("the pluginConfig of wasmplugin.yaml is config.json; pluginName is the registered root id; phase AUTHZ", () => {
    const resource = parseYaml(plugin.wasmPluginYaml) as { apiVersion: string; kind: string; spec: Record<string, unknown> };
    assert.equal(resource.apiVersion, "extensions.istio.io/v1alpha1");
    assert.equal(resource.kind, "WasmPlugin");
    assert.deepEqual(resource.spec.pluginConfig, CONFIG);
    assert.equal(resource.spec.pluginName, ROOT_ID);
    assert.equal(resource.spec.phase, "AUTHZ");
  });
});

describe("ext-authz: other configurations", () => {
  test("minimal: a plain cluster name is the authority; no prefix, no headers passed on or copied; 503 on errors", async () => {
    const host = await start({ cluster: "authz", status_on_error: 503 }, { clusters: ["authz"] });
    const allowed = paused(host, request("/a", ["authorization", "Bearer x"]));
    assert.deepEqual(allowed.call.headers.pairs(), [[":method", "GET"], [":path", "/a"], [":authority", "authz"]]);
    allowed.call.respond({ status: 200, headers: { "x-auth-user": "ann" } });
    assert.deepEqual(allowed.stream.request.headers.pairs(), request("/a", ["authorization", "Bearer x"]));
    const denied = paused(host, request());
    denied.call.respond({ status: 401, headers: { "www-authenticate": "Bearer" } });
    assertReplied(denied.stream, 401, "", [[":status", "401"]], "ext_authz_denied");
    const failed = paused(host, request());
    failed.call.fail();
    assertReplied(failed.stream, 503, "", [[":status", "503"]], "ext_authz_error");
  });

  test("explicit authority and timeout; header names in any case; the method is passed on", async () => {
    const host = await start({ cluster: CLUSTER, authority: "authz.internal:8000", timeout_ms: 50, request_headers: ["X-User"] });
    const post = request("/orders", ["x-user", "ann"]).map(([k, v]): [string, string] => (k === ":method" ? [k, "POST"] : [k, v]));
    const { stream, call } = paused(host, post);
    assert.deepEqual(call.headers.pairs(), [[":method", "POST"], [":path", "/orders"], [":authority", "authz.internal:8000"], ["x-user", "ann"]]);
    assert.equal(call.timeoutMs, 50);
    host.advanceTime(50);
    assertReplied(stream, 403, "", [[":status", "403"]], "ext_authz_error");
  });

  test("a cluster Envoy does not know: every request fails closed at once, with one warning for the configuration", async () => {
    const host = await start({ cluster: "outbound|8000||typo.auth.svc.cluster.local" }, { logLevel: LogLevel.Info });
    for (let i = 0; i < 3; i++) {
      const stream = host.newHttpStream();
      assert.equal(stream.sendRequestHeaders(request(), true), FilterHeadersStatus.StopAllIterationAndWatermark);
      assertReplied(stream, 403, "", [[":status", "403"]], "ext_authz_error");
    }
    assert.equal(host.httpCalls.length, 0);
    assert.deepEqual(pluginLogs(host), [
      [LogLevel.Warn, 'ext-authz: Envoy refused the call to cluster "outbound|8000||typo.auth.svc.cluster.local" (BadArgument: no such cluster?); requests fail closed with 403 (logged once)'],
    ]);
    // The mock host's own line, once per refused call, says how a test declares the cluster.
    const hostWarnings = host.logs.filter((e) => e.origin === "host").map((e) => e.message);
    assert.equal(hostWarnings.length, 3);
    assert.ok(hostWarnings.every((m) => m.includes('host.addCluster("outbound|8000||typo.auth.svc.cluster.local")')), hostWarnings.join("\n"));
    assert.deepEqual(stats(host), { ok: 0n, denied: 0n, error: 3n });
  });

  const FIELDS = "cluster, authority, path_prefix, timeout_ms, request_headers, upstream_headers, client_headers, status_on_error";
  const invalid: [string, string | object, string][] = [
    ["an empty configuration", "", 'the configuration is empty: it needs at least "cluster"'],
    ["not JSON", "cluster: authz", "the configuration is not valid JSON: expected a value at line 1, column 1"],
    ["an array", '["authz"]', `the configuration must be a JSON object with the fields ${FIELDS}, not array`],
    ["no cluster", { path_prefix: "/check" }, '"cluster" is missing: name the Envoy cluster of the authorization service'],
    ["an empty cluster", { cluster: "" }, '"cluster" must not be empty'],
    ["a cluster not a string", { cluster: 8000 }, '"cluster" must be a string, not number'],
    ["an unknown field", { cluster: "a", timeout: 200 }, `unknown field "timeout" (the fields are ${FIELDS})`],
    ["a path_prefix without a leading slash", { cluster: "a", path_prefix: "check" }, '"path_prefix" must start with "/" and have no "?", "#", spaces or control characters'],
    ["a path_prefix with a query", { cluster: "a", path_prefix: "/check?x=1" }, '"path_prefix" must start with "/" and have no "?", "#", spaces or control characters'],
    ["an authority with a slash", { cluster: "a", authority: "authz/check" }, '"authority": "authz/check" is not a host name (with an optional port)'],
    ["a timeout of 0", { cluster: "a", timeout_ms: 0 }, '"timeout_ms" must be a whole number of milliseconds from 1 to 60000'],
    ["a timeout as a string", { cluster: "a", timeout_ms: "200ms" }, '"timeout_ms" must be a whole number of milliseconds from 1 to 60000'],
    ["a fractional timeout", { cluster: "a", timeout_ms: 0.5 }, '"timeout_ms" must be a whole number of milliseconds from 1 to 60000'],
    ["status_on_error 100", { cluster: "a", status_on_error: 100 }, '"status_on_error" must be an HTTP status code from 200 to 599'],
    ["request_headers a string", { cluster: "a", request_headers: "authorization" }, '"request_headers" must be a list of header names, not string'],
    ["a header name with a space", { cluster: "a", upstream_headers: ["x user"] }, '"upstream_headers": "x user" is not a valid HTTP header name'],
    ["a pseudo-header", { cluster: "a", request_headers: [":path"] }, '"request_headers": ":path" is not a valid HTTP header name'],
    ["a header name not a string", { cluster: "a", client_headers: ["location", 1] }, '"client_headers"[1] must be a string, not number'],
  ];
  for (const [label, config, problem] of invalid) {
    test(`rejected with one error line: ${label}`, async () => {
      await plugin.expectRejected({ rootId: ROOT_ID, pluginConfig: config, logLevel: LogLevel.Debug }, `ext-authz: ${problem}`);
    });
  }
});

describe("ext-authz: memory", () => {
  /** Stream i, its callout answered: allowed, denied, failed or timed out, in turn. */
  function oneStream(host: Host, i: number): void {
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(request(`/p/${i}`, ["authorization", `Bearer ${i}`], ["x-user", `u${i}`]), true);
    const call = host.httpCalls[0]!;
    const kind = i % 4;
    if (kind === 0) call.respond({ status: 200, headers: { "x-auth-user": `u${i}` } });
    else if (kind === 1) call.respond({ status: 403, body: `denied ${i}` });
    else if (kind === 2) call.fail();
    else host.advanceTime(200);
    if (kind === 0) stream.sendResponseHeaders([[":status", "200"]], true);
    assert.equal(stream.completed, true);
  }

  test("10,000 streams with their callouts: memory does not grow after the leak check's warm-up (measureMemoryGrowth)", async () => {
    const host = await start(CONFIG, { logLevel: LogLevel.Info });
    const growth = measureMemoryGrowth(host, 10_000, oneStream);
    assert.equal(growth.grewBytes, 0, JSON.stringify(growth));
    // The warm-up's 2,048 streams and the 10,000, a quarter allowed, a quarter denied.
    assert.deepEqual(stats(host), { ok: 3012n, denied: 3012n, error: 6024n });
  });

  test("1,000 streams waiting for their answers at once, answered in reverse, ten times over: memory stays the same after two rounds", async () => {
    const host = await start(CONFIG, { logLevel: LogLevel.Info });
    const round = () => {
      const open = Array.from({ length: 1000 }, (_, i) => {
        const stream = host.newHttpStream();
        stream.sendRequestHeaders(request(`/p/${i}`, ["x-user", `u${i}`]), true);
        return stream;
      });
      const calls = host.httpCalls.reverse();
      calls.forEach((call, i) => (i % 2 === 0 ? call.respond({ status: 200 }) : call.respond({ status: 403, body: "no" })));
      for (const stream of open) if (!stream.completed) stream.sendResponseHeaders([[":status", "200"]], true);
      assert.ok(open.every((s) => s.completed));
      return host.memoryBytes;
    };
    round();
    const baseline = round();
    assert.deepEqual(Array.from({ length: 10 }, round), Array(10).fill(baseline));
  });
});

describe("ext-authz: cost", () => {
  test("a request the service allows costs at most its budget, the callout and its answer included (the cost meter)", async () => {
    const host = await start(CONFIG, { meterCost: true, logLevel: LogLevel.Info });
    assertCostPerRequest(host, (h) => {
      const stream = h.newHttpStream();
      stream.sendRequestHeaders(request("/productpage", ["authorization", "Bearer abc"], ["x-user", "ann"]), true);
      h.httpCallHistory.at(-1)!.respond({ status: 200, headers: { "x-auth-user": "ann@example.com" } });
      stream.sendResponseHeaders([[":status", "200"]], true);
    }, { instructions: 8_100, hostCalls: 12 });
  });
});
