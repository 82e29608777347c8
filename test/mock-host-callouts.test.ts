// HTTP callouts in the mock host, driven by WAT plugins (ABI.md §3.10, §5.7 get_status,
// §5.8, §8.4): tokens, argument checks, what Envoy sends, answers in any order, failures,
// timeouts, the data windows of the callback, get_status stickiness, re-entrancy and
// cancellation. gRPC is in mock-host-grpc.test.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BufferType, LogLevel, MapType, WasmResult, type HostOptions } from "../runtime-mock/index.js";
import { envoyGrpc, getStatus, grpcCall, grpcStream, httpCall, calloutExports, REQUEST, token, trace } from "./support/callout-kit.js";
import {
  buildPlugin,
  OUT_A,
  OUT_B,
  OUT_PTR,
  OUT_SIZE,
  put,
  rec,
  recordingCallbacks,
  saveOut,
  savedText,
  slot,
  slotValue,
  startPlugin,
  type Kit,
} from "./support/plugin.js";

const CLUSTERS: HostOptions = { clusters: ["auth", "authz", "config"] };
const slots = (host: Awaited<ReturnType<typeof startPlugin>>, from: number, n: number) => Array.from({ length: n }, (_, i) => slotValue(host, from + i));

describe("proxy_http_call: tokens and argument checks", () => {
  test("tokens: HTTP 4, 8…, gRPC calls 5, 9…, streams 6, 10…, one sequence per VM, also from a stream; a failed start consumes one", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        vmStart: {
          code: `${rec(0, httpCall(kit))} ${token(10)}
            ${rec(1, grpcCall(kit))} ${token(11)}
            ${rec(2, grpcStream(kit))} ${token(12)}
            ${rec(3, httpCall(kit))} ${token(13)}
            ${rec(4, httpCall(kit, { cluster: "down" }))} ${token(14)}
            ${rec(5, httpCall(kit))} ${token(15)}
            ${rec(6, grpcCall(kit))} ${token(16)}`,
        },
        requestHeaders: { code: `${rec(7, httpCall(kit))} ${token(17)}` },
      })} ${calloutExports()}`,
    }));
    const host = await startPlugin(bytes, { clusters: { auth: {}, authz: {}, down: { noHealthyUpstream: true } } });
    host.newHttpStream().sendRequestHeaders(REQUEST);
    assert.deepEqual(slots(host, 0, 8), [0, 0, 0, 0, WasmResult.InternalFailure, 0, 0, 0]);
    assert.deepEqual(slots(host, 10, 8), [4, 5, 6, 8, 0, 16, 9, 20], "12 went to the call Envoy could not start");
    assert.deepEqual(host.httpCalls.map((c) => [c.token, c.rootContextId]), [[4, 1], [8, 1], [16, 1], [20, 1]], "issued on the root, even from stream 2");
    assert.deepEqual(host.calloutsInFlight, [4, 5, 6, 8, 9, 16, 20]);
  });

  test("BAD_ARGUMENT: timeout ≥ 2^31 (checked first), unknown cluster, each missing pseudo-header; `host` counts as :authority", async () => {
    const without = (name: string) => REQUEST.filter(([k]) => k !== name);
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        vmStart: {
          code: `(i32.store (i32.const ${OUT_A}) (i32.const 77))
            ${rec(0, httpCall(kit, { cluster: "nope", timeoutMs: -1 }))} ${token(10)}
            ${rec(1, httpCall(kit, { timeoutMs: -2147483648 }))}
            ${rec(2, httpCall(kit, { cluster: "nope" }))}
            ${rec(3, httpCall(kit, { headers: without(":method") }))}
            ${rec(4, httpCall(kit, { headers: without(":path") }))}
            ${rec(5, httpCall(kit, { headers: without(":authority") }))}
            ${rec(6, httpCall(kit, { headers: [...without(":authority"), ["Host", "h.example"]] }))} ${token(16)}
            ${rec(7, httpCall(kit, { timeoutMs: 2147483647 }))}`,
        },
      })} ${calloutExports()}`,
    }));
    const host = await startPlugin(bytes, CLUSTERS);
    const bad = WasmResult.BadArgument;
    assert.deepEqual(slots(host, 0, 8), [bad, bad, bad, bad, bad, bad, 0, 0]);
    assert.equal(slotValue(host, 10), 0, "the token slot is zeroed before the checks");
    assert.equal(slotValue(host, 16), 4, "no token was consumed by the refused calls");
    assert.equal(host.httpCalls[0]!.headers.get(":authority"), "h.example");
    // Envoy says nothing about the undeclared cluster; the mock host names it and how to declare it, once per refused call.
    const warnings = host.logs.filter((l) => l.origin === "host" && l.level === LogLevel.Warn).map((l) => l.message);
    assert.deepEqual(warnings, [
      'http_call to cluster "nope", which is not declared: the plugin gets BadArgument; declare it with HostOptions.clusters (e.g. { clusters: ["nope"] }) or host.addCluster("nope")',
    ]);
    assert.equal(host.httpCalls[1]!.timeoutMs, 2147483647);
  });

  test("INVALID_MEMORY_ACCESS: a bad token pointer fails before anything is sent; bad argument memory too", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        vmStart: {
          code: `${rec(0, httpCall(kit, { tokenPtr: -4 }))}
            ${rec(1, `(call $proxy_http_call (i32.const -8) (i32.const 64) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ${OUT_A}))`)}
            ${rec(2, `(call $proxy_http_call ${kit.str("auth")} (i32.const 0) (i32.const 0) (i32.const -8) (i32.const 64) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ${OUT_A}))`)}
            ${rec(3, httpCall(kit))} ${token(10)}`,
        },
      })} ${calloutExports()}`,
    }));
    const host = await startPlugin(bytes, CLUSTERS);
    assert.deepEqual(slots(host, 0, 4), [WasmResult.InvalidMemoryAccess, WasmResult.InvalidMemoryAccess, WasmResult.InvalidMemoryAccess, 0]);
    assert.equal(slotValue(host, 10), 4, "the first token went to the only call sent");
    assert.equal(host.httpCallHistory.length, 1);
  });

  test("what Envoy sends: keys lower-cased, host as :authority, content-length for a body, trailers, the timeout", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        vmStart: {
          code: `${rec(0, httpCall(kit, {
            headers: [[":method", "POST"], [":path", "/v1/check?x=1"], ["HOST", "auth.local"], ["X-User", "ann"], ["x-multi", "a"], ["x-multi", "b"]],
            body: "payload",
            trailers: [["X-Digest", "abc"]],
            timeoutMs: 2500,
          }))}`,
        },
      })} ${calloutExports()}`,
    }));
    const host = await startPlugin(bytes, CLUSTERS);
    const [call] = host.httpCalls;
    assert.ok(call);
    assert.equal(call.cluster, "auth");
    assert.deepEqual(call.headers.pairs(), [
      [":method", "POST"],
      [":path", "/v1/check?x=1"],
      [":authority", "auth.local"],
      ["x-user", "ann"],
      ["x-multi", "a"],
      ["x-multi", "b"],
      ["content-length", "7"],
    ]);
    assert.equal(call.bodyText, "payload");
    assert.deepEqual(call.trailers?.pairs(), [["x-digest", "abc"]]);
    assert.equal(call.timeoutMs, 2500);
    assert.equal(call.state, "pending");
  });
});

