// gRPC callouts in the mock host, driven by WAT plugins (ABI.md §4.6, §5.7 get_status,
// §5.9): unary calls and streams, what reaches the plugin in which order, the data windows
// of the callbacks, and the statuses of grpc_send / grpc_close / grpc_cancel over a
// call's or stream's life.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BufferType, decodePairs, GrpcStatus, MapType, WasmResult, type HostOptions } from "../runtime-mock/index.js";
import { calloutExports, envoyGrpc, type CalloutCode, getStatus, grpcCall, grpcStream, REQUEST, token, trace } from "./support/callout-kit.js";
import { buildPlugin, OUT_B, OUT_PTR, OUT_SIZE, put, rec, recordingCallbacks, saveOut, savedBytes, savedText, slotValue, startPlugin, type Kit } from "./support/plugin.js";

const CLUSTERS: HostOptions = { clusters: ["authz", "events"] };
const slots = (host: Awaited<ReturnType<typeof startPlugin>>, from: number, n: number) => Array.from({ length: n }, (_, i) => slotValue(host, from + i));
const send = (token: number | string, message = "(i32.const 0) (i32.const 0)", end = 0) =>
  `(call $proxy_grpc_send ${typeof token === "number" ? `(i32.const ${token})` : token} ${message} (i32.const ${end}))`;
const close = (token: number) => `(call $proxy_grpc_close (i32.const ${token}))`;
const cancel = (token: number) => `(call $proxy_grpc_cancel (i32.const ${token}))`;

/** A plugin whose root runs `start` in on_vm_start and whose streams run `onRequest` at request headers. */
function plugin(start: (kit: Kit) => string, onRequest: (kit: Kit) => string = () => "", code: (kit: Kit) => CalloutCode = () => ({})) {
  return buildPlugin((kit) => ({
    body: `${recordingCallbacks({ vmStart: { code: start(kit) }, requestHeaders: { code: onRequest(kit) } })} ${calloutExports(code(kit))}`,
  }));
}

