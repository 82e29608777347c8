// Header map host calls in each phase of a stream, with Envoy's exact statuses (ABI.md §3.5,
// §5.5, §6.1, §10 #8/#9/#12/#20/#21).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { encodePairs, WasmResult } from "../runtime-mock/index.js";
import {
  buildPlugin,
  eventNames,
  OUT_A,
  OUT_PTR,
  OUT_SIZE,
  outBytes,
  outText,
  readU32,
  rec,
  recordingCallbacks,
  saveOut,
  savedBytes,
  savedText,
  slotValue,
  startPlugin,
  type Kit,
} from "./support/plugin.js";

type K = Pick<Kit, "str" | "bytes">;
const get = (kit: K, map: number, key: string) => `(call $proxy_get_header_map_value (i32.const ${map}) ${kit.str(key)} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`;
const add = (kit: K, map: number, key: string, value: string) => `(call $proxy_add_header_map_value (i32.const ${map}) ${kit.str(key)} ${kit.str(value)})`;
const replace = (kit: K, map: number, key: string, value: string) => `(call $proxy_replace_header_map_value (i32.const ${map}) ${kit.str(key)} ${kit.str(value)})`;
const remove = (kit: K, map: number, key: string) => `(call $proxy_remove_header_map_value (i32.const ${map}) ${kit.str(key)})`;
const size = (map: number) => `(call $proxy_get_header_map_size (i32.const ${map}) (i32.const ${OUT_A}))`;
const pairs = (map: number) => `(call $proxy_get_header_map_pairs (i32.const ${map}) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`;
/** Fills the out-params with garbage, to see that the host writes them. */
const scribble = `(i32.store (i32.const ${OUT_PTR}) (i32.const 77)) (i32.store (i32.const ${OUT_SIZE}) (i32.const 77))`;

const REQUEST = { ":method": "GET", ":path": "/p", ":authority": "h", "x-a": "1" };

