// grpc-ext-authz, release build, in the mock host: the test plays the gRPC authorization
// service through host.grpcCalls, with Envoy's real message layout (the protos in ../proto,
// read with @grpc/proto-loader): it decodes the plugin's CheckRequest and encodes CheckResponses.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { FilterHeadersStatus, GrpcStatus, LogLevel, type GrpcCall, type Host, type HostOptions, type HttpStream } from "proxy-wasm-as";
import { assertCostPerRequest, example } from "../../test-support.js";
import { authorizationService } from "./authorization-service.js";

const plugin = example(new URL("../", import.meta.url));
const ROOT_ID = "grpc-ext-authz";
const CONFIG = JSON.parse(plugin.configJson) as Record<string, unknown>;
const CLUSTER = "outbound|9000||ext-authz-grpc.auth.svc.cluster.local";

const CHECK = authorizationService().Check!;
const decodeCheckRequest = (bytes: Uint8Array) => CHECK.requestDeserialize(Buffer.from(bytes)) as CheckRequest;
const encodeCheckResponse = (response: object) => new Uint8Array(CHECK.responseSerialize(response));

interface CheckRequest {
  attributes: {
    source: { address: { socket_address: { address: string; port_value: number } } } | null;
    destination: { address: { socket_address: { address: string; port_value: number } } } | null;
    request: { time: { seconds: string; nanos: number }; http: { id: string; method: string; headers: Record<string, string>; path: string; host: string; scheme: string; size: string; protocol: string } };
    context_extensions: Record<string, string>;
  };
}

const start = (pluginConfig: HostOptions["pluginConfig"] = CONFIG, options: HostOptions = {}) =>
  plugin.start({ rootId: ROOT_ID, logLevel: LogLevel.Debug, clusters: [CLUSTER], pluginConfig, ...options });

type Pairs = [string, string][];
const request = (path = "/productpage", ...extra: Pairs): Pairs => [
  [":authority", "bookinfo.example.com"],
  [":path", path],
  [":method", "GET"],
  [":scheme", "https"],
  ["x-request-id", "req-1"],
  ...extra,
];

const stats = (host: Host) => ({
  ok: host.metrics.value("ext_authz.ok"),
  denied: host.metrics.value("ext_authz.denied"),
  error: host.metrics.value("ext_authz.error"),
  failureModeAllowed: host.metrics.value("ext_authz.failure_mode_allowed"),
});

function paused(host: Host, headers: Pairs, endOfStream = true): { stream: HttpStream; call: GrpcCall } {
  const before = host.grpcCallHistory.length;
  const stream = host.newHttpStream({ sourceAddress: "10.1.2.3:51000", destinationAddress: "10.9.8.7:9080", protocol: "HTTP/2" });
  assert.equal(stream.sendRequestHeaders(headers, endOfStream), FilterHeadersStatus.StopAllIterationAndWatermark);
  assert.equal(host.grpcCallHistory.length, before + 1);
  return { stream, call: host.grpcCallHistory[before]! };
}

const allow = (ok: object = {}) => encodeCheckResponse({ status: { code: 0 }, ok_response: ok });
const deny = (code: number, denied?: object) => encodeCheckResponse({ status: { code, message: "no" }, ...(denied ? { denied_response: denied } : {}) });
const option = (key: string, value: string, extra: object = {}) => ({ header: { key, value }, ...extra });

describe("grpc-ext-authz: the Check call", () => {
  test("Envoy's Authorization/Check on the configured cluster with the timeout; the CheckRequest as Envoy's ext_authz fills it", async () => {
    const host = await start();
    const { call } = paused(host, request("/productpage?u=1", ["cookie", "a=1"], ["x-user", "ann"], ["x-user", "bob"]));
    assert.equal(call.cluster, CLUSTER);
    assert.equal(call.serviceName, "envoy.service.auth.v3.Authorization");
    assert.equal(call.methodName, "Check");
    assert.equal(call.timeoutMs, 200);
    const check = decodeCheckRequest(call.message);
    const http = check.attributes.request.http;
    assert.equal(http.id, "req-1");
    assert.equal(http.method, "GET");
    assert.equal(http.path, "/productpage?u=1");
    assert.equal(http.host, "bookinfo.example.com");
    assert.equal(http.scheme, "https");
    assert.equal(http.protocol, "HTTP/2");
    assert.equal(http.size, "0", "a request that ends with its headers has size 0");
    assert.equal(http.headers["x-user"], "ann,bob", "repeated headers merged with ',' as Envoy does");
    assert.equal(http.headers[":path"], "/productpage?u=1");
    assert.equal(http.headers.cookie, "a=1");
    const source = check.attributes.source?.address.socket_address;
    assert.deepEqual([source?.address, source?.port_value], ["10.1.2.3", 51000]);
    assert.equal(check.attributes.destination?.address.socket_address.port_value, 9080);
    assert.deepEqual(check.attributes.context_extensions, { virtual_host: "productpage" });
    assert.ok(Number(check.attributes.request.time.seconds) > 0, "the request time");
  });

  test("the size is the content-length, or -1 when a body of unknown length follows", async () => {
    const host = await start();
    const sized = paused(host, request("/upload", ["content-length", "42"]), false);
    assert.equal(decodeCheckRequest(sized.call.message).attributes.request.http.size, "42");
    const unknown = paused(host, request("/upload", ["transfer-encoding", "chunked"]), false);
    assert.equal(decodeCheckRequest(unknown.call.message).attributes.request.http.size, "-1");
  });
});