/** A plugin that makes two calls at start and reports, for each response, what it could read. */
function respondingPlugin(kit: Kit, extraRoot = ""): string {
  // Per delivery n (0, 1, 2 …, counted at slot 99): slots 100 + 20n… hold the reads.
  const base = `(i32.add (i32.const ${slot(100)}) (i32.mul (i32.load (i32.const ${slot(99)})) (i32.const 80)))`;
  const at = (k: number, expr: string) => `(i32.store offset=${4 * k} ${base} ${expr})`;
  return `${recordingCallbacks({
    vmStart: { code: `${rec(0, httpCall(kit))} ${token(10)} ${rec(1, httpCall(kit, { body: "second" }))} ${token(11)} (drop (call $proxy_set_tick_period_milliseconds (i32.const 1000))) ${extraRoot}` },
    tick: {
      code: `${getStatus(40)}
        ${rec(44, `(call $proxy_get_buffer_status (i32.const ${BufferType.HttpCallResponseBody}) (i32.const ${OUT_B}) (i32.const ${OUT_B + 4}))`)}
        (i32.store (i32.const ${OUT_PTR}) (i32.const 5))
        ${rec(45, `(call $proxy_get_header_map_pairs (i32.const ${MapType.HttpCallResponseHeaders}) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
        ${put(46, `(i32.load (i32.const ${OUT_PTR}))`)}
        ${rec(47, `(call $proxy_get_header_map_value (i32.const ${MapType.HttpCallResponseHeaders}) ${kit.str(":status")} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}`,
    },
  })}
  ${calloutExports({
    httpCallResponse: `
      ${at(0, `(call $proxy_get_buffer_status (i32.const ${BufferType.HttpCallResponseBody}) (i32.const ${OUT_B}) (i32.const ${OUT_B + 4}))`)}
      ${at(1, `(i32.load (i32.const ${OUT_B}))`)}
      ${at(2, `(call $proxy_get_header_map_value (i32.const ${MapType.HttpCallResponseHeaders}) ${kit.str(":status")} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
      ${at(3, `(i32.load (i32.const ${OUT_PTR}))`)} ${at(4, `(i32.load (i32.const ${OUT_SIZE}))`)}
      ${at(5, `(call $proxy_get_header_map_value (i32.const ${MapType.HttpCallResponseTrailers}) ${kit.str("x-t")} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
      ${at(6, `(call $proxy_get_buffer_bytes (i32.const ${BufferType.HttpCallResponseBody}) (i32.const 0) (i32.const -1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
      ${at(7, `(i32.load (i32.const ${OUT_PTR}))`)} ${at(8, `(i32.load (i32.const ${OUT_SIZE}))`)}
      ${at(9, `(call $proxy_get_status (i32.const ${OUT_A}) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
      ${at(10, `(i32.load (i32.const ${OUT_A}))`)} ${at(11, `(i32.load (i32.const ${OUT_PTR}))`)} ${at(12, `(i32.load (i32.const ${OUT_SIZE}))`)}
      ${at(13, `(call $proxy_set_buffer_bytes (i32.const ${BufferType.HttpCallResponseBody}) (i32.const 0) (i32.const 0) ${kit.str("x")})`)}
      ${at(14, `(call $proxy_add_header_map_value (i32.const ${MapType.HttpCallResponseHeaders}) ${kit.str("a")} ${kit.str("b")})`)}
      (i32.store (i32.const ${slot(99)}) (i32.add (i32.load (i32.const ${slot(99)})) (i32.const 1)))`,
  })}`;
}

/** What delivery n read (see respondingPlugin). */
function reads(host: Awaited<ReturnType<typeof startPlugin>>, n: number) {
  const word = (k: number) => slotValue(host, 100 + 20 * n + k);
  const text = (ptrWord: number, sizeWord: number) => new TextDecoder().decode(host.vm.memory.read(word(ptrWord), word(sizeWord))!);
  return {
    bodyStatus: word(0),
    bodySize: word(1),
    statusHeader: word(2) === 0 ? text(3, 4) : undefined,
    trailer: word(5),
    body: word(6) === 0 ? text(7, 8) : undefined,
    getStatus: [word(9), word(10), word(12) === 0 ? "" : text(11, 12)],
    setBody: word(13),
    addHeader: word(14),
  };
}

describe("HTTP callout answers", () => {
  test("answers in any order reach proxy_on_http_call_response(root, token, headers, body, trailers); data readable only inside", async () => {
    const host = await startPlugin(buildPlugin((kit) => ({ body: respondingPlugin(kit) })), CLUSTERS);
    const [first, second] = host.httpCalls;
    second!.respond({ status: 201, headers: { "x-a": "1" }, body: "created", trailers: { "x-t": "tv" } });
    first!.respond({ headers: [[":status", "404"]] });
    assert.deepEqual(host.httpCalls, []);
    assert.deepEqual([first!.state, second!.state], ["answered", "answered"]);
    assert.deepEqual(trace(host, ["httpCallResponse", "httpCallSizes"]), [
      "httpCallResponse(1,8,2)",
      "httpCallSizes(7,1,0)",
      "httpCallResponse(1,4,1)",
      "httpCallSizes(0,0,0)",
    ]);
    const r0 = reads(host, 0);
    assert.deepEqual([r0.bodyStatus, r0.bodySize, r0.statusHeader, r0.trailer, r0.body], [0, 7, "201", 0, "created"]);
    assert.deepEqual([r0.setBody, r0.addHeader], [WasmResult.BadArgument, WasmResult.BadArgument], "the response is read-only");
    const r1 = reads(host, 1);
    assert.deepEqual([r1.bodyStatus, r1.bodySize, r1.statusHeader, r1.trailer, r1.body], [0, 0, "404", WasmResult.BadArgument, ""], "no trailers: map 7 unavailable");
    // Outside the callback: buffer 4 NOT_FOUND, map 6 empty pairs and BAD_ARGUMENT for a value.
    host.tick();
    assert.deepEqual(slots(host, 44, 4), [WasmResult.NotFound, 0, 0, WasmResult.BadArgument]);
  });

  test("failure: (0, 0, 0) and get_status (11, \"reset\") inside; afterwards the message is cleared and the code sticks, also past a success", async () => {
    const host = await startPlugin(buildPlugin((kit) => ({ body: respondingPlugin(kit) })), CLUSTERS);
    const [first, second] = host.httpCalls;
    first!.fail();
    assert.deepEqual(trace(host, ["httpCallResponse", "httpCallSizes"]), ["httpCallResponse(1,4,0)", "httpCallSizes(0,0,0)"]);
    assert.deepEqual(reads(host, 0).getStatus, [0, WasmResult.BrokenConnection, "reset"]);
    assert.equal(reads(host, 0).bodyStatus, WasmResult.NotFound, "no response body after a failure");
    host.tick();
    assert.deepEqual([slotValue(host, 40), slotValue(host, 41), slotValue(host, 42), slotValue(host, 43)], [0, 11, 0, 0]);
    second!.respond({ body: "ok" });
    assert.deepEqual(reads(host, 1).getStatus, [0, 11, ""], "a success sets no status");
    assert.equal(first!.state, "failed");
    assert.throws(() => first!.respond(), /already failed/);
  });

  test("timeout: Envoy's local 504 when virtual time reaches it (not before), in time order; timeOut() forces it", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        vmStart: {
          code: `${rec(0, httpCall(kit, { timeoutMs: 300 }))} ${rec(1, httpCall(kit, { timeoutMs: 100 }))} ${rec(2, httpCall(kit))}
            ${rec(3, httpCall(kit, { timeoutMs: 5000, headers: [...REQUEST, ["content-type", "application/grpc"]] }))}`,
        },
      })} ${calloutExports({
        httpCallResponse: `(if (i32.eq (local.get $token) (i32.const 8)) (then
          ${rec(20, `(call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (i32.const -1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(21)}
          (i32.store (i32.const ${OUT_PTR}) (i32.const 0))
          ${rec(23, `(call $proxy_get_header_map_pairs (i32.const 6) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(24)}))`,
      })}`,
    }));
    const host = await startPlugin(bytes, CLUSTERS);
    host.advanceTime(99);
    assert.equal(host.httpCalls.length, 4);
    host.advanceTime(1);
    assert.deepEqual(trace(host, ["httpCallResponse", "httpCallSizes"]), ["httpCallResponse(1,8,3)", "httpCallSizes(24,0,0)"]);
    assert.equal(savedText(host, 21), "upstream request timeout");
    assert.deepEqual(host.httpCallHistory.map((c) => c.state), ["pending", "timedOut", "pending", "pending"]);
    host.advanceTime(1000);
    assert.deepEqual(trace(host, ["httpCallResponse"]), ["httpCallResponse(1,8,3)", "httpCallResponse(1,4,3)"]);
    host.httpCalls.find((c) => c.token === 16)!.timeOut();
    assert.deepEqual(trace(host, ["httpCallResponse", "httpCallSizes"]).slice(-2), ["httpCallResponse(1,16,4)", "httpCallSizes(0,0,0)"], "a gRPC request gets a trailers-only reply");
    assert.equal(host.httpCalls.length, 1, "the call without a timeout waits forever");
    host.advanceTime(1_000_000);
    assert.equal(host.httpCalls[0]!.token, 12);
  });

  test("a stream's call is answered on the root; the plugin switches to the stream and resumes it", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        requestHeaders: { code: `${rec(0, httpCall(kit))} (i32.store (i32.const ${slot(5)}) (local.get $ctx))`, result: 1 },
      })} ${calloutExports({
        httpCallResponse: `${rec(1, `(call $proxy_set_effective_context (i32.load (i32.const ${slot(5)})))`)}
          ${rec(2, `(call $proxy_add_header_map_value (i32.const 0) ${kit.str("x-auth")} ${kit.str("ok")})`)}
          ${rec(3, "(call $proxy_continue_stream (i32.const 0))")}`,
      })}`,
    }));
    const host = await startPlugin(bytes, CLUSTERS);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    assert.equal(stream.request.paused, true);
    host.httpCalls[0]!.respond();
    assert.deepEqual(slots(host, 0, 4), [0, 0, 0, 0]);
    assert.equal(stream.request.headersForwarded, true);
    assert.equal(stream.request.headers.get("x-auth"), "ok");
    assert.deepEqual(trace(host, ["httpCallResponse"]), ["httpCallResponse(1,4,1)"]);
  });

  test("a stream deleted before its answer: the answer still reaches the root, where set_effective_context to the stream is BAD_ARGUMENT", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        requestHeaders: { code: `${rec(0, httpCall(kit))} (i32.store (i32.const ${slot(5)}) (local.get $ctx))`, result: 1 },
      })} ${calloutExports({ httpCallResponse: rec(1, `(call $proxy_set_effective_context (i32.load (i32.const ${slot(5)})))`) })}`,
    }));
    const host = await startPlugin(bytes, CLUSTERS);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    stream.end();
    host.httpCalls[0]!.respond();
    assert.equal(slotValue(host, 1), WasmResult.BadArgument);
    assert.equal(host.failure, undefined);
  });

  test("an answer that arrives while the plugin runs waits until that call returns (Envoy's re-entrancy rule)", async () => {
    let answerNow = () => {};
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        vmStart: { code: rec(0, httpCall(kit)) },
        requestHeaders: { code: `(drop (call $proxy_log (i32.const 2) ${kit.str("answer now")})) (call $event (i32.const 99) (local.get $ctx) (i32.const 0) (i32.const 0))` },
      })} ${calloutExports()}`,
    }));
    const host = await startPlugin(bytes, { ...CLUSTERS, onLog: (entry) => entry.message.endsWith("answer now") && answerNow() });
    answerNow = () => host.httpCalls[0]!.respond({ body: "late" });
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual(trace(host, ["requestHeaders", "code99", "httpCallResponse"]), ["requestHeaders(2,3,1)", "code99(2,0,0)", "httpCallResponse(1,4,1)"]);
  });

  test("automatic answers: one event after the call, or delayMs of virtual time later; a fail answer too", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        requestHeaders: { code: `${rec(0, httpCall(kit, { cluster: "fast" }))} ${rec(1, httpCall(kit, { cluster: "slow" }))} ${rec(2, httpCall(kit, { cluster: "broken" }))}`, result: 1 },
      })} ${calloutExports()}`,
    }));
    const seen: string[] = [];
    const host = await startPlugin(bytes, {
      clusters: {
        fast: { http: (call) => (seen.push(call.headers.get(":path")!), { status: 200, body: "fast" }) },
        slow: { http: () => ({ status: 200, body: "slow", delayMs: 50 }) },
        broken: { http: () => ({ fail: true }) },
      },
    });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    assert.deepEqual(seen, ["/check"]);
    assert.deepEqual(trace(host, ["requestHeaders", "httpCallResponse", "httpCallSizes"]), [
      "requestHeaders(2,3,1)",
      "httpCallResponse(1,4,1)",
      "httpCallSizes(4,0,0)",
      "httpCallResponse(1,12,0)",
      "httpCallSizes(0,0,0)",
    ]);
    assert.deepEqual(host.httpCalls.map((c) => c.cluster), ["slow"]);
    host.advanceTime(50);
    assert.deepEqual(host.httpCalls, []);
    assert.deepEqual(trace(host, ["httpCallResponse"]).at(-1), "httpCallResponse(1,8,1)");
  });

  test("without a proxy_on_http_call_response export nothing is called and nothing traps", async () => {
    const bytes = buildPlugin((kit) => ({ body: `${recordingCallbacks({ vmStart: { code: rec(0, httpCall(kit)) } })} ${calloutExports({}, ["httpCallResponse"])}` }));
    const host = await startPlugin(bytes, CLUSTERS);
    host.httpCalls[0]!.respond();
    assert.equal(host.failure, undefined);
    assert.deepEqual(host.httpCalls, []);
  });
});

describe("root destruction cancels outstanding callouts", () => {
  test("shutdown: on_delete, then every pending call, gRPC call and stream of the root is cancelled; answering one throws", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({ vmStart: { code: `${rec(0, httpCall(kit, { timeoutMs: 100 }))} ${rec(1, grpcCall(kit))} ${rec(2, grpcStream(kit))}` } })} ${calloutExports()}`,
    }));
    const host = await startPlugin(bytes, CLUSTERS);
    const [call] = host.httpCalls;
    const [grpc] = host.grpcCalls;
    const [stream] = host.grpcStreams;
    host.shutdown();
    assert.deepEqual([call!.state, grpc!.state, stream!.state], ["cancelled", "cancelled", "reset"]);
    assert.deepEqual([host.httpCalls, host.grpcCalls, host.grpcStreams, host.calloutsInFlight], [[], [], [], []]);
    assert.throws(() => call!.respond(), /already cancelled/);
    assert.throws(() => stream!.sendMessage("x"), /reset/);
    host.advanceTime(1000);
    assert.deepEqual(trace(host, ["httpCallResponse", "grpcClose"]), [], "not even the timeout fires");
  });

  test("a root parked by on_done = 0 still gets its answer, and may finish with proxy_done from the callback", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({ vmStart: { code: rec(0, httpCall(kit)) }, done: { result: 0 } })} ${calloutExports({ httpCallResponse: rec(1, "(call $proxy_done)") })}`,
    }));
    const host = await startPlugin(bytes, CLUSTERS);
    host.shutdown();
    assert.equal(host.awaitingDone, true);
    host.httpCalls[0]!.respond();
    assert.equal(slotValue(host, 1), WasmResult.Ok);
    assert.deepEqual(trace(host, ["done", "httpCallResponse", "delete"]), ["done(1,0,0)", "httpCallResponse(1,4,1)", "delete(1,0,0)"]);
  });
});

describe("clusters", () => {
  test("addCluster makes a cluster known at run time; gRPC takes a serialized GrpcService too", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        requestHeaders: { code: `${rec(0, httpCall(kit, { cluster: "late" }))} ${rec(1, grpcCall(kit, { service: envoyGrpc("late") }))}` },
      })} ${calloutExports()}`,
    }));
    const host = await startPlugin(bytes);
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual(slots(host, 0, 2), [WasmResult.BadArgument, WasmResult.InternalFailure]);
    host.addCluster("late");
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual(slots(host, 0, 2), [0, 0]);
    assert.equal(host.grpcCalls[0]!.cluster, "late");
  });
});
