// Buffer host calls and body buffering (ABI.md §3.4, §5.6, §10 #7, E-FLOW).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FilterDataStatus, WasmResult } from "../runtime-mock/index.js";
import {
  ALLOC_COUNT,
  buildPlugin,
  events,
  OUT_A,
  OUT_PTR,
  OUT_SIZE,
  readU32,
  rec,
  recordingCallbacks,
  saveOut,
  savedText,
  slotValue,
  startPlugin,
  type Kit,
} from "./support/plugin.js";

const getBytes = (type: number, start: number, max: number) =>
  `(call $proxy_get_buffer_bytes (i32.const ${type}) (i32.const ${start}) (i32.const ${max}) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`;
const setBytes = (kit: Pick<Kit, "str">, type: number, start: number, size: number, data: string) =>
  `(call $proxy_set_buffer_bytes (i32.const ${type}) (i32.const ${start}) (i32.const ${size}) ${kit.str(data)})`;
const status = (type: number) => `(call $proxy_get_buffer_status (i32.const ${type}) (i32.const ${OUT_A}) (i32.const ${OUT_A + 4}))`;
const scribble = `(i32.store (i32.const ${OUT_PTR}) (i32.const 77)) (i32.store (i32.const ${OUT_SIZE}) (i32.const 77))`;
const allocCount = `(i32.load (i32.const ${ALLOC_COUNT}))`;

describe("proxy_set_buffer_bytes (Envoy Buffer::copyFrom)", () => {
  test("prepend, drain-then-prepend, replace all, append; 0 < start < len is BAD_ARGUMENT", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestBody: {
          code: `
            ${rec(0, setBytes(kit, 0, 0, 0, "X"))}            ;; Xhello
            ${rec(1, setBytes(kit, 0, 0, 2, "AB"))}           ;; drain "Xh" → ABello
            ${rec(2, getBytes(0, 0, -1))} ${saveOut(20)}
            ${rec(3, setBytes(kit, 0, 0, -1, "R"))}           ;; replace all → R
            ${rec(4, setBytes(kit, 0, -1, 0, "Z"))}           ;; append → RZ
            ${rec(5, setBytes(kit, 0, 1, 0, "Q"))}            ;; inside: refused
            ${rec(6, setBytes(kit, 0, 2, 5, "E"))}            ;; start = len: append, size ignored → RZE`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    assert.equal(stream.sendRequestBody("hello", true), FilterDataStatus.Continue);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => slotValue(host, i)), [0, 0, 0, 0, 0, WasmResult.BadArgument, 0]);
    assert.equal(savedText(host, 20), "ABello");
    assert.equal(stream.request.bodyText, "RZE");
  });
});