describe("request headers inside proxy_on_request_headers", () => {
  test("get / missing key / add / replace / remove / size (Σ bytes = 32)", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestHeaders: {
          code: `
            ${rec(0, size(0))} ${rec(1, `(i32.load (i32.const ${OUT_A}))`)}
            ${rec(2, get(kit, 0, "X-A"))} ${saveOut(20)}
            ${scribble} ${rec(3, get(kit, 0, "x-missing"))} ${saveOut(24)}
            ${rec(4, add(kit, 0, "X-New", "n1"))} ${rec(5, add(kit, 0, "x-new", "n2"))}
            ${rec(6, replace(kit, 0, ":method", "POST"))}
            ${rec(7, remove(kit, 0, "x-a"))} ${rec(8, remove(kit, 0, "x-absent"))}
            ${rec(9, get(kit, 0, "host"))} ${saveOut(22)}
            ${rec(10, add(kit, 0, "user-agent", "a"))} ${rec(11, add(kit, 0, "user-agent", "b"))}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    assert.deepEqual([slotValue(host, 0), slotValue(host, 1)], [WasmResult.Ok, 32]);
    assert.equal(slotValue(host, 2), WasmResult.Ok);
    assert.equal(savedText(host, 20), "1");
    assert.equal(slotValue(host, 3), WasmResult.NotFound);
    assert.deepEqual([slotValue(host, 24), slotValue(host, 25)], [77, 77], "NOT_FOUND writes nothing");
    assert.deepEqual([4, 5, 6, 7, 8, 10, 11].map((i) => slotValue(host, i)), Array(7).fill(WasmResult.Ok));
    assert.equal(slotValue(host, 9), WasmResult.Ok);
    assert.equal(savedText(host, 22), "h", "host is :authority");
    assert.deepEqual(stream.request.headers.pairs(), [
      [":path", "/p"],
      [":authority", "h"],
      [":method", "POST"],
      ["x-new", "n1"],
      ["x-new", "n2"],
      ["user-agent", "a,b"],
    ]);
    assert.equal(stream.request.headersForwarded, true);
  });

  test("0.1.0: a missing key is OK with an empty value (ptr 0, size 0)", async () => {
    const bytes = buildPlugin((kit) => ({
      version: "0.1.0",
      body: recordingCallbacks({ requestHeaders: { code: `${scribble} ${rec(0, get(kit, 0, "x-missing"))}` } }, "0.1.0"),
    }));
    const host = await startPlugin(bytes);
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.equal(slotValue(host, 0), WasmResult.Ok);
    assert.deepEqual([readU32(host, OUT_PTR), readU32(host, OUT_SIZE)], [0, 0]);
  });

  test("pairs come back in map order as the §6.1 encoding; an empty value is 0/0 without a count word", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestHeaders: { code: `${rec(0, pairs(0))} ${saveOut(10)} ${scribble} ${rec(1, pairs(1))} ${saveOut(12)}` },
      }),
    }));
    const host = await startPlugin(bytes);
    host.newHttpStream().sendRequestHeaders([["a", "b"], [":path", "/y"]], true);
    assert.equal(slotValue(host, 0), WasmResult.Ok);
    const got = savedBytes(host, 10);
    assert.equal(got.length, 33);
    assert.deepEqual(got, encodePairs([[":path", "/y"], ["a", "b"]]));
    assert.equal(slotValue(host, 1), WasmResult.Ok, "no request trailers: OK + empty");
    assert.deepEqual([slotValue(host, 12), slotValue(host, 13)], [0, 0]);
  });

  test("set_header_map_pairs replaces everything with add's rules; a malformed list empties the map", async () => {
    const good = encodePairs([["X-Forwarded-For", "a"], ["x-forwarded-for", "b"], ["x-n", "1"], [":method", "PUT"]]);
    const bad = new Uint8Array([...encodePairs([["a", "b"]]), 0]); // one trailing byte
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestHeaders: { code: rec(0, `(call $proxy_set_header_map_pairs (i32.const 0) ${kit.bytes(good)})`) },
        responseHeaders: { code: rec(1, `(call $proxy_set_header_map_pairs (i32.const 2) ${kit.bytes(bad)})`) },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    stream.sendResponseHeaders({ ":status": "200", server: "s" }, true);
    assert.deepEqual([slotValue(host, 0), slotValue(host, 1)], [WasmResult.Ok, WasmResult.Ok]);
    assert.deepEqual(stream.request.headers.pairs(), [[":method", "PUT"], ["x-forwarded-for", "a,b"], ["x-n", "1"]]);
    assert.deepEqual(stream.response.headers.pairs(), []);
  });

  test("map type 8 is BAD_ARGUMENT before the memory check; a bad key pointer is INVALID_MEMORY_ACCESS", async () => {
    const bad = "(i32.const -16) (i32.const 64)";
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        requestHeaders: {
          code: `
            ${rec(0, `(call $proxy_get_header_map_value (i32.const 8) ${bad} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
            ${rec(1, `(call $proxy_get_header_map_value (i32.const 0) ${bad} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
            ${rec(2, `(call $proxy_add_header_map_value (i32.const 8) ${bad} ${bad})`)}
            ${rec(3, `(call $proxy_add_header_map_value (i32.const 0) (i32.const 0) (i32.const 0) ${bad})`)}
            ${rec(4, `(call $proxy_get_header_map_pairs (i32.const 9) (i32.const -4) (i32.const -4))`)}
            ${rec(5, `(call $proxy_get_header_map_pairs (i32.const 0) (i32.const -4) (i32.const -4))`)}
            ${rec(6, `(call $proxy_set_header_map_pairs (i32.const 0) ${bad})`)}
            ${rec(7, `(call $proxy_get_header_map_size (i32.const 0) (i32.const -4))`)}
            ${rec(8, `(call $proxy_remove_header_map_value (i32.const 8) ${bad})`)}
            ${rec(9, `(call $proxy_get_header_map_size (i32.const -1) (i32.const 0))`)}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => slotValue(host, i)),
      [
        WasmResult.BadArgument,
        WasmResult.InvalidMemoryAccess,
        WasmResult.BadArgument,
        WasmResult.InvalidMemoryAccess,
        WasmResult.BadArgument,
        WasmResult.InvalidMemoryAccess,
        WasmResult.InvalidMemoryAccess,
        WasmResult.InvalidMemoryAccess,
        WasmResult.BadArgument,
        WasmResult.BadArgument,
      ],
    );
  });

  test("maps 4–7 are read-only and absent outside callout callbacks", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestHeaders: {
          code: [4, 5, 6, 7]
            .map((m, i) => `${rec(i * 4, get(kit, m, "a"))} ${rec(i * 4 + 1, add(kit, m, "a", "b"))} ${rec(i * 4 + 2, size(m))} ${rec(i * 4 + 3, pairs(m))}`)
            .join(" "),
        },
      }),
    }));
    const host = await startPlugin(bytes);
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(
        [0, 1, 2, 3].map((k) => slotValue(host, i * 4 + k)),
        [WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.Ok],
        `map ${i + 4}`,
      );
    }
  });
});