describe("grpc-ext-authz: the answer", () => {
  test("OK resumes the request with the answer's header changes: set, append, add-if-absent, removals (never pseudo-headers or host)", async () => {
    const host = await start();
    const { stream, call } = paused(host, request("/", ["x-user", "forged"], ["x-keep", "1"], ["authorization", "Bearer t"]));
    call.respond(
      allow({
        headers: [option("x-user", "ann"), option("x-tag", "a", { append: { value: true } }), option("x-keep", "2", { append_action: 1 }), option("x-new", "1", { append_action: 1 })],
        headers_to_remove: ["Authorization", ":path", "host"],
      }),
    );
    assert.equal(stream.request.headersForwarded, true);
    const headers = stream.request.headers;
    assert.equal(headers.get("x-user"), "ann", "the service's value replaces a forged one");
    assert.equal(headers.get("x-tag"), "a");
    assert.equal(headers.get("x-keep"), "1", "ADD_IF_ABSENT leaves a present header");
    assert.equal(headers.get("x-new"), "1");
    assert.equal(headers.get("authorization"), undefined);
    assert.equal(headers.get(":path"), "/", "pseudo-headers are not removed");
    assert.deepEqual(stats(host), { ok: 1n, denied: 0n, error: 0n, failureModeAllowed: 0n });
  });

  test("OK with response_headers_to_add: the headers go on the response", async () => {
    const host = await start();
    const { stream, call } = paused(host, request());
    call.respond(allow({ response_headers_to_add: [option("x-authz", "checked")] }));
    stream.sendResponseHeaders([[":status", "200"]], true);
    assert.equal(stream.response.headers.get("x-authz"), "checked");
  });

  test("a denial answers the client with the service's status, headers and body", async () => {
    const host = await start();
    const { stream, call } = paused(host, request());
    call.respond(deny(GrpcStatus.Unauthenticated, { status: { code: 401 }, headers: [option("www-authenticate", "Bearer realm=\"bookinfo\"")], body: "log in first" }));
    assert.equal(stream.localResponse?.status, 401);
    assert.equal(stream.localResponse?.bodyText, "log in first");
    assert.equal(stream.response.headers.get("www-authenticate"), "Bearer realm=\"bookinfo\"");
    assert.equal(stream.responseCodeDetails, "ext_authz_denied");
    assert.equal(stream.request.headersForwarded, false);
    assert.deepEqual(stats(host), { ok: 0n, denied: 1n, error: 0n, failureModeAllowed: 0n });
  });

  test("a denial without a denied_response is 403 with no body; a gRPC request gets it trailers-only (grpc-status 7)", async () => {
    const host = await start();
    const plain = paused(host, request());
    plain.call.respond(deny(GrpcStatus.PermissionDenied));
    assert.equal(plain.stream.localResponse?.status, 403);
    assert.equal(plain.stream.localResponse?.bodyText, "");
    const grpc = paused(host, [[":authority", "api"], [":path", "/shop.Cart/Add"], [":method", "POST"], [":scheme", "http"], ["content-type", "application/grpc"]], false);
    grpc.call.respond(deny(GrpcStatus.PermissionDenied));
    assert.equal(grpc.stream.response.headers.get(":status"), "200");
    assert.equal(grpc.stream.response.headers.get("grpc-status"), "7");
    assert.equal(grpc.stream.response.endStreamForwarded, true);
  });

  test("a failed call, the timeout and a malformed answer fail closed with status_on_error (403), details ext_authz_error", async () => {
    const host = await start();
    const failed = paused(host, request());
    failed.call.fail(GrpcStatus.Unavailable, "no healthy upstream");
    assert.equal(failed.stream.localResponse?.status, 403);
    assert.equal(failed.stream.responseCodeDetails, "ext_authz_error");
    const slow = paused(host, request());
    host.advanceTime(199);
    assert.equal(slow.stream.localResponse?.status, undefined, "nothing at 199 ms");
    host.advanceTime(1);
    assert.equal(slow.stream.localResponse?.status, 403, "403 at 200 ms");
    const malformed = paused(host, request());
    malformed.call.respond(new Uint8Array([0x0a, 0x05, 0x08]));
    assert.equal(malformed.stream.localResponse?.status, 403);
    assert.deepEqual(stats(host), { ok: 0n, denied: 0n, error: 3n, failureModeAllowed: 0n });
    assert.ok(host.logs.some((e) => e.message === "grpc-ext-authz: failing closed with 403: the call failed: 14 no healthy upstream"));
  });

  test("failure_mode_allow: a failed call lets the request go on, marked x-envoy-auth-failure-mode-allowed", async () => {
    const host = await start({ ...CONFIG, failure_mode_allow: true, status_on_error: 503 });
    const { stream, call } = paused(host, request());
    call.fail(GrpcStatus.DeadlineExceeded, "too slow");
    assert.equal(stream.request.headersForwarded, true);
    assert.equal(stream.request.headers.get("x-envoy-auth-failure-mode-allowed"), "true");
    assert.deepEqual(stats(host), { ok: 0n, denied: 0n, error: 0n, failureModeAllowed: 1n });
  });

  test("a cluster Envoy does not know fails closed at once, with one warning per configuration", async () => {
    const host = await start({ ...CONFIG, cluster: "typo" });
    for (let i = 0; i < 3; i++) {
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(request(), true);
      assert.equal(stream.localResponse?.status, 403);
    }
    const warnings = host.logs.filter((e) => e.origin === "plugin" && e.level === LogLevel.Warn);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /^grpc-ext-authz: Envoy refused the call to cluster "typo" \(InternalFailure\); requests fail closed with 403 \(logged once\)$/);
  });

  test("answers in a scrambled order each reach their own stream", async () => {
    const host = await start();
    const pending = Array.from({ length: 20 }, (_, i) => paused(host, request(`/item/${i}`)));
    for (const [i, { call }] of [...pending.entries()].reverse()) call.respond(i % 2 === 0 ? allow() : deny(GrpcStatus.PermissionDenied));
    for (const [i, { stream }] of pending.entries()) {
      if (i % 2 === 0) assert.equal(stream.request.headersForwarded, true, `stream ${i} allowed`);
      else assert.equal(stream.localResponse?.status, 403, `stream ${i} denied`);
    }
  });
});