describe("proxy_get_buffer_bytes / _status", () => {
  test("ranges are clamped; max 0xFFFFFFFF reads all; an empty range is OK 0/0 without allocating", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        vmStart: {
          code: `
            ${rec(0, getBytes(6, 0, -1))} ${saveOut(20)}
            ${rec(1, getBytes(6, 3, -1))} ${saveOut(22)}
            ${rec(2, getBytes(6, 2, 3))} ${saveOut(24)}
            ${rec(9, allocCount)}
            ${scribble} ${rec(3, getBytes(6, -16, -1))} ${saveOut(26)}
            ${scribble} ${rec(4, getBytes(6, 0, 0))} ${saveOut(28)}
            ${scribble} ${rec(5, getBytes(6, 100, 5))} ${saveOut(30)}
            ${rec(10, allocCount)}`,
        },
      }),
    }));
    const host = await startPlugin(bytes, { vmConfig: "0123456789" });
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => slotValue(host, i)), Array(6).fill(WasmResult.Ok));
    assert.equal(savedText(host, 20), "0123456789");
    assert.equal(savedText(host, 22), "3456789");
    assert.equal(savedText(host, 24), "234");
    for (const i of [26, 28, 30]) assert.deepEqual([slotValue(host, i), slotValue(host, i + 1)], [0, 0], `slot ${i}`);
    assert.equal(slotValue(host, 10), slotValue(host, 9), "no allocation for empty ranges");
  });

  test("type > 8 is BAD_ARGUMENT before anything; the lookup (NOT_FOUND) comes before the data pointer; immutable buffers refuse writes", async () => {
    const bad = "(i32.const -16) (i32.const 64)";
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: {
          code: `
            ${rec(0, `(call $proxy_get_buffer_bytes (i32.const 9) (i32.const 0) (i32.const 1) (i32.const -4) (i32.const -4))`)}
            ${rec(1, `(call $proxy_set_buffer_bytes (i32.const 9) (i32.const 0) (i32.const 0) ${bad})`)}
            ${rec(2, `(call $proxy_get_buffer_status (i32.const 9) (i32.const -4) (i32.const -4))`)}
            ${rec(3, `(call $proxy_set_buffer_bytes (i32.const 7) (i32.const 0) (i32.const 0) ${bad})`)}
            ${rec(4, `(call $proxy_set_buffer_bytes (i32.const 6) (i32.const 0) (i32.const 0) ${bad})`)}
            ${rec(5, setBytes(kit, 6, 0, 0, "x"))}
            ${rec(6, getBytes(4, 0, 1))}
            ${rec(7, `(call $proxy_get_buffer_status (i32.const 6) (i32.const -4) (i32.const 0))`)}
            (i32.store (i32.const ${OUT_A + 4}) (i32.const 99)) ${rec(8, status(6))} ${rec(9, `(i32.load (i32.const ${OUT_A}))`)} ${rec(10, `(i32.load (i32.const ${OUT_A + 4}))`)}`,
        },
      }),
    }));
    const host = await startPlugin(bytes, { vmConfig: "abc" });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => slotValue(host, i)),
      [
        WasmResult.BadArgument,
        WasmResult.BadArgument,
        WasmResult.BadArgument,
        WasmResult.NotFound,
        WasmResult.InvalidMemoryAccess,
        WasmResult.BadArgument,
        WasmResult.NotFound,
        WasmResult.InvalidMemoryAccess,
        WasmResult.Ok,
        3,
        0,
      ],
    );
  });

  test("body buffers outside their callback are empty: get OK size 0, set BAD_ARGUMENT; gRPC buffer the same; buffer 4 NOT_FOUND", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        responseHeaders: {
          code: `${rec(0, status(0))} ${rec(1, `(i32.load (i32.const ${OUT_A}))`)} ${rec(2, setBytes(kit, 0, 0, 0, "x"))}
            ${rec(3, status(1))} ${rec(4, setBytes(kit, 1, 0, 0, "x"))}
            ${rec(5, status(5))} ${rec(6, setBytes(kit, 5, 0, 0, "x"))} ${rec(7, status(4))}
            ${rec(8, status(2))} ${rec(9, setBytes(kit, 3, 0, 0, "x"))}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    stream.sendRequestBody("body", true);
    stream.sendResponseHeaders({ ":status": "200" }, true);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => slotValue(host, i)),
      [0, 0, WasmResult.BadArgument, 0, WasmResult.BadArgument, 0, WasmResult.BadArgument, WasmResult.NotFound, 0, WasmResult.BadArgument],
    );
  });

  test("⚠ buffer 8 answers whatever the context last placed in its scratch buffer (empty at first)", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        vmStart: {
          code: `${rec(0, status(8))} ${rec(1, `(i32.load (i32.const ${OUT_A}))`)}
            (drop ${getBytes(6, 0, -1)}) ${rec(2, status(8))} ${rec(3, `(i32.load (i32.const ${OUT_A}))`)}
            ${rec(4, getBytes(8, 0, -1))} ${saveOut(20)}`,
        },
      }),
    }));
    const host = await startPlugin(bytes, { vmConfig: "vm-config" });
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => slotValue(host, i)), [0, 0, 0, 9, 0]);
    assert.equal(savedText(host, 20), "vm-config");
  });
});

describe("body buffering (ABI.md §5.6, §8.2)", () => {
  test("StopIterationAndBuffer: cumulative sizes, the whole body readable and editable, Continue forwards the edit", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestBody: {
          code: `(if (local.get $eos) (then ${rec(0, getBytes(0, 0, -1))} ${saveOut(20)} ${rec(1, setBytes(kit, 0, 0, -1, "REPLACED"))}))`,
          result: "(select (i32.const 0) (i32.const 1) (local.get $eos))",
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    assert.equal(stream.sendRequestBody("ab"), FilterDataStatus.StopIterationAndBuffer);
    assert.equal(stream.sendRequestBody("cd"), FilterDataStatus.StopIterationAndBuffer);
    assert.equal(stream.request.bufferedBody.length, 4);
    assert.equal(stream.request.body.length, 0);
    assert.equal(stream.request.paused, true);
    assert.equal(stream.sendRequestBody("ef", true), FilterDataStatus.Continue);
    assert.deepEqual(events(host).filter((e) => e.name === "requestBody").map((e) => [e.a, e.b]), [[2, 0], [4, 0], [6, 1]]);
    assert.equal(savedText(host, 20), "abcdef");
    assert.equal(stream.request.bodyText, "REPLACED");
    assert.equal(stream.request.endStreamForwarded, true);
    assert.equal(stream.request.paused, false);
  });

  test("StopIterationNoBuffer drops the chunk from what is forwarded", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({ requestBody: { result: "(select (i32.const 0) (i32.const 3) (local.get $eos))" } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    assert.equal(stream.sendRequestBody("dropped"), FilterDataStatus.StopIterationNoBuffer);
    assert.equal(stream.sendRequestBody("kept", true), FilterDataStatus.Continue);
    assert.equal(stream.request.bodyText, "kept");
  });

  test("StopIterationAndWatermark: the plugin sees each chunk alone, Envoy keeps them, Continue forwards all", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({ requestBody: { result: "(select (i32.const 0) (i32.const 2) (local.get $eos))" } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    stream.sendRequestBody("abc");
    stream.sendRequestBody("de", true);
    assert.deepEqual(events(host).filter((e) => e.name === "requestBody").map((e) => e.a), [3, 2]);
    assert.equal(stream.request.bodyText, "abcde");
  });

  test("a body callback value above 3 is StopIterationNoBuffer", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks({ requestBody: { result: 7 } }) })));
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    assert.equal(stream.sendRequestBody("x", true), FilterDataStatus.StopIterationNoBuffer);
  });

  test("buffering past the limit: request → local 413 through the plugin's own response callbacks, no more body callbacks", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks({ requestBody: { result: 1 } }) })), { bufferLimitBytes: 10 });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/", ":method": "POST" });
    assert.equal(stream.sendRequestBody("123456"), FilterDataStatus.StopIterationAndBuffer);
    assert.equal(stream.sendRequestBody("789012"), FilterDataStatus.StopIterationAndBuffer);
    assert.equal(stream.localResponse?.status, 413);
    assert.equal(stream.localResponse?.bodyText, "Payload Too Large");
    assert.equal(stream.localResponse?.generatedBy, "envoy");
    assert.equal(stream.responseCodeDetails, "request_payload_too_large");
    assert.deepEqual(stream.response.headers.pairs(), [[":status", "413"], ["content-length", "17"], ["content-type", "text/plain"]]);
    assert.deepEqual(
      events(host).slice(4).map((e) => [e.name, e.a]),
      [["requestHeaders", 2], ["requestBody", 6], ["responseHeaders", 3], ["responseBody", 17], ["log", 0], ["done", 0], ["delete", 0]],
    );
    assert.equal(stream.completed, true);
  });

  test("response buffering past the limit before the headers went out → 500 straight to the client", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks({ responseHeaders: { result: 3 } }) })), { bufferLimitBytes: 4 });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    stream.sendResponseHeaders({ ":status": "200" });
    assert.equal(stream.sendResponseBody("12345"), FilterDataStatus.StopIterationAndBuffer);
    assert.equal(stream.localResponse?.status, 500);
    assert.equal(stream.response.bodyText, "Internal Server Error");
    assert.equal(stream.response.headers.get(":status"), "500");
    assert.equal(stream.responseCodeDetails, "response_payload_too_large");
    assert.equal(events(host).filter((e) => e.name === "responseHeaders").length, 1, "the direct reply bypasses the plugin");
    assert.equal(stream.completed, true);
  });

  test("response buffering past the limit after the headers went out → reset", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks({ responseBody: { result: 1 } }) })), { bufferLimitBytes: 4 });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    stream.sendResponseHeaders({ ":status": "200" });
    stream.sendResponseBody("12345");
    assert.equal(stream.resetReason, "local reset");
    assert.equal(stream.localResponse, undefined);
    assert.equal(stream.completed, true);
  });

  test("paused headers (watermark mode): over the limit is flow control, not an error", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks({ requestHeaders: { result: 1 } }) })), { bufferLimitBytes: 4 });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    assert.equal(stream.sendRequestBody("123456"), FilterDataStatus.StopIterationAndWatermark);
    assert.equal(stream.localResponse, undefined);
    assert.deepEqual(stream.flowControlled, { request: true, response: false });
    assert.equal(stream.request.bufferedBody.length, 6);
  });

  test("reading the body allocates exactly once per non-empty copy", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({ requestBody: { code: `${rec(0, allocCount)} (drop ${getBytes(0, 0, -1)}) ${rec(1, allocCount)}` } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" });
    stream.sendRequestBody("abc", true);
    assert.equal(slotValue(host, 1) - slotValue(host, 0), 1);
    assert.equal(readU32(host, OUT_SIZE), 3);
  });
});

describe("forwarded bodies: read whole by a test, or passed on and dropped by a proxy", () => {
  test("bodyFrom hands out each new part once; with retainForwardedBody false nothing handed out is kept", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks() })));
    for (const retain of [true, false]) {
      const stream = host.newHttpStream({ retainForwardedBody: retain });
      stream.sendRequestHeaders([[":path", "/"], [":method", "POST"]]);
      let passedOn = "";
      let offset = 0;
      for (const part of ["ab", "cde", "", "fgh"]) {
        stream.sendRequestBody(part, part === "fgh");
        passedOn += new TextDecoder().decode(stream.request.bodyFrom(offset));
        offset = stream.request.bodyLength;
      }
      assert.equal(passedOn, "abcdefgh");
      assert.equal(stream.request.bodyLength, 8, "the count covers every byte forwarded");
      assert.equal(stream.request.bodyText, retain ? "abcdefgh" : "", retain ? "kept whole for the test" : "nothing lingers once passed on");
      assert.equal(new TextDecoder().decode(stream.request.bodyFrom(3)), retain ? "defgh" : "", "reading again from an earlier offset");
    }
  });
});