describe("availability windows", () => {
  test("after Continue the request headers are gone: value/mutations/size BAD_ARGUMENT, pairs OK + empty", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        responseHeaders: {
          code: `${rec(0, get(kit, 0, ":path"))} ${rec(1, add(kit, 0, "x", "y"))} ${rec(2, replace(kit, 0, "x", "y"))}
            ${rec(3, remove(kit, 0, "x"))} ${rec(4, size(0))} ${scribble} ${rec(5, pairs(0))} ${saveOut(10)}
            ${rec(6, get(kit, 2, ":status"))} ${rec(7, add(kit, 2, "x-r", "1"))}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    stream.sendResponseHeaders({ ":status": "200" }, true);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => slotValue(host, i)), Array(5).fill(WasmResult.BadArgument));
    assert.equal(slotValue(host, 5), WasmResult.Ok);
    assert.deepEqual([slotValue(host, 10), slotValue(host, 11)], [0, 0]);
    assert.deepEqual([slotValue(host, 6), slotValue(host, 7)], [WasmResult.Ok, WasmResult.Ok]);
    assert.deepEqual(stream.response.headers.pairs(), [[":status", "200"], ["x-r", "1"]]);
  });

  test("proxy_continue_stream(0) drops the request pointers at once, inside the same callback", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestHeaders: { code: `${rec(0, get(kit, 0, ":path"))} ${rec(1, "(call $proxy_continue_stream (i32.const 0))")} ${rec(2, get(kit, 0, ":path"))}`, result: 1 },
      }),
    }));
    const host = await startPlugin(bytes);
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual([0, 1, 2].map((i) => slotValue(host, i)), [WasmResult.Ok, WasmResult.Ok, WasmResult.BadArgument]);
  });

  test("⚠ continue_stream(RESPONSE) drops the request-side pointers and keeps the response ones", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestHeaders: { result: 1 }, // the request stays paused
        responseHeaders: {
          code: `${rec(0, get(kit, 0, ":path"))} ${rec(1, "(call $proxy_continue_stream (i32.const 1))")}
            ${rec(2, get(kit, 0, ":path"))} ${rec(3, get(kit, 2, ":status"))} ${rec(4, add(kit, 2, "x-after", "1"))}`,
          result: 1,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, false);
    stream.sendResponseHeaders({ ":status": "200" }, false); // an early response
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => slotValue(host, i)), [WasmResult.Ok, WasmResult.Ok, WasmResult.BadArgument, WasmResult.Ok, WasmResult.Ok]);
    assert.equal(stream.request.paused, true, "the request itself is still held");
    assert.equal(stream.response.headersForwarded, true, "the deferred continue resumed the response");
    assert.equal(stream.response.headers.get("x-after"), "1");
  });

  test("in proxy_on_log: request headers readable but read-only; request trailers NOT_FOUND; absent response trailers NOT_FOUND", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        log: {
          code: `${rec(0, get(kit, 0, ":path"))} ${saveOut(20)} ${rec(1, add(kit, 0, "x", "y"))} ${rec(2, size(0))}
            ${rec(3, get(kit, 1, "a"))} ${rec(4, get(kit, 2, "server"))} ${saveOut(22)} ${rec(5, get(kit, 3, "a"))}
            ${rec(6, pairs(1))} ${rec(7, get(kit, 6, "a"))} ${rec(8, get(kit, 2, "nope"))}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, false);
    stream.sendRequestTrailers({ "x-t": "1" });
    stream.sendResponseHeaders({ ":status": "200", server: "envoy" }, true);
    assert.equal(stream.completed, true);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => slotValue(host, i)),
      [WasmResult.Ok, WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.NotFound, WasmResult.Ok, WasmResult.NotFound, WasmResult.Ok, WasmResult.NotFound, WasmResult.NotFound],
    );
    assert.equal(savedText(host, 20), "/p");
    assert.equal(savedText(host, 22), "envoy");
  });

  test("0.1.0 in proxy_on_log: an absent map answers OK with an empty value", async () => {
    const bytes = buildPlugin((kit) => ({
      version: "0.1.0",
      body: recordingCallbacks({ log: { code: `${scribble} ${rec(0, get(kit, 3, "a"))}` } }, "0.1.0"),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    stream.sendResponseHeaders({ ":status": "200" }, true);
    assert.equal(slotValue(host, 0), WasmResult.Ok);
    assert.deepEqual([readU32(host, OUT_PTR), readU32(host, OUT_SIZE)], [0, 0]);
  });

  test("request trailers: readable in their callback, gone after Continue", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestTrailers: { code: `${rec(0, get(kit, 1, "x-t"))} ${saveOut(20)} ${rec(1, add(kit, 1, "x-u", "2"))}` },
        responseHeaders: { code: `${rec(2, get(kit, 1, "x-t"))} ${rec(3, pairs(1))}` },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, false);
    stream.sendRequestTrailers({ "x-t": "1" });
    stream.sendResponseHeaders({ ":status": "200" }, true);
    assert.deepEqual([0, 1, 2, 3].map((i) => slotValue(host, i)), [WasmResult.Ok, WasmResult.Ok, WasmResult.BadArgument, WasmResult.Ok]);
    assert.equal(savedText(host, 20), "1");
    assert.deepEqual(stream.request.trailers?.pairs(), [["x-t", "1"], ["x-u", "2"]]);
    assert.equal(stream.request.endStreamForwarded, true);
  });

  test("writing trailers during the last body chunk creates them; on an earlier chunk it is BAD_ARGUMENT", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        requestBody: {
          code: `(if (local.get $eos) (then ${rec(1, add(kit, 1, "x-added", "t"))} ${rec(2, size(1))}) (else ${rec(0, add(kit, 1, "x-early", "t"))}))`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, false);
    stream.sendRequestBody("a", false);
    stream.sendRequestBody("b", true);
    assert.deepEqual([0, 1, 2].map((i) => slotValue(host, i)), [WasmResult.BadArgument, WasmResult.Ok, WasmResult.Ok]);
    assert.deepEqual(stream.request.trailers?.pairs(), [["x-added", "t"]]);
    assert.equal(stream.request.bodyText, "ab");
    assert.equal(stream.request.endStreamForwarded, true);
    assert.ok(!eventNames(host).includes("requestTrailers"), "the plugin does not see trailers it added");
  });

  test("response header pairs in their callback, in map order", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({ responseHeaders: { code: `${rec(0, pairs(2))} ${saveOut(10)}` } }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    stream.sendResponseHeaders({ ":status": "201", "content-type": "text/plain" }, true);
    assert.deepEqual(savedBytes(host, 10), encodePairs([[":status", "201"], ["content-type", "text/plain"]]));
    assert.equal(outText(host).length > 0, true);
    assert.equal(outBytes(host).length, savedBytes(host, 10).length);
  });
});