describe("grpc-ext-authz: configuration", () => {
  test("the pluginConfig of wasmplugin.yaml is config.json; pluginName is the registered root id; phase AUTHZ", () => {
    const resource = parseYaml(plugin.wasmPluginYaml) as { apiVersion: string; kind: string; spec: Record<string, unknown> };
    assert.equal(resource.kind, "WasmPlugin");
    assert.deepEqual(resource.spec.pluginConfig, CONFIG);
    assert.equal(resource.spec.pluginName, ROOT_ID);
    assert.equal(resource.spec.phase, "AUTHZ");
  });

  for (const [config, problem] of [
    ["", 'the configuration is empty: it needs at least "cluster"'],
    [{ timeout_ms: 100 }, '"cluster" is missing: name the Envoy cluster of the gRPC authorization service'],
    [{ cluster: "c", timeout: 5 }, 'unknown field "timeout" (the fields are cluster, timeout_ms, status_on_error, failure_mode_allow, context_extensions)'],
    [{ cluster: "c", timeout_ms: 0 }, '"timeout_ms" must be a whole number of milliseconds from 1 to 60000'],
    [{ cluster: "c", failure_mode_allow: "yes" }, '"failure_mode_allow" must be a boolean, not string'],
    [{ cluster: "c", context_extensions: { a: 1 } }, 'context_extensions.a must be a string, not number'],
  ] as const) {
    test(`rejects ${JSON.stringify(config)}`, async () => {
      await plugin.expectRejected({ rootId: ROOT_ID, pluginConfig: config, logLevel: LogLevel.Debug }, `grpc-ext-authz: ${problem}`);
    });
  }
});

describe("grpc-ext-authz: cost", () => {
  test("a request the service allows costs at most its budget, the Check call and its answer included (the cost meter)", async () => {
    const host = await start(CONFIG, { meterCost: true, logLevel: LogLevel.Info });
    const answer = allow();
    assertCostPerRequest(host, (h) => {
      const stream = h.newHttpStream();
      stream.sendRequestHeaders(request(), true);
      h.grpcCallHistory.at(-1)!.respond(answer);
      stream.sendResponseHeaders([[":status", "200"]], true);
    }, { instructions: 53_000, hostCalls: 10 });
  });
});
