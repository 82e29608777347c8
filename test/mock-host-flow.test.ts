// The HTTP stream state machine: pauses and continues, local replies (three branches),
// resets, teardown, and the fail-closed / fail-open policies (ABI.md §3.3, §5.7, §8.2, §10).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, LogLevel, WasmResult, encodePairs } from "../runtime-mock/index.js";
import { buildPlugin, events, eventNames, rec, recordingCallbacks, slotValue, startPlugin, type CallbackBody, type EventName, type Kit } from "./support/plugin.js";

/** proxy_send_local_response(status, details, body, headers, grpc) as WAT. */
function localReply(kit: Pick<Kit, "str" | "bytes">, status: number, body: string, headers: [string, string][] = [], details = "", grpc = -1): string {
  const pairs = headers.length ? kit.bytes(encodePairs(headers)) : "(i32.const 0) (i32.const 0)";
  return `(call $proxy_send_local_response (i32.const ${status}) ${kit.str(details)} ${kit.str(body)} ${pairs} (i32.const ${grpc}))`;
}

const plugin = (overrides: Partial<Record<EventName, CallbackBody>>) => buildPlugin(() => ({ body: recordingCallbacks(overrides) }));
const streamEvents = (host: Awaited<ReturnType<typeof startPlugin>>) => events(host).filter((e) => e.ctx >= 2).map((e) => `${e.name}(${e.a},${e.b})`);

describe("pausing and resuming (ABI.md §8.2)", () => {
  test("pause in headers = StopAllIterationAndWatermark: body and trailers wait in Envoy and reach the plugin after continue", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        vmStart: { code: "(drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))" },
        requestHeaders: { code: rec(0, "(local.get $ctx)"), result: 1 },
        tick: { code: `(drop (call $proxy_set_effective_context (i32.load (i32.const 1024)))) ${rec(1, "(call $proxy_continue_stream (i32.const 0))")}` },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/" }), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(stream.sendRequestBody("ab"), FilterDataStatus.StopIterationAndWatermark);
    assert.equal(stream.sendRequestBody("cd"), FilterDataStatus.StopIterationAndWatermark);
    assert.equal(stream.sendRequestTrailers({ "x-t": "1" }), FilterTrailersStatus.StopIteration);
    assert.deepEqual(streamEvents(host), ["contextCreate(1,0)", "requestHeaders(1,0)"]);
    assert.equal(stream.request.headersForwarded, false);
    assert.equal(stream.request.bufferedBody.length, 4);
    host.tick();
    assert.equal(slotValue(host, 1), WasmResult.Ok);
    assert.deepEqual(streamEvents(host), ["contextCreate(1,0)", "requestHeaders(1,0)", "requestBody(4,0)", "requestTrailers(1,0)"]);
    assert.equal(stream.request.headersForwarded, true);
    assert.equal(stream.request.bodyText, "abcd");
    assert.equal(stream.request.endStreamForwarded, true);
  });

  test("allow_on_headers_stop_iteration: 1 holds only the headers, body callbacks keep coming; Continue from the body releases both", async () => {
    const host = await startPlugin(plugin({ requestHeaders: { result: 1 } }), { allowOnHeadersStopIteration: true });
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/" }), FilterHeadersStatus.StopIteration);
    assert.equal(stream.request.headersForwarded, false);
    assert.equal(stream.sendRequestBody("abc", true), FilterDataStatus.Continue);
    assert.deepEqual(streamEvents(host).slice(2), ["requestBody(3,1)"]);
    assert.equal(stream.request.headersForwarded, true);
    assert.equal(stream.request.bodyText, "abc");
    assert.equal(stream.request.endStreamForwarded, true);
  });

  test("headers results: 2 → Continue, 3 → StopAllIterationAndBuffer, 4 and above → StopAllIterationAndWatermark; trailers non-zero → StopIteration", async () => {
    const cases: [number, FilterHeadersStatus][] = [
      [0, FilterHeadersStatus.Continue],
      [2, FilterHeadersStatus.Continue],
      [3, FilterHeadersStatus.StopAllIterationAndBuffer],
      [4, FilterHeadersStatus.StopAllIterationAndWatermark],
      [9, FilterHeadersStatus.StopAllIterationAndWatermark],
    ];
    for (const [raw, expected] of cases) {
      const host = await startPlugin(plugin({ requestHeaders: { result: raw }, responseTrailers: { result: 9 } }));
      const stream = host.newHttpStream();
      assert.equal(stream.sendRequestHeaders({ ":path": "/" }, true), expected, `headers ${raw}`);
      if (raw === 0) {
        stream.sendResponseHeaders({ ":status": "200" });
        assert.equal(stream.sendResponseTrailers({ a: "b" }), FilterTrailersStatus.StopIteration);
        assert.equal(stream.response.endStreamForwarded, false);
      }
    }
  });

  test("0.1.0 header callbacks get two arguments and continue with proxy_continue_request", async () => {
    const bytes = buildPlugin(() => ({
      version: "0.1.0",
      body: recordingCallbacks(
        {
          vmStart: { code: "(drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))" },
          requestHeaders: { code: rec(0, "(local.get $ctx)"), result: 1 },
          tick: { code: `(drop (call $proxy_set_effective_context (i32.load (i32.const 1024)))) ${rec(1, "(call $proxy_continue_request)")}` },
        },
        "0.1.0",
      ),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/", a: "b" }, true);
    host.tick();
    assert.equal(slotValue(host, 1), WasmResult.Ok);
    assert.equal(stream.request.endStreamForwarded, true);
  });

  test("stream-type checks: close/continue > 3 BAD_ARGUMENT, continue UPSTREAM UNIMPLEMENTED, DOWNSTREAM OK", async () => {
    const host = await startPlugin(
      plugin({
        requestHeaders: {
          code: `${rec(0, "(call $proxy_close_stream (i32.const 4))")} ${rec(1, "(call $proxy_continue_stream (i32.const 4))")}
            ${rec(2, "(call $proxy_continue_stream (i32.const 3))")} ${rec(3, "(call $proxy_continue_stream (i32.const 2))")}
            ${rec(4, "(call $proxy_close_stream (i32.const 2))")}`,
        },
      }),
    );
    host.newHttpStream().sendRequestHeaders({ ":path": "/" }, true);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => slotValue(host, i)), [WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.Unimplemented, WasmResult.Ok, WasmResult.Ok]);
  });
});

