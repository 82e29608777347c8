// The SDK's callouts, gRPC and timers in a built plugin (test/fixtures/callouts), driven
// through the mock host: a stream that pauses, calls out and resumes or replies with what
// it learned; a root that calls out on every tick; gRPC calls and a gRPC stream with
// protobuf messages. Release and debug builds behave the same.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FilterHeadersStatus, GrpcStatus, Host, LogLevel, type HostOptions } from "../runtime-mock/index.js";

const BUILDS = ["release", "debug"].map((target) => [target, readFileSync(`test/fixtures/callouts/build/${target}.wasm`)] as const);
const START = new Date("2030-06-01T00:00:00.000Z");

async function start(bytes: Uint8Array, options: HostOptions): Promise<Host> {
  const host = await Host.load(bytes, { logLevel: LogLevel.Debug, startTime: START, ...options });
  const started = host.start();
  assert.ok(started.ok, started.ok ? "" : started.message);
  return host;
}

const request = (path = "/a", user = "ann"): [string, string][] => [[":method", "GET"], [":path", path], [":authority", "app"], ["x-user", user]];

for (const [target, bytes] of BUILDS) {
  describe(`${target}: a stream that pauses for an HTTP callout`, () => {
    const auth = (options: HostOptions = {}) => start(bytes, { rootId: "auth", clusters: ["auth"], ...options });

    test("allowed: the call carries what the stream knows; the answer resumes the stream with a header from the body and trailers", async () => {
      const host = await auth();
      const stream = host.newHttpStream();
      assert.equal(stream.sendRequestHeaders(request("/orders"), true), FilterHeadersStatus.StopAllIterationAndWatermark);
      const [call] = host.httpCalls;
      assert.ok(call);
      assert.deepEqual(call.headers.pairs(), [[":method", "POST"], [":path", "/check"], [":authority", "auth.local"], ["x-user", "ann"], ["content-length", "7"]]);
      assert.equal(call.bodyText, "/orders");
      assert.equal(call.timeoutMs, undefined);
      call.respond({ status: 200, body: "ann-ok", trailers: { "x-trailer": "t1" } });
      assert.equal(stream.request.headersForwarded, true);
      assert.equal(stream.request.headers.get("x-auth"), "ann-ok");
      assert.equal(stream.request.headers.get("x-auth-trailer"), "t1");
      assert.equal(stream.localResponse, undefined);
    });

    test("denied, failed, timed out: the stream replies with the callout's status", async () => {
      const host = await auth({ pluginConfig: "250" });
      const [denied, failed, timedOut] = [host.newHttpStream(), host.newHttpStream(), host.newHttpStream()];
      for (const s of [denied, failed, timedOut]) s.sendRequestHeaders(request(), true);
      const [d, f] = host.httpCalls;
      assert.equal(d!.timeoutMs, 250);
      d!.respond({ status: 403, body: "nope" });
      f!.fail();
      host.advanceTime(250);
      assert.deepEqual([denied.localResponse?.status, denied.localResponse?.bodyText], [403, "denied (403): nope"]);
      assert.deepEqual([failed.localResponse?.status, failed.localResponse?.bodyText], [503, "auth failed: BrokenConnection reset"]);
      assert.deepEqual([timedOut.localResponse?.status, timedOut.localResponse?.bodyText], [403, "denied (504): upstream request timeout"]);
      assert.equal(host.failure, undefined);
    });

    test("answers in any order reach the stream that asked", async () => {
      const host = await auth();
      const streams = ["ann", "bob", "cy"].map((user) => {
        const s = host.newHttpStream();
        s.sendRequestHeaders(request("/", user), true);
        return s;
      });
      const calls = host.httpCalls;
      calls[2]!.respond({ body: "cy-ok" });
      calls[0]!.respond({ status: 401, body: "who?" });
      calls[1]!.respond({ body: "bob-ok" });
      assert.deepEqual(
        streams.map((s) => s.request.headers.get("x-auth") ?? s.localResponse?.bodyText),
        ["denied (401): who?", "bob-ok", "cy-ok"],
      );
    });

    test("a stream gone before its answer: the late answer is ignored (debug log), no trap; the tokens are dropped", async () => {
      const host = await auth();
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(request(), true);
      stream.end();
      host.clearLogs();
      host.httpCalls[0]!.respond({ body: "late" });
      assert.equal(host.failure, undefined);
      assert.ok(host.logsAt(LogLevel.Debug).some((m) => m.includes("HTTP call 4: no context waits for it any more")), host.logs.map((l) => l.message).join("\n"));
    });

    test("a refused call: the stream replies with the host's status (unknown cluster, no healthy upstream)", async () => {
      for (const [options, status] of [
        [{ clusters: [] }, "BadArgument"],
        [{ clusters: { auth: { noHealthyUpstream: true } } }, "InternalFailure"],
      ] as const) {
        const host = await auth(options as HostOptions);
        const stream = host.newHttpStream();
        stream.sendRequestHeaders(request(), true);
        assert.deepEqual([stream.localResponse?.status, stream.localResponse?.bodyText], [500, `callout refused: ${status}`]);
      }
    });
  });

  describe(`${target}: a root that calls out on every tick`, () => {
    test("ticks every 100 ms of virtual time call the config cluster; the answers reach the root; it stops after three", async () => {
      const host = await start(bytes, { rootId: "ticker", clusters: { config: { http: (call) => ({ body: `v${call.headers.get("x-tick")}` }) } } });
      host.advanceTime(250);
      let stream = host.newHttpStream();
      stream.sendRequestHeaders(request(), true);
      stream.sendResponseHeaders({ ":status": "200" }, true);
      assert.deepEqual(
        [stream.response.headers.get("x-config"), stream.response.headers.get("x-ticks"), stream.response.headers.get("x-now-ms")],
        ["200:v2", "2", String(START.getTime() + 250)],
      );
      host.advanceTime(1000);
      stream = host.newHttpStream();
      stream.sendRequestHeaders(request(), true);
      stream.sendResponseHeaders({ ":status": "200" }, true);
      assert.deepEqual([stream.response.headers.get("x-config"), stream.response.headers.get("x-ticks")], ["200:v3", "3"]);
      assert.equal(host.tickPeriodMs, 0);
      assert.equal(host.httpCallHistory.length, 3);
    });

    test("a slow config server: the calls time out (50 ms) before the answers (80 ms), which then find nobody", async () => {
      const host = await start(bytes, { rootId: "ticker", clusters: { config: { http: () => ({ body: "slow", delayMs: 80 }) } } });
      host.advanceTime(150);
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(request(), true);
      stream.sendResponseHeaders({ ":status": "200" }, true);
      assert.equal(stream.response.headers.get("x-config"), "504:upstream request timeout");
      assert.deepEqual(host.httpCallHistory.map((c) => c.state), ["timedOut"]);
      host.advanceTime(100);
      assert.equal(host.failure, undefined);
    });
  });

  describe(`${target}: gRPC`, () => {
    const grpc = (options: HostOptions = {}) => start(bytes, { rootId: "grpc", clusters: ["authz", "events"], ...options });
    // The fixture's request: 1 = path, 2 = user, 3 = header count.
    const checkRequest = (path: string, user: string, count: number) =>
      Uint8Array.from([0x0a, path.length, ...Buffer.from(path), 0x12, user.length, ...Buffer.from(user), 0x18, count]);
    // The answer: 1 = allowed, 2 = reason.
    const answer = (allowed: boolean, reason: string) => Uint8Array.from([0x08, allowed ? 1 : 0, 0x12, reason.length, ...Buffer.from(reason)]);

    test("a unary call per stream with a protobuf request; the protobuf answer resumes it; the root's event stream sees every path", async () => {
      const host = await grpc();
      const [events] = host.grpcStreams;
      assert.ok(events);
      assert.deepEqual([events.serviceName, events.methodName, events.initialMetadata.get("x-source")], ["events.Log", "Append", "fixture"], "the stream opened in onConfigure");
      events.sendInitialMetadata({ "x-server": "s1" });
      events.sendMessage("m1");

      const stream = host.newHttpStream();
      stream.sendRequestHeaders(request("/orders"), true);
      const [call] = host.grpcCalls;
      assert.ok(call);
      assert.deepEqual([call.cluster, call.serviceName, call.methodName, call.timeoutMs, call.initialMetadata.get("x-user")], ["authz", "authz.Authorizer", "Check", 200, "ann"]);
      assert.deepEqual([...call.message], [...checkRequest("/orders", "ann", 4)]);
      assert.deepEqual(events.messageTexts, ["/orders"]);

      call.respond(answer(true, "fine"));
      assert.equal(stream.request.headers.get("x-authz"), "fine");
      stream.sendResponseHeaders({ ":status": "200" }, true);
      assert.equal(stream.response.headers.get("x-events"), "headers(3,s1);message(m1);");
    });

    test("denied, failed with a gRPC status, timed out, malformed answer", async () => {
      const host = await grpc();
      const streams = [0, 1, 2, 3].map(() => host.newHttpStream());
      for (const s of streams) s.sendRequestHeaders(request(), true);
      const [deny, fail, , bad] = host.grpcCalls;
      deny!.respond(answer(false, "not you"));
      fail!.fail(GrpcStatus.PermissionDenied, "no way");
      bad!.respond(Uint8Array.from([0x12, 0x09, 0x41]));
      host.advanceTime(200);
      assert.deepEqual(
        streams.map((s) => [s.localResponse?.status, s.localResponse?.bodyText]),
        [[403, "not you"], [503, "authz 7: no way"], [503, "authz 14: upstream request timeout"], [502, "malformed authz answer"]],
      );
      assert.equal(streams[1]!.localResponse?.grpcStatus, 7);
    });

    test("the server closes the event stream: trailers then close reach the root; x-last half-closes it", async () => {
      const host = await grpc();
      const [events] = host.grpcStreams;
      const stream = host.newHttpStream();
      stream.sendRequestHeaders([...request("/last"), ["x-last", "1"]], true);
      assert.equal(events!.halfClosed, true);
      events!.close(GrpcStatus.Ok, "", { "x-count": "1" });
      host.grpcCalls[0]!.respond(answer(true, "ok"));
      stream.sendResponseHeaders({ ":status": "200" }, true);
      assert.equal(stream.response.headers.get("x-events"), "headers(0,);trailers(4,0);close(0,);");
      assert.deepEqual(host.calloutsInFlight, [], "half-closed by the plugin and closed by the server: forgotten");
    });

    test("a stream deleted before its gRPC answer: the SDK cancels the call", async () => {
      const host = await grpc();
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(request(), true);
      const [call] = host.grpcCalls;
      stream.end();
      assert.equal(call!.state, "cancelled");
      assert.equal(host.grpcStreams.length, 1, "the root's stream stays");
    });
  });
}

describe("a plugin that re-exports only exports-http", () => {
  const bytes = readFileSync("test/fixtures/callouts-http-only/build/release.wasm");

  test("setTickPeriod and dispatchHttpCall say which exports are missing, answer Unimplemented, and never reach the host", async () => {
    const host = await Host.load(bytes, { pluginConfig: "tolerate", clusters: ["auth"] });
    assert.ok(host.start().ok);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(request(), true);
    assert.deepEqual([stream.localResponse?.status, stream.localResponse?.bodyText], [500, "callout refused: Unimplemented"]);
    const hint = 'needs its callbacks exported: re-export "proxy-wasm-as/assembly/exports" (not "exports-http") from the plugin\'s entry file';
    assert.deepEqual(host.logsAt(LogLevel.Critical), [`setTickPeriod ${hint}`, `dispatchHttpCall ${hint}`]);
    assert.deepEqual([host.httpCallHistory.length, host.tickPeriodMs], [0, 0]);
  });

  test("a root that needs its tick fails its configuration instead of waiting for ticks that never come", async () => {
    const host = await Host.load(bytes);
    assert.deepEqual(host.start().ok, false);
    assert.equal(host.state, "configureFailed");
  });
});