describe("unary gRPC calls", () => {
  test("a call to a plain cluster name: what the server sees, and the answer as proxy_on_grpc_receive with buffer 5 live inside", async () => {
    const bytes = plugin(
      (kit) => `${rec(0, grpcCall(kit, { metadata: [["X-User", "ann"]], message: "\u0008\u0001", timeoutMs: 250 }))} ${token(10)}`,
      () => "",
      () => ({
        grpcReceive: `
          ${rec(20, `(call $proxy_get_buffer_bytes (i32.const ${BufferType.GrpcReceiveBuffer}) (i32.const 0) (i32.const -1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(21)}
          ${rec(23, `(call $proxy_set_buffer_bytes (i32.const ${BufferType.GrpcReceiveBuffer}) (i32.const 0) (i32.const -1) (i32.const 0) (i32.const 0))`)}
          ${rec(24, `(call $proxy_get_buffer_status (i32.const ${BufferType.GrpcReceiveBuffer}) (i32.const ${OUT_B}) (i32.const ${OUT_B + 4}))`)} ${put(25, `(i32.load (i32.const ${OUT_B}))`)}`,
      }),
    );
    const host = await startPlugin(bytes, CLUSTERS);
    assert.deepEqual([slotValue(host, 0), slotValue(host, 10)], [0, 5]);
    const [call] = host.grpcCalls;
    assert.ok(call);
    assert.deepEqual([call.cluster, call.serviceName, call.methodName, call.timeoutMs], ["authz", "authz.Authorizer", "Check", 250]);
    assert.deepEqual(call.initialMetadata.pairs(), [["x-user", "ann"]]);
    assert.deepEqual([...call.message], [8, 1]);
    call.respond(new Uint8Array([8, 1, 18, 2, 111, 107]));
    assert.deepEqual(trace(host, ["grpcInitialMetadata", "grpcReceive", "grpcTrailingMetadata", "grpcClose"]), ["grpcReceive(1,5,6)"], "a unary success is one proxy_on_grpc_receive");
    assert.deepEqual([...new TextEncoder().encode(savedText(host, 21))], [8, 1, 18, 2, 111, 107]);
    assert.deepEqual([slotValue(host, 23), slotValue(host, 24), slotValue(host, 25)], [0, 0, 0], "the receive buffer is a live Envoy buffer: the plugin drained it");
    assert.equal(call.state, "answered");
    assert.deepEqual(host.calloutsInFlight, []);
  });

  test("failure: proxy_on_grpc_close(status) with get_status (status, message); message cleared afterwards; an OK close without a message is Internal", async () => {
    const bytes = plugin(
      (kit) => `${rec(0, grpcCall(kit))} ${rec(1, grpcCall(kit))} (drop (call $proxy_set_tick_period_milliseconds (i32.const 1000)))`,
      () => "",
      () => ({ grpcClose: `(if (i32.eq (local.get $token) (i32.const 5)) (then ${getStatus(20)}) (else ${getStatus(30)}))` }),
    );
    const host = await startPlugin(bytes, CLUSTERS);
    const [first, second] = host.grpcCalls;
    first!.fail(GrpcStatus.PermissionDenied, "no way");
    second!.fail(GrpcStatus.Ok, "ignored");
    assert.deepEqual(trace(host, ["grpcClose"]), ["grpcClose(1,5,7)", "grpcClose(1,9,13)"]);
    assert.deepEqual([slotValue(host, 20), slotValue(host, 21), savedText(host, 22)], [0, 7, "no way"]);
    assert.deepEqual([slotValue(host, 30), slotValue(host, 31), slotValue(host, 33)], [0, 13, 0]);
  });

  test("timeout: Unavailable (14), \"upstream request timeout\" when virtual time reaches it; 0 means none", async () => {
    const bytes = plugin((kit) => `${rec(0, grpcCall(kit, { timeoutMs: 200 }))} ${rec(1, grpcCall(kit))}`, () => "", () => ({ grpcClose: getStatus(20) }));
    const host = await startPlugin(bytes, CLUSTERS);
    host.advanceTime(199);
    assert.deepEqual(trace(host, ["grpcClose"]), []);
    host.advanceTime(1);
    assert.deepEqual(trace(host, ["grpcClose"]), ["grpcClose(1,5,14)"]);
    assert.equal(savedText(host, 22), "upstream request timeout");
    host.advanceTime(1e6);
    assert.deepEqual(host.grpcCalls.map((c) => [c.token, c.timeoutMs]), [[9, undefined]]);
  });

  test("grpc_close and grpc_cancel cancel a call (no callback follows); then NOT_FOUND; a non-gRPC token BAD_ARGUMENT", async () => {
    const bytes = plugin(
      (kit) => `${rec(0, grpcCall(kit))} ${rec(1, grpcCall(kit))}
        ${rec(2, close(5))} ${rec(3, close(5))} ${rec(4, cancel(9))} ${rec(5, cancel(9))}
        ${rec(6, close(4))} ${rec(7, cancel(8))} ${rec(8, send(5))} ${rec(9, cancel(13))}`,
    );
    const host = await startPlugin(bytes, CLUSTERS);
    assert.deepEqual(slots(host, 2, 8), [0, WasmResult.NotFound, 0, WasmResult.NotFound, WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.NotFound]);
    assert.deepEqual(host.grpcCallHistory.map((c) => c.state), ["cancelled", "cancelled"]);
    assert.throws(() => host.grpcCallHistory[0]!.respond("late"), /already cancelled/);
  });

  test("an envoy_grpc target without such a cluster: INTERNAL_FAILURE, then proxy_on_grpc_close(14, \"Cluster not available\") once the callback returned", async () => {
    const bytes = plugin(
      () => "",
      (kit) => `${rec(0, grpcCall(kit, { service: envoyGrpc("missing") }))} ${rec(1, grpcStream(kit, { service: envoyGrpc("missing") }))} (call $event (i32.const 99) (i32.const 0) (i32.const 0) (i32.const 0))`,
      () => ({ grpcClose: getStatus(20) }),
    );
    const host = await startPlugin(bytes, CLUSTERS);
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual(slots(host, 0, 2), [WasmResult.InternalFailure, WasmResult.InternalFailure]);
    assert.deepEqual(trace(host, ["code99", "grpcClose"]), ["code99(0,0,0)", "grpcClose(1,5,14)", "grpcClose(1,6,14)"]);
    assert.equal(savedText(host, 22), "Cluster not available");
    assert.deepEqual(host.calloutsInFlight, []);
  });
});

describe("gRPC streams", () => {
  /** Opens stream 6 at start; each request runs the test's statements. */
  const streamPlugin = (onRequest: (kit: import("./support/plugin.js").Kit) => string = () => "") =>
    plugin((kit) => `${rec(0, grpcStream(kit, { metadata: [["x-source", "t"]] }))} ${token(10)}`, onRequest, (kit) => ({
      grpcInitialMetadata: `${rec(20, `(call $proxy_get_header_map_value (i32.const ${MapType.GrpcReceiveInitialMetadata}) ${kit.str("x-server")} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(40)}`,
      grpcTrailingMetadata: `${rec(21, `(call $proxy_get_header_map_pairs (i32.const ${MapType.GrpcReceiveTrailingMetadata}) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(22)}`,
      grpcReceive: `${rec(24, `(call $proxy_get_buffer_bytes (i32.const 5) (i32.const 0) (i32.const -1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(25)}`,
      grpcClose: getStatus(30),
    }));

  test("the server's headers, messages and trailers arrive in order; close carries the trailers' grpc-status and grpc-message", async () => {
    const host = await startPlugin(streamPlugin(), CLUSTERS);
    const [stream] = host.grpcStreams;
    assert.ok(stream);
    assert.deepEqual([stream.token, stream.serviceName, stream.methodName], [6, "events.Log", "Append"]);
    assert.deepEqual(stream.initialMetadata.pairs(), [["x-source", "t"]]);
    stream.sendInitialMetadata({ "x-server": "s1" });
    stream.sendMessage("one");
    stream.sendMessage("two");
    stream.close(GrpcStatus.NotFound, "gone", { "x-t": "1" });
    assert.deepEqual(trace(host, ["grpcInitialMetadata", "grpcReceive", "grpcTrailingMetadata", "grpcClose"]), [
      "grpcInitialMetadata(1,6,3)", // :status, content-type, x-server
      "grpcReceive(1,6,3)",
      "grpcReceive(1,6,3)",
      "grpcTrailingMetadata(1,6,3)", // x-t, grpc-status, grpc-message
      "grpcClose(1,6,5)",
    ]);
    assert.equal(savedText(host, 25), "two");
    assert.deepEqual([slotValue(host, 20), savedText(host, 40)], [0, "s1"], "map 4 readable inside its callback");
    assert.deepEqual(decodePairs(savedBytes(host, 22)), [["x-t", "1"], ["grpc-status", "5"], ["grpc-message", "gone"]], "map 5 inside its callback");
    assert.equal(slotValue(host, 21), 0);
    assert.deepEqual([slotValue(host, 30), slotValue(host, 31), savedText(host, 32)], [0, 5, "gone"]);
    assert.equal(stream.state, "closed");
    assert.throws(() => stream.sendMessage("more"), /already closed/);
  });

  test("a close without headers is trailers-only: empty initial metadata, then trailers that hold :status and content-type", async () => {
    const host = await startPlugin(streamPlugin(), CLUSTERS);
    host.grpcStreams[0]!.close(GrpcStatus.Unavailable);
    assert.deepEqual(trace(host, ["grpcInitialMetadata", "grpcTrailingMetadata", "grpcClose"]), ["grpcInitialMetadata(1,6,0)", "grpcTrailingMetadata(1,6,3)", "grpcClose(1,6,14)"]);
  });

  test("trailers decide the status: none → Unknown (2), not a number or above 16 → -1; a reset is empty trailers and Internal (13)", async () => {
    const host = await startPlugin(
      plugin((kit) => `${rec(0, grpcStream(kit))} ${rec(1, grpcStream(kit))} ${rec(2, grpcStream(kit))} ${rec(3, grpcStream(kit))}`),
      CLUSTERS,
    );
    const [a, b, c, d] = host.grpcStreams;
    a!.sendTrailingMetadata({ "x-only": "1" });
    b!.sendTrailingMetadata({ "grpc-status": "42" });
    c!.sendInitialMetadata();
    c!.reset();
    d!.sendTrailingMetadata({ "grpc-status": "0" });
    assert.deepEqual(trace(host, ["grpcTrailingMetadata", "grpcClose"]), [
      "grpcTrailingMetadata(1,6,3)",
      "grpcClose(1,6,2)",
      "grpcTrailingMetadata(1,10,3)",
      "grpcClose(1,10,4294967295)",
      "grpcTrailingMetadata(1,14,0)",
      "grpcClose(1,14,13)",
      "grpcTrailingMetadata(1,18,3)",
      "grpcClose(1,18,0)",
    ]);
  });

  test("statuses over a stream's life: send OK while open; after the server's close the token stays until the plugin closes it", async () => {
    const host = await startPlugin(
      streamPlugin((kit) => `${rec(1, send(6, kit.str("hello")))} ${rec(2, send(6, kit.str("bye"), 1))} ${rec(3, send(5))} ${rec(4, send(98))}`),
      CLUSTERS,
    );
    const stream = host.grpcStreams[0]!;
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual(slots(host, 1, 4), [0, 0, WasmResult.BadArgument, WasmResult.NotFound]);
    assert.deepEqual(stream.messageTexts, ["hello", "bye"]);
    assert.equal(stream.halfClosed, true);
    stream.close();
    assert.deepEqual(host.calloutsInFlight, [6], "remote close alone does not forget the stream");
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual(slots(host, 1, 2), [0, 0], "grpc_send still OK (nothing is sent)");
    assert.deepEqual(stream.messageTexts, ["hello", "bye"]);
  });

  test("grpc_close half-closes: the server may still send and close; the token is then gone. grpc_cancel resets: nothing more arrives", async () => {
    const host = await startPlugin(
      plugin((kit) => `${rec(0, grpcStream(kit))} ${rec(1, grpcStream(kit))} ${rec(2, close(6))} ${rec(3, close(6))} ${rec(4, cancel(10))} ${rec(5, cancel(10))}`, (kit) =>
        `${rec(6, send(6))} ${rec(7, close(6))} ${rec(8, send(10))}`,
      ),
      CLUSTERS,
    );
    assert.deepEqual(slots(host, 2, 4), [0, 0, 0, WasmResult.NotFound]);
    const [open, reset] = host.grpcStreamHistory;
    assert.deepEqual([open!.state, open!.halfClosed, reset!.state], ["open", true, "reset"]);
    assert.throws(() => reset!.sendMessage("x"), /reset by the plugin/);
    open!.sendMessage("still");
    open!.close();
    assert.deepEqual(trace(host, ["grpcReceive", "grpcClose"]), ["grpcReceive(1,6,5)", "grpcClose(1,6,0)"]);
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual(slots(host, 6, 3), [WasmResult.NotFound, WasmResult.NotFound, WasmResult.NotFound]);
    assert.deepEqual(host.calloutsInFlight, []);
  });

  test("grpc_stream checks: unknown plain cluster PARSE_FAILURE; bytes that parse as a GrpcService without a target BAD_ARGUMENT (its token stays known)", async () => {
    const host = await startPlugin(
      plugin(
        (kit) => `${rec(0, grpcStream(kit, { service: "nowhere" }))} ${rec(1, grpcStream(kit, { service: "my_cluster" }))}
          ${rec(2, send(6))} ${rec(3, close(6))} ${rec(4, close(6))} ${rec(5, cancel(6))} ${rec(6, cancel(6))}`,
      ),
      CLUSTERS,
    );
    assert.deepEqual(slots(host, 0, 7), [WasmResult.ParseFailure, WasmResult.BadArgument, 0, 0, 0, 0, WasmResult.NotFound]);
    assert.deepEqual(host.grpcStreamHistory, []);
  });
});