describe("local replies (ABI.md §5.7)", () => {
  test("(a) from request headers: encoded through the plugin's own response callbacks, no more request callbacks", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestHeaders: {
          code: rec(0, localReply(kit, 403, "denied", [["X-Reason", "r"], ["content-type", "application/json"]], "not allowed\there")),
          result: 0,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/", ":method": "POST" }), FilterHeadersStatus.StopAllIterationAndWatermark, "forced stop");
    assert.equal(slotValue(host, 0), WasmResult.Ok);
    assert.deepEqual(streamEvents(host), [
      "contextCreate(1,0)",
      "requestHeaders(2,0)",
      "responseHeaders(4,0)",
      "responseBody(6,1)",
      "log(0,0)",
      "done(0,0)",
      "delete(0,0)",
    ]);
    const reply = stream.localResponse!;
    assert.equal(reply.status, 403);
    assert.equal(reply.bodyText, "denied");
    assert.equal(reply.details, "not_allowed_here");
    assert.equal(reply.generatedBy, "plugin");
    assert.equal(reply.grpcStatus, undefined);
    assert.deepEqual(reply.headers.pairs(), [[":status", "403"], ["x-reason", "r"], ["content-type", "application/json"], ["content-length", "6"]]);
    assert.equal(reply.headers.get("x-reason"), "r", "the same HeaderMap shape as stream.response.headers");
    assert.equal(stream.response.bodyText, "denied");
    assert.equal(stream.responseCodeDetails, "not_allowed_here");
    assert.equal(stream.request.headersForwarded, false);
    assert.equal(stream.completed, true);
    assert.equal(stream.sendRequestBody("late", true), FilterDataStatus.StopIterationNoBuffer);
    assert.ok(!streamEvents(host).some((e) => e.startsWith("requestBody")));
  });

  test("a local reply without body has no content-length/content-type (even if the plugin added them)", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({ requestHeaders: { code: `(drop ${localReply(kit, 204, "", [["content-type", "x/y"], ["x-a", "1"]])})` } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    assert.deepEqual(stream.response.headers.pairs(), [[":status", "204"], ["x-a", "1"]]);
    assert.equal(streamEvents(host).filter((e) => e.startsWith("response")).join(), "responseHeaders(2,1)");
  });

  test("(b) from response headers: straight to the client, the plugin's callbacks are not called for it", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({ responseHeaders: { code: `(drop ${localReply(kit, 401, "no", [], "auth")})` } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(stream.sendResponseHeaders({ ":status": "200", "x-up": "1" }), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(events(host).filter((e) => e.name === "responseHeaders").length, 1);
    assert.deepEqual(stream.response.headers.pairs(), [[":status", "401"], ["content-length", "2"], ["content-type", "text/plain"]]);
    assert.equal(stream.response.bodyText, "no");
    assert.equal(stream.response.endStreamForwarded, true);
    assert.equal(stream.completed, true);
    assert.equal(stream.sendResponseBody("upstream body", true), FilterDataStatus.StopIterationNoBuffer);
  });

  test("(c) after the response headers went out: the stream is reset; a body callback's result is forced to StopIterationNoBuffer", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({ responseBody: { code: `(drop ${localReply(kit, 500, "late")})`, result: 0 } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    stream.sendResponseHeaders({ ":status": "200" });
    assert.equal(stream.sendResponseBody("x"), FilterDataStatus.StopIterationNoBuffer);
    assert.equal(stream.resetReason, "local reset");
    assert.equal(stream.localResponse, undefined);
    assert.deepEqual(streamEvents(host).slice(-3), ["log(0,0)", "done(0,0)", "delete(0,0)"]);
  });

  test("gRPC request: trailers-only reply with grpc-status and a percent-encoded grpc-message", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({ requestHeaders: { code: `(drop ${localReply(kit, 403, "bad ~ 100%\n", [], "d", 7)})` } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/svc/M", ":method": "POST", "content-type": "application/grpc" });
    assert.deepEqual(stream.response.headers.pairs(), [
      [":status", "200"],
      ["content-type", "application/grpc"],
      ["grpc-status", "7"],
      ["grpc-message", "bad %7E 100%25%0A"],
    ]);
    assert.equal(stream.response.body.length, 0);
    assert.equal(stream.localResponse?.grpcStatus, 7);
  });

  test("gRPC request without a gRPC status: grpc-status from the HTTP code (503 → 14)", async () => {
    const bytes = buildPlugin((kit) => ({ body: recordingCallbacks({ requestHeaders: { code: `(drop ${localReply(kit, 503, "")})` } }) }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/s/M", "content-type": "application/grpc+proto" });
    assert.equal(stream.response.headers.get("grpc-status"), "14");
  });

  test("HEAD request: content-length announced, no body sent", async () => {
    const bytes = buildPlugin((kit) => ({ body: recordingCallbacks({ requestHeaders: { code: `(drop ${localReply(kit, 404, "missing")})` } }) }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/", ":method": "HEAD" }, true);
    assert.equal(stream.response.headers.get("content-length"), "7");
    assert.equal(stream.response.body.length, 0);
    assert.equal(stream.response.endStreamForwarded, true);
  });

  test("from a root context it is a silent no-op that still answers OK", async () => {
    const bytes = buildPlugin((kit) => ({ body: recordingCallbacks({ vmStart: { code: rec(0, localReply(kit, 500, "x")) } }) }));
    const host = await startPlugin(bytes);
    assert.equal(slotValue(host, 0), WasmResult.Ok);
  });

  test("bad memory in any argument is INVALID_MEMORY_ACCESS and nothing is sent", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestHeaders: { code: rec(0, `(call $proxy_send_local_response (i32.const 403) ${kit.str("d")} (i32.const -8) (i32.const 64) (i32.const 0) (i32.const 0) (i32.const -1))`) },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/" }, true), FilterHeadersStatus.Continue);
    assert.equal(slotValue(host, 0), WasmResult.InvalidMemoryAccess);
    assert.equal(stream.localResponse, undefined);
  });
});

describe("reset and teardown", () => {
  test("proxy_close_stream: deferred reset, details wasm_close_stream, then on_log → on_done → on_delete", async () => {
    const host = await startPlugin(plugin({ requestHeaders: { code: rec(0, "(call $proxy_close_stream (i32.const 0))") } }));
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    assert.equal(slotValue(host, 0), WasmResult.Ok);
    assert.equal(stream.resetReason, "local reset");
    assert.equal(stream.responseCodeDetails, "wasm_close_stream");
    assert.deepEqual(streamEvents(host), ["contextCreate(1,0)", "requestHeaders(1,0)", "log(0,0)", "done(0,0)", "delete(0,0)"]);
  });

  test("teardown runs once the response end goes downstream, and on end() otherwise", async () => {
    const host = await startPlugin(plugin({}));
    const a = host.newHttpStream();
    a.sendRequestHeaders({ ":path": "/" }, true);
    a.sendResponseHeaders({ ":status": "200" });
    assert.equal(a.completed, false);
    a.sendResponseBody("ok", true);
    assert.equal(a.completed, true);
    const b = host.newHttpStream();
    b.sendRequestHeaders({ ":path": "/" });
    b.end();
    b.end();
    assert.deepEqual(
      events(host).filter((e) => e.name === "log" || e.name === "done" || e.name === "delete").map((e) => `${e.name}@${e.ctx}`),
      ["log@2", "done@2", "delete@2", "log@3", "done@3", "delete@3"],
    );
    const c = host.newHttpStream();
    c.end(); // never saw a request: no filter chain, no callbacks
    assert.equal(events(host).filter((e) => e.ctx === 4).length, 0);
  });

  test("response trailers end the stream; a stopped trailers callback holds them", async () => {
    const host = await startPlugin(plugin({ responseTrailers: { result: 1 } }));
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    stream.sendResponseHeaders({ ":status": "200" });
    stream.sendResponseBody("b");
    assert.equal(stream.sendResponseTrailers({ "grpc-status": "0" }), FilterTrailersStatus.StopIteration);
    assert.equal(stream.response.endStreamForwarded, false);
    assert.equal(stream.completed, false);
    stream.end();
    assert.equal(stream.completed, true);
  });
});

describe("VM failure (ABI.md §8.2, §10.1)", () => {
  test("fail closed: a trap answers 503 (wasm_fail_stream), no teardown calls; later streams get 503 without plugin calls", async () => {
    const host = await startPlugin(plugin({ requestHeaders: { code: "(unreachable)" } }), { throwOnTrap: false });
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/" }), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(host.state, "failed");
    assert.equal(host.failure?.phase, "proxy_on_request_headers");
    assert.equal(stream.localResponse?.status, 503);
    assert.equal(stream.localResponse?.generatedBy, "envoy");
    assert.equal(stream.responseCodeDetails, "wasm_fail_stream");
    assert.deepEqual(stream.response.headers.pairs(), [[":status", "503"]]);
    assert.equal(stream.completed, true);
    assert.deepEqual(streamEvents(host), ["contextCreate(1,0)", "requestHeaders(1,0)"]);
    assert.deepEqual(host.logsAt(LogLevel.Error), [`Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable\n${host.failure?.report}`]);

    const count = events(host).length;
    const later = host.newHttpStream();
    assert.equal(later.contextId, 0);
    assert.equal(later.sendRequestHeaders({ ":path": "/" }, true), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(later.localResponse?.status, 503);
    assert.equal(events(host).length, count, "the failed VM is never called again");
  });

  test("fail closed on a gRPC request: 200 + grpc-status 14", async () => {
    const host = await startPlugin(plugin({ requestHeaders: { code: "(unreachable)" } }));
    const stream = host.newHttpStream();
    host.expectTrap(() => stream.sendRequestHeaders({ ":path": "/s/M", "content-type": "application/grpc" }));
    assert.deepEqual(stream.response.headers.pairs(), [[":status", "200"], ["content-type", "application/grpc"], ["grpc-status", "14"]]);
  });

  test("fail open: the trapping stream and later ones pass through, the VM is not called again", async () => {
    const host = await startPlugin(plugin({ requestBody: { code: "(unreachable)" } }), { failStrategy: "failOpen", throwOnTrap: false });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    assert.equal(stream.sendRequestBody("x", true), FilterDataStatus.Continue);
    assert.equal(stream.request.bodyText, "x");
    stream.sendResponseHeaders({ ":status": "200" }, true);
    assert.equal(stream.response.endStreamForwarded, true);
    assert.ok(!eventNames(host).includes("log"));
    const later = host.newHttpStream();
    assert.equal(later.sendRequestHeaders({ ":path": "/" }, true), FilterHeadersStatus.Continue);
    assert.equal(later.request.endStreamForwarded, true);
  });

  test("a trap after the response headers went out resets the stream (fail closed)", async () => {
    const host = await startPlugin(plugin({ responseBody: { code: "(unreachable)" } }), { throwOnTrap: false });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    stream.sendResponseHeaders({ ":status": "200" });
    assert.equal(stream.sendResponseBody("x"), FilterDataStatus.StopIterationNoBuffer);
    assert.equal(stream.resetReason, "local reset");
    assert.equal(stream.completed, true);
  });
});

describe("deferred actions run after the call, in request order", () => {
  test("local reply then close, no response callbacks: the reply goes out, the close finds the stream done", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop ${localReply(kit, 403, "x")}) (drop (call $proxy_close_stream (i32.const 0))) (i32.const 0))`,
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(stream.localResponse?.status, 403);
    assert.equal(stream.response.endStreamForwarded, true);
    assert.equal(stream.resetReason, undefined);
  });

  test("⚠ local reply then close with a response callback: cpp-host drains the shared queue after that callback, so the close resets the stream mid-reply", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({ requestHeaders: { code: `(drop ${localReply(kit, 403, "x")}) (drop (call $proxy_close_stream (i32.const 0)))` } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    assert.deepEqual(streamEvents(host).slice(2), ["responseHeaders(3,0)", "log(0,0)", "done(0,0)", "delete(0,0)"]);
    assert.equal(stream.localResponse?.status, 403, "generated");
    assert.equal(stream.response.headersForwarded, false, "but never sent");
    assert.equal(stream.resetReason, "local reset");
  });

  test("close then local reply: the reset wins, no reply is sent", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({ requestHeaders: { code: `(drop (call $proxy_close_stream (i32.const 0))) (drop ${localReply(kit, 403, "x")})` } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(stream.resetReason, "local reset");
    assert.equal(stream.localResponse, undefined);
    assert.equal(stream.responseCodeDetails, "wasm_close_stream");
  });
});
