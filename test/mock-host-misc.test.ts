// Metrics, shared data and queues, time, properties, foreign functions and the callout
// argument checks (ABI.md §3.10, §5.2, §5.4, §5.8–§5.12, §5.14, §5.15).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { encodePairs, MetricType, WasmResult } from "../runtime-mock/index.js";
import {
  buildPlugin,
  OUT_A,
  OUT_B,
  OUT_PTR,
  OUT_SIZE,
  readU32,
  readU64,
  rec,
  recordingCallbacks,
  saveOut,
  savedBytes,
  savedText,
  slotValue,
  startPlugin,
} from "./support/plugin.js";

const slots = (host: Awaited<ReturnType<typeof startPlugin>>, n: number) => Array.from({ length: n }, (_, i) => slotValue(host, i));

describe("metrics (ABI.md §5.12)", () => {
  test("ids: counters 4, 8…, gauge 5, histogram 6; type > 2 BAD_ARGUMENT after the name's memory check", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: {
          code: [
            ["0", "a"],
            ["0", "a"],
            ["1", "g"],
            ["2", "h"],
          ]
            .map(([t, n], i) => `${rec(i, `(call $proxy_define_metric (i32.const ${t}) ${kit.str(n!)} (i32.const ${OUT_A + 8 * i}))`)} ${rec(10 + i, `(i32.load (i32.const ${OUT_A + 8 * i}))`)}`)
            .join(" ")
            .concat(` ${rec(4, `(call $proxy_define_metric (i32.const 3) ${kit.str("x")} (i32.const ${OUT_PTR}))`)}`)
            .concat(` ${rec(5, `(call $proxy_define_metric (i32.const 9) (i32.const -8) (i32.const 64) (i32.const ${OUT_PTR}))`)}`),
        },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 6), [0, 0, 0, 0, WasmResult.BadArgument, WasmResult.InvalidMemoryAccess]);
    assert.deepEqual([10, 11, 12, 13].map((i) => slotValue(host, i)), [4, 8, 5, 6]);
  });

  test("counter, gauge and histogram rules", async () => {
    const inc = (id: number, d: number) => `(call $proxy_increment_metric (i32.const ${id}) (i64.const ${d}))`;
    const record = (id: number, v: number) => `(call $proxy_record_metric (i32.const ${id}) (i64.const ${v}))`;
    const get = (id: number) => `(call $proxy_get_metric (i32.const ${id}) (i32.const ${OUT_B}))`;
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: {
          code: `
            (drop (call $proxy_define_metric (i32.const 0) ${kit.str("requests")} (i32.const ${OUT_A})))   ;; 4
            (drop (call $proxy_define_metric (i32.const 0) ${kit.str("requests")} (i32.const ${OUT_A})))   ;; 8, same stat
            (drop (call $proxy_define_metric (i32.const 1) ${kit.str("active")} (i32.const ${OUT_A})))     ;; 5
            (drop (call $proxy_define_metric (i32.const 2) ${kit.str("latency")} (i32.const ${OUT_A})))    ;; 6
            ${rec(0, inc(4, 0))} ${rec(1, inc(4, -1))} ${rec(2, inc(4, 5))} ${rec(3, record(8, 10))}
            ${rec(4, get(8))} ${rec(20, `(i32.load (i32.const ${OUT_B}))`)}
            ${rec(5, record(5, 10))} ${rec(6, inc(5, -3))} ${rec(7, get(5))} ${rec(21, `(i32.load (i32.const ${OUT_B}))`)}
            ${rec(8, record(6, 42))} ${rec(9, inc(6, 1))} ${rec(10, get(6))}
            ${rec(11, inc(100, 1))} ${rec(12, get(100))} ${rec(13, record(100, 1))}
            ${rec(14, inc(7, 1))} ${rec(15, record(7, 1))} ${rec(16, get(7))}
            ${rec(17, `(call $proxy_get_metric (i32.const 4) (i32.const -4))`)}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 18), [
      WasmResult.BadArgument, // counter +0
      WasmResult.BadArgument, // counter -1
      WasmResult.Ok,
      WasmResult.Ok, // record adds
      WasmResult.Ok,
      WasmResult.Ok, // gauge set
      WasmResult.Ok, // gauge -3
      WasmResult.Ok,
      WasmResult.Ok, // histogram record
      WasmResult.BadArgument,
      WasmResult.BadArgument,
      WasmResult.NotFound,
      WasmResult.NotFound,
      WasmResult.NotFound,
      WasmResult.BadArgument, // id & 3 == 3
      WasmResult.NotFound,
      WasmResult.BadArgument,
      WasmResult.InvalidMemoryAccess,
    ]);
    assert.deepEqual([slotValue(host, 20), slotValue(host, 21)], [15, 7]);
    assert.equal(host.metrics.value("requests"), 15n);
    assert.equal(host.metrics.value("active"), 7n);
    assert.deepEqual(host.metrics.get("latency", MetricType.Histogram)?.samples, [42n]);
  });
});

describe("shared data (ABI.md §5.10)", () => {
  test("CAS rules: missing key + cas ≠ 0 creates; one global counter; mismatch → CAS_MISMATCH; empty value → 0/0 + cas", async () => {
    const set = (key: string, value: string, cas: number, kit: { str(s: string): string }) => `(call $proxy_set_shared_data ${kit.str(key)} ${kit.str(value)} (i32.const ${cas}))`;
    const bytes = buildPlugin((kit) => {
      const get = (key: string) => `(call $proxy_get_shared_data ${kit.str(key)} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}) (i32.const ${OUT_A}))`;
      return {
        body: recordingCallbacks({
          vmStart: {
            code: `
              ${rec(0, get("k1"))}
              ${rec(1, set("k1", "v1", 77, kit))} ${rec(2, get("k1"))} ${saveOut(20)} ${rec(22, `(i32.load (i32.const ${OUT_A}))`)}
              ${rec(3, set("k2", "v2", 0, kit))} ${rec(4, get("k2"))} ${rec(23, `(i32.load (i32.const ${OUT_A}))`)}
              ${rec(5, set("k1", "x", 5, kit))}
              ${rec(6, set("k1", "v1b", 1, kit))} ${rec(7, get("k1"))} ${rec(24, `(i32.load (i32.const ${OUT_A}))`)}
              ${rec(8, set("k3", "", 0, kit))} (i32.store (i32.const ${OUT_PTR}) (i32.const 9)) ${rec(9, get("k3"))} ${saveOut(25)} ${rec(27, `(i32.load (i32.const ${OUT_A}))`)}
              ${rec(10, `(call $proxy_get_shared_data ${kit.str("k1")} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}) (i32.const -4))`)}`,
          },
        }),
      };
    });
    const host = await startPlugin(bytes, { vmId: "vm1" });
    assert.deepEqual(slots(host, 11), [WasmResult.NotFound, 0, 0, 0, 0, WasmResult.CasMismatch, 0, 0, 0, 0, WasmResult.InvalidMemoryAccess]);
    assert.equal(savedText(host, 20), "v1");
    assert.deepEqual([22, 23, 24].map((i) => slotValue(host, i)), [1, 2, 3]);
    assert.deepEqual([slotValue(host, 25), slotValue(host, 26), slotValue(host, 27)], [0, 0, 4]);
    assert.equal(host.sharedData.text("vm1", "k1"), "v1b");
    assert.equal(host.sharedData.text("other-vm", "k1"), undefined, "partitioned by vm_id");
  });
});

describe("shared queues (ABI.md §5.11)", () => {
  test("register / resolve / enqueue / dequeue statuses; notifications are owed to the registering root", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: {
          code: `
            ${rec(0, `(call $proxy_register_shared_queue ${kit.str("q")} (i32.const ${OUT_A}))`)} ${rec(20, `(i32.load (i32.const ${OUT_A}))`)}
            ${rec(1, `(call $proxy_register_shared_queue ${kit.str("q")} (i32.const ${OUT_A}))`)} ${rec(21, `(i32.load (i32.const ${OUT_A}))`)}
            ${rec(2, `(call $proxy_register_shared_queue ${kit.str("q2")} (i32.const ${OUT_A}))`)} ${rec(22, `(i32.load (i32.const ${OUT_A}))`)}
            ${rec(3, `(call $proxy_resolve_shared_queue (i32.const 0) (i32.const 0) ${kit.str("q")} (i32.const ${OUT_A}))`)} ${rec(23, `(i32.load (i32.const ${OUT_A}))`)}
            ${rec(4, `(call $proxy_resolve_shared_queue ${kit.str("other")} ${kit.str("q")} (i32.const ${OUT_A}))`)}
            ${rec(5, `(call $proxy_enqueue_shared_queue (i32.const 1) ${kit.str("item")})`)}
            ${rec(6, `(call $proxy_dequeue_shared_queue (i32.const 1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(24)}
            ${rec(7, `(call $proxy_dequeue_shared_queue (i32.const 1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
            ${rec(8, `(call $proxy_dequeue_shared_queue (i32.const 99) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}
            ${rec(9, `(call $proxy_enqueue_shared_queue (i32.const 99) ${kit.str("x")})`)}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 10), [0, 0, 0, 0, WasmResult.NotFound, 0, 0, WasmResult.Empty, WasmResult.NotFound, WasmResult.NotFound]);
    assert.deepEqual([20, 21, 22, 23].map((i) => slotValue(host, i)), [1, 1, 2, 1]);
    assert.equal(savedText(host, 24), "item");
    assert.deepEqual(host.sharedQueues.pendingNotifications, [], "posted during on_vm_start, run once start() returned (delivery: mock-host-shared.test.ts)");
  });
});

describe("time, tick, small env functions", () => {
  test("current time from the clock (8 bytes LE); bad pointer INVALID_MEMORY_ACCESS; tick period; pthread_equal", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        vmStart: {
          code: `${rec(0, `(call $proxy_get_current_time_nanoseconds (i32.const ${OUT_B}))`)}
            ${rec(1, "(call $proxy_get_current_time_nanoseconds (i32.const -4))")}
            ${rec(2, "(call $proxy_set_tick_period_milliseconds (i32.const 250))")}
            ${rec(3, "(call $pthread_equal (i32.const 3) (i32.const 3))")} ${rec(4, "(call $pthread_equal (i32.const 3) (i32.const 4))")}`,
        },
      }),
    }));
    const clock = { realtimeNs: () => 1_700_000_000_123_456_789n, monotonicNs: () => 5n };
    const host = await startPlugin(bytes, { clock });
    assert.deepEqual(slots(host, 5), [0, WasmResult.InvalidMemoryAccess, 0, 1, 0]);
    assert.equal(readU64(host, OUT_B), 1_700_000_000_123_456_789n);
    assert.equal(host.tickPeriodMs, 250);
  });

  test("proxy_get_status: (0, \"\") until a callout sets one", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        vmStart: { code: `(i32.store (i32.const ${OUT_PTR}) (i32.const 5)) ${rec(0, `(call $proxy_get_status (i32.const ${OUT_A}) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}` },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.equal(slotValue(host, 0), WasmResult.Ok);
    assert.deepEqual([readU32(host, OUT_A), readU32(host, OUT_PTR), readU32(host, OUT_SIZE)], [0, 0, 0]);
  });
});

describe("properties (ABI.md §5.4)", () => {
  test("plugin_root_id in the root; set_property NOT_FOUND there; a stream's own property reads back", async () => {
    const bytes = buildPlugin((kit) => {
      const get = (path: string) => `(call $proxy_get_property ${kit.str(path)} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`;
      return {
        body: recordingCallbacks({
          vmStart: { code: `${rec(0, get("plugin_root_id"))} ${saveOut(20)} ${rec(1, `(call $proxy_set_property ${kit.str("k")} ${kit.str("v")})`)}` },
          requestHeaders: {
            code: `${rec(2, `(call $proxy_set_property ${kit.str("k")} ${kit.str("v")})`)} ${rec(3, get("k"))} ${saveOut(22)}
              ${rec(4, get("request\u0000path"))} ${saveOut(24)}
              ${rec(5, `(call $proxy_get_property (i32.const -8) (i32.const 64) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)}`,
          },
        }),
      };
    });
    const host = await startPlugin(bytes, { rootId: "my-root" });
    host.newHttpStream().sendRequestHeaders({ ":path": "/x", ":method": "GET" }, true);
    assert.deepEqual(slots(host, 6), [0, WasmResult.NotFound, 0, 0, 0, WasmResult.InvalidMemoryAccess]);
    assert.equal(savedText(host, 20), "my-root");
    assert.equal(savedText(host, 22), "v");
    assert.equal(savedText(host, 24), "/x");
  });
});

describe("foreign functions (ABI.md §5.14)", () => {
  test("compress/uncompress round trip, clear_route_cache gives 0/0, unknown NOT_FOUND after the memory checks", async () => {
    const payload = "hello hello hello hello";
    const bytes = buildPlugin((kit) => {
      const call = (name: string, args: string) =>
        `(call $proxy_call_foreign_function ${kit.str(name)} ${args} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`;
      return {
        body: recordingCallbacks({
          vmStart: {
            code: `
              ${rec(0, call("compress", kit.str(payload)))} ${saveOut(20)}
              ${rec(1, call("uncompress", `(i32.load (i32.const ${OUT_PTR})) (i32.load (i32.const ${OUT_SIZE}))`))} ${saveOut(22)}
              (i32.store (i32.const ${OUT_PTR}) (i32.const 5)) ${rec(2, call("clear_route_cache", "(i32.const 0) (i32.const 0)"))} ${saveOut(24)}
              ${rec(3, call("nope", "(i32.const 0) (i32.const 0)"))}
              ${rec(4, call("nope", "(i32.const -8) (i32.const 64)"))}
              ${rec(5, call("uncompress", kit.str("not zlib")))}`,
          },
        }),
      };
    });
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 6), [0, 0, 0, WasmResult.NotFound, WasmResult.InvalidMemoryAccess, WasmResult.SerializationFailure]);
    assert.ok(savedBytes(host, 20).length > 0);
    assert.equal(savedText(host, 22), payload);
    assert.deepEqual([slotValue(host, 24), slotValue(host, 25)], [0, 0]);
  });
});

describe("callouts without clusters (ABI.md §5.8, §5.9)", () => {
  test("proxy_http_call: token slot zeroed first; timeout ≥ 2^31 and an unknown cluster are BAD_ARGUMENT", async () => {
    const headers = encodePairs([[":path", "/"], [":method", "GET"], [":authority", "a"]]);
    const bytes = buildPlugin((kit) => {
      const call = (cluster: string, timeout: number, tokenPtr = OUT_A) =>
        `(call $proxy_http_call ${kit.str(cluster)} ${kit.bytes(headers)} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ${timeout}) (i32.const ${tokenPtr}))`;
      return {
        body: recordingCallbacks({
          vmStart: {
            code: `(i32.store (i32.const ${OUT_A}) (i32.const 99)) ${rec(0, call("unknown", 1000))} ${rec(10, `(i32.load (i32.const ${OUT_A}))`)}
              ${rec(1, call("unknown", -2147483648))}
              ${rec(2, call("unknown", 0, -4))}
              ${rec(3, `(call $proxy_http_call (i32.const -8) (i32.const 64) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ${OUT_A}))`)}`,
          },
        }),
      };
    });
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 4), [WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.InvalidMemoryAccess, WasmResult.InvalidMemoryAccess]);
    assert.equal(slotValue(host, 10), 0, "token slot written with 0");
  });

  test("gRPC: a plain unknown cluster name is PARSE_FAILURE; bytes that parse as a GrpcService without a target BAD_ARGUMENT; an envoy_grpc target that cannot start INTERNAL_FAILURE", async () => {
    // envoy_grpc { cluster_name: "c" }: field 1 (len 3) → field 1 (len 1) "c"
    const envoyGrpc = new Uint8Array([0x0a, 0x03, 0x0a, 0x01, 0x63]);
    const bytes = buildPlugin((kit) => {
      const call = (service: string) =>
        `(call $proxy_grpc_call ${service} ${kit.str("svc")} ${kit.str("M")} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ${OUT_A}))`;
      const stream = (service: string) => `(call $proxy_grpc_stream ${service} ${kit.str("svc")} ${kit.str("M")} (i32.const 0) (i32.const 0) (i32.const ${OUT_A}))`;
      return {
        body: recordingCallbacks({
          vmStart: {
            code: `
              ${rec(0, call(kit.str("outbound|80||svc.ns.svc.cluster.local")))}
              ${rec(1, call(kit.str("my_cluster")))}
              ${rec(2, call(kit.bytes(envoyGrpc)))}
              ${rec(3, stream(kit.str("outbound|80||x")))}
              ${rec(4, `(call $proxy_grpc_send (i32.const 6) (i32.const 0) (i32.const 0) (i32.const 0))`)}
              ${rec(5, `(call $proxy_grpc_send (i32.const 5) (i32.const 0) (i32.const 0) (i32.const 0))`)}
              ${rec(6, `(call $proxy_grpc_close (i32.const 5))`)}
              ${rec(7, `(call $proxy_grpc_close (i32.const 4))`)}
              ${rec(8, `(call $proxy_grpc_cancel (i32.const 6))`)}
              ${rec(9, `(call $proxy_grpc_cancel (i32.const 8))`)}
              ${rec(10, `(call $proxy_grpc_send (i32.const 6) (i32.const -8) (i32.const 64) (i32.const 0))`)}`,
          },
        }),
      };
    });
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 11), [
      WasmResult.ParseFailure,
      WasmResult.BadArgument,
      WasmResult.InternalFailure,
      WasmResult.ParseFailure,
      WasmResult.NotFound,
      WasmResult.BadArgument,
      WasmResult.Ok, // token 5 (BAD_ARGUMENT above) keeps its handler in Envoy: grpc_close finds it
      WasmResult.BadArgument,
      WasmResult.NotFound,
      WasmResult.BadArgument,
      WasmResult.InvalidMemoryAccess,
    ]);
  });

  test("envoy_resolve_dns answers OK with tokens 1, 2…; the query is recorded for the root", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: {
          code: `${rec(0, `(call $envoy_resolve_dns ${kit.str("example.com")} (i32.const ${OUT_A}))`)} ${rec(10, `(i32.load (i32.const ${OUT_A}))`)}
            ${rec(1, `(call $envoy_resolve_dns ${kit.str("example.org")} (i32.const ${OUT_A}))`)} ${rec(11, `(i32.load (i32.const ${OUT_A}))`)}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.deepEqual([slotValue(host, 0), slotValue(host, 1), slotValue(host, 10), slotValue(host, 11)], [0, 0, 1, 2]);
    assert.deepEqual(host.vm.pendingDnsQueries.map((q) => [q.address, q.token, q.rootContextId]), [["example.com", 1, 1], ["example.org", 2, 1]]);
  });
});

describe("memory", () => {
  test("memoryBytes follows the plugin's memory growth", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks({ vmStart: { code: "(drop (memory.grow (i32.const 3)))" } }) })));
    assert.equal(host.memoryBytes, 5 * 65536);
  });
});

describe("properties follow Envoy's header windows", () => {
  test("request.* is NOT_FOUND once the request headers are released (Envoy's activation uses the filter's pointers)", async () => {
    const bytes = buildPlugin((kit) => {
      const get = (path: string) => `(call $proxy_get_property ${kit.str(path)} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`;
      return {
        body: recordingCallbacks({
          requestHeaders: { code: rec(0, get("request\u0000path")) },
          responseHeaders: { code: `${rec(1, get("request\u0000path"))} ${rec(2, get("response\u0000code"))} ${saveOut(20)}` },
          log: { code: rec(3, get("request\u0000path")) },
        }),
      };
    });
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/x" }, true);
    stream.sendResponseHeaders({ ":status": "200" }, true);
    assert.deepEqual(slots(host, 4), [0, WasmResult.NotFound, 0, 0]);
    assert.equal(new DataView(savedBytes(host, 20).buffer).getBigInt64(0, true), 200n);
  });
});
