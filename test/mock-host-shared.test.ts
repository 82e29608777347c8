// State shared across contexts and VMs, with exact host statuses (WAT plugins): shared data
// and queues in one Envoy process (MockEnvoy), proxy_on_queue_ready delivery, foreign
// functions both ways, proxy_done and the effective context (ABI.md §4.3, §5.10, §5.11,
// §5.13, §5.14, §8.5).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Host, LogLevel, MockEnvoy, WasmResult, type ForeignFunctionCaller } from "../runtime-mock/index.js";
import {
  ALLOC_COUNT,
  buildPlugin,
  eventNames,
  events,
  EVENT_COUNT,
  OUT_A,
  OUT_PTR,
  OUT_SIZE,
  readU32,
  rec,
  recordingCallbacks,
  saveOut,
  savedText,
  slot,
  slotValue,
  startPlugin,
  type Kit,
} from "./support/plugin.js";
import type { AbiVersion } from "../runtime-mock/wasm/types.js";

// --- WAT pieces ---------------------------------------------------------------------------

/** proxy_on_queue_ready log: count at QLOG, then 32-byte entries (see queueLog). */
const QLOG = 56000;
/** proxy_on_foreign_function log: count, then (ctx, function id, size, buffer-8 status). */
const FLOG = 60000;

/**
 * proxy_on_queue_ready(root, token): logs the call (with the number of events recorded
 * before it and the nesting depth), dequeues one item when `dequeue`, then runs `code`.
 */
function queueReadyExport(options: { dequeue?: boolean; code?: string } = {}): string {
  const dequeue = options.dequeue
    ? `(i32.store offset=16 (local.get $at) (call $proxy_dequeue_shared_queue (local.get $token) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE})))
       (i32.store offset=20 (local.get $at) (i32.load (i32.const ${OUT_PTR})))
       (i32.store offset=24 (local.get $at) (i32.load (i32.const ${OUT_SIZE})))`
    : "";
  return `(global $qdepth (mut i32) (i32.const 0))
  (func (export "proxy_on_queue_ready") (param $ctx i32) (param $token i32) (local $at i32)
    (global.set $qdepth (i32.add (global.get $qdepth) (i32.const 1)))
    (local.set $at (i32.add (i32.const ${QLOG + 4}) (i32.mul (i32.load (i32.const ${QLOG})) (i32.const 32))))
    (i32.store (i32.const ${QLOG}) (i32.add (i32.load (i32.const ${QLOG})) (i32.const 1)))
    (i32.store (local.get $at) (local.get $ctx))
    (i32.store offset=4 (local.get $at) (local.get $token))
    (i32.store offset=8 (local.get $at) (i32.load (i32.const ${EVENT_COUNT})))
    (i32.store offset=12 (local.get $at) (global.get $qdepth))
    ${dequeue}
    ${options.code ?? ""}
    (global.set $qdepth (i32.sub (global.get $qdepth) (i32.const 1))))`;
}

interface QueueReady {
  ctx: number;
  token: number;
  eventsBefore: number;
  depth: number;
  dequeueStatus: number;
  item: string;
}

function queueLog(host: Host): QueueReady[] {
  const count = readU32(host, QLOG);
  return Array.from({ length: count }, (_, i) => {
    const at = QLOG + 4 + 32 * i;
    const [ctx, token, eventsBefore, depth, dequeueStatus, ptr, size] = [0, 4, 8, 12, 16, 20, 24].map((o) => readU32(host, at + o)) as number[];
    const item = size ? new TextDecoder().decode(host.vm.memory.read(ptr!, size!)) : "";
    return { ctx: ctx!, token: token!, eventsBefore: eventsBefore!, depth: depth!, dequeueStatus: dequeueStatus!, item };
  });
}

/** The number of queue_ready calls so far, as an i32 expression. */
const queueReadyCount = `(i32.load (i32.const ${QLOG}))`;

const register = (kit: Kit, name: string) => `(call $proxy_register_shared_queue ${kit.str(name)} (i32.const ${OUT_A}))`;
const resolve = (kit: Kit, vmId: string, name: string) => `(call $proxy_resolve_shared_queue ${kit.str(vmId)} ${kit.str(name)} (i32.const ${OUT_A}))`;
const enqueue = (token: number | string, data: string) => `(call $proxy_enqueue_shared_queue ${typeof token === "number" ? `(i32.const ${token})` : token} ${data})`;
const dequeue = (token: number) => `(call $proxy_dequeue_shared_queue (i32.const ${token}) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`;
const tokenOut = `(i32.load (i32.const ${OUT_A}))`;
const getData = (kit: Kit, key: string) => `(call $proxy_get_shared_data ${kit.str(key)} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}) (i32.const ${OUT_A}))`;
const setData = (kit: Kit, key: string, value: string, cas: number | string) =>
  `(call $proxy_set_shared_data ${kit.str(key)} ${kit.str(value)} ${typeof cas === "number" ? `(i32.const ${cas})` : cas})`;
const casOut = `(i32.load (i32.const ${OUT_A}))`;

const slots = (host: Host, from: number, to: number) => Array.from({ length: to - from }, (_, i) => slotValue(host, from + i));
const request = (host: Host) => host.newHttpStream().sendRequestHeaders({ ":method": "GET", ":path": "/", ":authority": "h" }, true);

// --- the process --------------------------------------------------------------------------

describe("MockEnvoy: one process, one dispatcher, one clock", () => {
  test("advanceTime fires every VM's ticks in time order; a plugin's own clock is refused", async () => {
    const envoy = new MockEnvoy({ startTime: new Date("2030-01-01T00:00:00Z") });
    const ticking = (periodMs: number) => buildPlugin(() => ({ body: recordingCallbacks({ vmStart: { code: `(drop (call $proxy_set_tick_period_milliseconds (i32.const ${periodMs})))` } }) }));
    const fast = await envoy.load(ticking(10));
    const slow = await envoy.load(ticking(25));
    fast.start();
    slow.start();
    envoy.advanceTime(50);
    const ticks = (host: Host) => eventNames(host).filter((n) => n === "tick").length;
    assert.deepEqual([ticks(fast), ticks(slow)], [5, 2]);
    assert.equal(fast.currentTimeNs, slow.currentTimeNs);
    assert.equal(fast.currentTimeNs, BigInt(Date.parse("2030-01-01T00:00:00.050Z")) * 1_000_000n);
    await assert.rejects(envoy.load(ticking(1), { clock: { realtimeNs: () => 0n, monotonicNs: () => 0n } }), /runs on its clock/);
    assert.deepEqual(envoy.hosts, [fast, slow]);
    envoy.shutdown();
    assert.deepEqual([fast.state, slow.state], ["shutdown", "shutdown"]);
  });
});

// --- shared data ----------------------------------------------------------------------------

describe("shared data across VMs (ABI.md §5.10)", () => {
  test("one partition per vm_id, shared by the VMs that have it; one CAS counter for the whole process", async () => {
    const envoy = new MockEnvoy();
    // A (vm x) writes k; B (vm x) reads it and rewrites with its cas; C (vm y) sees nothing and
    // gets the next cas; A's stale cas then loses.
    const a = await envoy.load(
      buildPlugin((kit) => ({
        body: recordingCallbacks({
          vmStart: { code: `${rec(0, setData(kit, "k", "from a", 77))} ${rec(1, getData(kit, "k"))} ${rec(2, casOut)}` },
          requestHeaders: { code: `${rec(3, setData(kit, "k", "stale", 1))}` },
        }),
      })),
      { vmId: "x" },
    );
    const b = await envoy.load(
      buildPlugin((kit) => ({
        body: recordingCallbacks({
          requestHeaders: {
            code: `${rec(0, getData(kit, "k"))} ${saveOut(1)} ${rec(3, casOut)} ${rec(4, setData(kit, "k", "from b", casOut))} ${rec(5, getData(kit, "k"))} ${rec(6, casOut)}`,
          },
        }),
      })),
      { vmId: "x" },
    );
    const c = await envoy.load(
      buildPlugin((kit) => ({
        body: recordingCallbacks({
          requestHeaders: { code: `${rec(0, getData(kit, "k"))} ${rec(1, setData(kit, "k", "from c", 0))} ${rec(2, getData(kit, "k"))} ${rec(3, casOut)}` },
        }),
      })),
      { vmId: "y" },
    );
    for (const host of [a, b, c]) assert.ok(host.start().ok);
    assert.deepEqual(slots(a, 0, 3), [WasmResult.Ok, WasmResult.Ok, 1], "a missing key is created whatever the cas");
    request(b);
    assert.equal(savedText(b, 1), "from a");
    assert.deepEqual([slotValue(b, 0), slotValue(b, 3), slotValue(b, 4), slotValue(b, 5), slotValue(b, 6)], [WasmResult.Ok, 1, WasmResult.Ok, WasmResult.Ok, 2]);
    request(c);
    assert.deepEqual(slots(c, 0, 4), [WasmResult.NotFound, WasmResult.Ok, WasmResult.Ok, 3], "vm y has its own partition, the cas counter is global");
    request(a);
    assert.equal(slotValue(a, 3), WasmResult.CasMismatch);
    assert.equal(envoy.sharedData.text("x", "k"), "from b");
    assert.equal(envoy.sharedData.text("y", "k"), "from c");
    assert.deepEqual(envoy.sharedData.keys("x"), ["k"]);
  });

  test("a partition (and the queues of its vm_id) goes away with the last VM of that vm_id", async () => {
    const envoy = new MockEnvoy();
    const plugin = buildPlugin((kit) => ({
      body: recordingCallbacks({ vmStart: { code: `${rec(0, getData(kit, "k"))} ${rec(1, register(kit, "q"))}` } }),
    }));
    const first = await envoy.load(plugin, { vmId: "x" });
    const second = await envoy.load(plugin, { vmId: "x" });
    first.start();
    assert.equal(envoy.sharedData.set("x", "k", "seeded"), WasmResult.Ok, "tests seed values like a plugin writes them");
    second.start();
    assert.equal(slotValue(second, 0), WasmResult.Ok);
    first.shutdown();
    assert.equal(envoy.sharedData.text("x", "k"), "seeded", "another VM of vm x is still alive");
    assert.equal(envoy.sharedQueues.resolve("x", "q"), 1);
    second.shutdown();
    assert.equal(envoy.sharedData.get("x", "k").status, WasmResult.NotFound);
    assert.equal(envoy.sharedQueues.resolve("x", "q"), 0);
    assert.equal(envoy.sharedQueues.enqueue(1, "late"), WasmResult.NotFound);
    const third = await envoy.load(plugin, { vmId: "x" });
    third.start();
    assert.equal(slotValue(third, 0), WasmResult.NotFound, "a new VM of vm x starts empty");
    assert.equal(envoy.sharedQueues.resolve("x", "q"), 2, "queue tokens are not reused");
  });

  test("Host.load gives each VM its own process: nothing is shared, even with the same vm_id", async () => {
    const plugin = buildPlugin((kit) => ({
      body: recordingCallbacks({ vmStart: { code: `${rec(0, getData(kit, "k"))} ${rec(1, setData(kit, "k", "v", 0))} ${rec(2, register(kit, "q"))} ${rec(3, tokenOut)}` } }),
    }));
    const one = await startPlugin(plugin, { vmId: "same" });
    const two = await startPlugin(plugin, { vmId: "same" });
    assert.deepEqual(slots(two, 0, 4), [WasmResult.NotFound, WasmResult.Ok, WasmResult.Ok, 1]);
    assert.notEqual(one.process, two.process);
  });
});

// --- shared queues ----------------------------------------------------------------------------

describe("shared queues (ABI.md §5.11)", () => {
  test("proxy_on_queue_ready runs on the registering root after the enqueuing call has returned, once per item, FIFO", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        configure: { code: `${rec(0, register(kit, "q"))} ${rec(1, tokenOut)}` },
        requestHeaders: {
          code: `${rec(2, enqueue(1, kit.str("first")))} ${rec(3, enqueue(1, kit.str("second")))} ${rec(4, queueReadyCount)}`,
        },
      })} ${queueReadyExport({ dequeue: true })}`,
    }));
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 0, 2), [WasmResult.Ok, 1]);
    request(host);
    assert.deepEqual(slots(host, 2, 5), [WasmResult.Ok, WasmResult.Ok, 0], "nothing is delivered inside the enqueue call");
    host.process.runPosted();
    assert.deepEqual(host.sharedQueues.pendingNotifications, []);
    const log = queueLog(host);
    assert.deepEqual(
      log.map(({ ctx, token, depth, dequeueStatus, item }) => ({ ctx, token, depth, dequeueStatus, item })),
      [
        { ctx: 1, token: 1, depth: 1, dequeueStatus: WasmResult.Ok, item: "first" },
        { ctx: 1, token: 1, depth: 1, dequeueStatus: WasmResult.Ok, item: "second" },
      ],
    );
    const headersEvent = events(host).findIndex((e) => e.name === "requestHeaders");
    assert.ok(log.every((q) => q.eventsBefore > headersEvent), "after proxy_on_request_headers");
  });

  test("an enqueue from inside proxy_on_queue_ready is delivered after that call returns (never re-entrant)", async () => {
    // Each notification re-enqueues until three items went through.
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({ configure: { code: `(drop ${register(kit, "q")}) (drop ${enqueue(1, kit.str("go"))})` } })}
        ${queueReadyExport({ dequeue: true, code: `(if (i32.lt_u ${queueReadyCount} (i32.const 3)) (then (drop ${enqueue("(local.get $token)", kit.str("again"))})))` })}`,
    }));
    const host = await startPlugin(bytes);
    host.process.runPosted();
    assert.deepEqual(
      queueLog(host).map((q) => [q.depth, q.item]),
      [
        [1, "go"],
        [1, "again"],
        [1, "again"],
      ],
    );
    assert.equal(host.sharedQueues.depth(1), 0);
  });

  test("register: same token again, items kept; notifications go to the last registrant, a root in another VM of the vm_id", async () => {
    const envoy = new MockEnvoy();
    const plugin = buildPlugin((kit) => ({
      body: `${recordingCallbacks({ configure: { code: `${rec(0, register(kit, "jobs"))} ${rec(1, tokenOut)}` } })} ${queueReadyExport()}`,
    }));
    const first = await envoy.load(plugin, { vmId: "w" });
    first.start();
    assert.equal(envoy.sharedQueues.enqueue(1, "one"), WasmResult.Ok, "tests may enqueue as another component would");
    assert.deepEqual(envoy.sharedQueues.pendingNotifications, [{ rootContextId: 1, token: 1 }]);
    envoy.runPosted();
    assert.deepEqual(queueLog(first).map((q) => [q.ctx, q.token]), [[1, 1]]);
    const second = await envoy.load(plugin, { vmId: "w" });
    second.start();
    assert.deepEqual(slots(second, 0, 2), [WasmResult.Ok, 1], "same (vm_id, name), same token");
    assert.equal(envoy.sharedQueues.depth(1), 1, "queued items survive re-registration");
    envoy.sharedQueues.enqueue(1, "two");
    envoy.runPosted();
    assert.equal(queueLog(first).length, 1, "the first VM is no longer notified");
    assert.deepEqual(queueLog(second).map((q) => [q.ctx, q.token]), [[1, 1]], "root 1 of the second VM");
    assert.deepEqual(envoy.sharedQueues.contents(1)?.map((b) => new TextDecoder().decode(b)), ["one", "two"]);
  });

  test("resolve: empty vm_id = own, another vm_id by name, NOT_FOUND otherwise; tokens are process-wide and not checked against the vm_id", async () => {
    const envoy = new MockEnvoy();
    const consumer = await envoy.load(
      buildPlugin((kit) => ({
        body: `${recordingCallbacks({ configure: { code: `(drop ${register(kit, "other")}) ${rec(0, register(kit, "jobs"))} ${rec(1, tokenOut)}` } })} ${queueReadyExport({ dequeue: true })}`,
      })),
      { vmId: "consumer-vm" },
    );
    const producer = await envoy.load(
      buildPlugin((kit) => ({
        body: recordingCallbacks({
          requestHeaders: {
            code: `
              (i32.store (i32.const ${OUT_A}) (i32.const 99))
              ${rec(0, resolve(kit, "", "jobs"))} ${rec(1, tokenOut)}
              ${rec(2, resolve(kit, "consumer-vm", "jobs"))} ${rec(3, tokenOut)}
              ${rec(4, resolve(kit, "consumer-vm", "nope"))}
              ${rec(5, enqueue(2, kit.str("work")))}
              ${rec(6, dequeue(1))}
              ${rec(7, register(kit, "jobs"))} ${rec(8, tokenOut)}
              ${rec(9, resolve(kit, "", "jobs"))} ${rec(10, tokenOut)}`,
          },
        }),
      })),
      { vmId: "producer-vm" },
    );
    consumer.start();
    producer.start();
    assert.deepEqual(slots(consumer, 0, 2), [WasmResult.Ok, 2], "\"other\" took token 1");
    request(producer);
    assert.deepEqual(slots(producer, 0, 11), [
      WasmResult.NotFound, // own vm_id has no "jobs" yet
      99, // the token slot is left alone
      WasmResult.Ok,
      2,
      WasmResult.NotFound,
      WasmResult.Ok,
      WasmResult.Empty, // the consumer's other queue, dequeued from another vm_id
      WasmResult.Ok,
      3, // its own "jobs": process-wide tokens
      WasmResult.Ok,
      3,
    ]);
    envoy.runPosted();
    assert.deepEqual(queueLog(consumer).map((q) => [q.ctx, q.token, q.item]), [[1, 2, "work"]]);
  });

  test("statuses: EMPTY and NOT_FOUND; memory errors; a dequeue whose result cannot be written still pops the item", async () => {
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: {
          code: `
            ${rec(0, register(kit, "q"))}
            ${rec(1, dequeue(1))}
            ${rec(2, dequeue(7))}
            ${rec(3, enqueue(7, kit.str("x")))}
            ${rec(4, `(call $proxy_register_shared_queue (i32.const -8) (i32.const 64) (i32.const ${OUT_A}))`)}
            ${rec(5, `(call $proxy_register_shared_queue ${kit.str("q")} (i32.const -2))`)}
            ${rec(6, `(call $proxy_resolve_shared_queue (i32.const -8) (i32.const 64) ${kit.str("q")} (i32.const ${OUT_A}))`)}
            ${rec(7, enqueue(1, "(i32.const -8) (i32.const 64)"))}
            ${rec(8, enqueue(1, kit.str("lost")))}
            ${rec(9, `(call $proxy_dequeue_shared_queue (i32.const 1) (i32.const -2) (i32.const ${OUT_SIZE}))`)}
            ${rec(10, dequeue(1))}
            ${rec(11, enqueue(1, kit.str("")))}
            (i32.store (i32.const ${OUT_PTR}) (i32.const 5))
            ${rec(12, dequeue(1))} ${saveOut(13)}`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    assert.deepEqual(slots(host, 0, 13), [
      WasmResult.Ok,
      WasmResult.Empty,
      WasmResult.NotFound,
      WasmResult.NotFound,
      WasmResult.InvalidMemoryAccess,
      WasmResult.InvalidMemoryAccess,
      WasmResult.InvalidMemoryAccess,
      WasmResult.InvalidMemoryAccess,
      WasmResult.Ok,
      WasmResult.InvalidMemoryAccess,
      WasmResult.Empty, // "lost" was popped by the failed dequeue
      WasmResult.Ok,
      WasmResult.Ok,
    ]);
    assert.deepEqual([slotValue(host, 13), slotValue(host, 14)], [0, 0], "an empty item is ptr 0 / size 0");
  });

  test("a notification is dropped when its root is gone or the VM failed by the time it runs; a root parked in on_done still gets it", async () => {
    const plugin = (extra: { requestHeaders?: string; done?: number } = {}) =>
      buildPlugin((kit) => ({
        body: `${recordingCallbacks({
          configure: { code: `(drop ${register(kit, "q")})` },
          requestHeaders: { code: extra.requestHeaders ?? "" },
          done: { result: extra.done ?? 1 },
        })} ${queueReadyExport({ code: rec(0, "(call $proxy_done)") })}`,
      }));
    // Root deleted at shutdown before the posted notification runs.
    const gone = await startPlugin(plugin());
    gone.sharedQueues.enqueue(1, "x");
    gone.shutdown();
    assert.equal(queueLog(gone).length, 0);
    // The VM trapped after the enqueue.
    const failed = await startPlugin(plugin({ requestHeaders: `(drop ${enqueue(1, "(i32.const 0) (i32.const 0)")}) unreachable` }));
    failed.expectTrap(() => request(failed));
    failed.process.runPosted();
    assert.ok(failed.failure);
    assert.equal(queueLog(failed).length, 0);
    // on_done answered false: the root waits for proxy_done, which it calls from the queue callback.
    const parked = await startPlugin(plugin({ done: 0 }));
    parked.shutdown();
    assert.equal(parked.awaitingDone, true);
    parked.sharedQueues.enqueue(1, "finish");
    parked.process.runPosted();
    assert.equal(queueLog(parked).length, 1);
    assert.equal(slotValue(parked, 0), WasmResult.Ok);
    assert.equal(parked.awaitingDone, false);
    const names = eventNames(parked);
    assert.equal(names.at(-1), "delete");
    assert.equal(queueLog(parked)[0]!.eventsBefore, names.length - 1, "on_delete after proxy_on_queue_ready returned");
  });
});

// --- foreign functions ------------------------------------------------------------------------

describe("foreign functions (ABI.md §5.14, §4.3)", () => {
  test("a test's function: output as bytes or text, nothing, or its own status; the caller is named; results discarded without a pointer", async () => {
    const envoy = new MockEnvoy();
    const calls: ForeignFunctionCaller[] = [];
    envoy.registerForeignFunction("reverse", (args, caller) => {
      calls.push(caller);
      return Uint8Array.from(args).reverse();
    });
    envoy.registerForeignFunction("greet", (args) => `hello ${new TextDecoder().decode(args)}`);
    envoy.registerForeignFunction("nothing", () => undefined);
    envoy.registerForeignFunction("refuse", () => ({ status: WasmResult.ParseFailure, result: "why" }));
    const host = await envoy.load(
      buildPlugin((kit) => {
        const call = (name: string, args: string, out = `(i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE})`) =>
          `(call $proxy_call_foreign_function ${kit.str(name)} ${kit.str(args)} ${out})`;
        return {
          body: recordingCallbacks({
            requestHeaders: {
              code: `
                ${rec(0, call("reverse", "abc"))} ${saveOut(1)}
                ${rec(3, call("greet", "you"))} ${saveOut(4)}
                (i32.store (i32.const ${OUT_PTR}) (i32.const 5)) (i32.store (i32.const ${OUT_SIZE}) (i32.const 5))
                ${rec(6, call("nothing", ""))} ${saveOut(7)}
                ${rec(9, call("refuse", ""))} ${saveOut(10)}
                ${rec(12, `(i32.load (i32.const ${ALLOC_COUNT}))`)}
                ${rec(13, call("greet", "x", `(i32.const 0) (i32.const ${OUT_SIZE})`))}
                ${rec(14, `(i32.load (i32.const ${ALLOC_COUNT}))`)} ${rec(15, `(i32.load (i32.const ${OUT_SIZE}))`)}
                ${rec(16, call("compress", ""))}`,
            },
          }),
        };
      }),
      { vmId: "v", rootId: "r", pluginName: "p" },
    );
    host.start();
    request(host);
    assert.deepEqual([slotValue(host, 0), savedText(host, 1)], [WasmResult.Ok, "cba"]);
    assert.deepEqual([slotValue(host, 3), savedText(host, 4)], [WasmResult.Ok, "hello you"]);
    assert.deepEqual([slotValue(host, 6), slotValue(host, 7), slotValue(host, 8)], [WasmResult.Ok, 0, 0]);
    assert.deepEqual([slotValue(host, 9), savedText(host, 10)], [WasmResult.ParseFailure, "why"]);
    assert.deepEqual([slotValue(host, 13), slotValue(host, 14) - slotValue(host, 12), slotValue(host, 15)], [WasmResult.Ok, 0, 7], "no allocation, size still written");
    assert.equal(slotValue(host, 16), WasmResult.Ok, "Envoy's built-ins stay registered");
    assert.deepEqual(calls, [{ vmId: "v", pluginName: "p", rootId: "r", contextId: 2 }]);
  });

  test("registrations are process-wide; a function sees the process as the test left it", async () => {
    const envoy = new MockEnvoy();
    const plugin = buildPlugin((kit) => ({
      body: recordingCallbacks({ requestHeaders: { code: rec(0, `(call $proxy_call_foreign_function ${kit.str("late")} ${kit.str("")} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`) } }),
    }));
    const a = await envoy.load(plugin);
    const b = await envoy.load(plugin);
    a.start();
    b.start();
    request(a);
    assert.equal(slotValue(a, 0), WasmResult.NotFound);
    a.registerForeignFunction("late", () => undefined);
    request(b);
    assert.equal(slotValue(b, 0), WasmResult.Ok, "registered through one host, visible to every VM of the process");
  });

  const foreignExport = () => `(func (export "proxy_on_foreign_function") (param $ctx i32) (param $id i32) (param $size i32) (local $at i32)
      (local.set $at (i32.add (i32.const ${FLOG + 4}) (i32.mul (i32.load (i32.const ${FLOG})) (i32.const 16))))
      (i32.store (i32.const ${FLOG}) (i32.add (i32.load (i32.const ${FLOG})) (i32.const 1)))
      (i32.store (local.get $at) (local.get $ctx))
      (i32.store offset=4 (local.get $at) (local.get $id))
      (i32.store offset=8 (local.get $at) (local.get $size))
      (i32.store offset=12 (local.get $at) (call $proxy_get_buffer_bytes (i32.const 8) (i32.const 0) (i32.const -1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE})))
      ${saveOut(40)})`;
  const foreignLog = (host: Host) =>
    Array.from({ length: readU32(host, FLOG) }, (_, i) => [0, 4, 8, 12].map((o) => readU32(host, FLOG + 4 + 16 * i + o)));

  test("proxy_on_foreign_function: called on the root with the function id and the arguments as buffer 8 (which keeps them afterwards, as Envoy's scratch buffer does)", async () => {
    const bytes = buildPlugin(() => ({
      body: `${recordingCallbacks({
        vmStart: { code: "(drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))" },
        tick: { code: `${rec(0, `(call $proxy_get_buffer_bytes (i32.const 8) (i32.const 0) (i32.const -1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(1)}` },
      })} ${foreignExport()}`,
    }));
    const host = await startPlugin(bytes);
    assert.equal(host.invokeForeignFunction(7, "payload"), true);
    assert.deepEqual(foreignLog(host), [[1, 7, 7, WasmResult.Ok]]);
    assert.equal(savedText(host, 40), "payload");
    host.tick();
    assert.deepEqual([slotValue(host, 0), savedText(host, 1)], [WasmResult.Ok, "payload"]);
    assert.equal(host.invokeForeignFunction(0xffffffff, new Uint8Array()), true);
    assert.deepEqual(foreignLog(host)[1], [1, 0xffffffff, 0, WasmResult.Ok]);
  });

  test("proxy_on_foreign_function is never called for 0.1.0, without the export, on a failed VM, or after the root is gone", async () => {
    const build = (version: AbiVersion, withExport: boolean) =>
      buildPlugin(() => ({ version, body: `${recordingCallbacks({}, version)} ${withExport ? foreignExport() : ""}` }));
    const legacy = await startPlugin(build("0.1.0", true));
    assert.equal(legacy.invokeForeignFunction(1, "x"), false);
    assert.equal(readU32(legacy, FLOG), 0);
    const v020 = await startPlugin(build("0.2.0", true));
    assert.equal(v020.invokeForeignFunction(1, "x"), true);
    const missing = await startPlugin(build("0.2.1", false));
    assert.equal(missing.invokeForeignFunction(1, "x"), false);
    const notStarted = await Host.load(build("0.2.1", true));
    assert.equal(notStarted.invokeForeignFunction(1, "x"), false, "on_context_create not delivered yet");
    const done = await startPlugin(build("0.2.1", true));
    done.shutdown();
    assert.equal(done.invokeForeignFunction(1, "x"), false);
    const failed = await startPlugin(buildPlugin(() => ({ body: `${recordingCallbacks({ requestHeaders: { code: "unreachable" } })} ${foreignExport()}` })));
    failed.expectTrap(() => request(failed));
    assert.ok(failed.failure);
    assert.equal(failed.invokeForeignFunction(1, "x"), false);
    assert.equal(readU32(failed, FLOG), 0);
  });
});

// --- proxy_done and the effective context ---------------------------------------------------

describe("proxy_done (ABI.md §5.13, §8.5)", () => {
  test("NOT_FOUND when not parked and on a second call; a parked VM keeps its vm_id's shared data until on_delete", async () => {
    const envoy = new MockEnvoy();
    const host = await envoy.load(
      buildPlugin((kit) => ({
        body: recordingCallbacks({
          vmStart: { code: `${rec(0, "(call $proxy_done)")} (drop ${setData(kit, "k", "v", 0)}) (drop (call $proxy_set_tick_period_milliseconds (i32.const 5)))` },
          done: { result: 0 },
          tick: { code: `${rec(1, "(call $proxy_done)")} ${rec(2, "(call $proxy_done)")}` },
        }),
      })),
      { vmId: "parked" },
    );
    host.start();
    assert.equal(slotValue(host, 0), WasmResult.NotFound);
    host.shutdown();
    assert.equal(envoy.sharedData.text("parked", "k"), "v", "the parked root keeps the VM alive");
    assert.deepEqual(envoy.liveVmIds, ["parked"]);
    host.tick();
    assert.deepEqual([slotValue(host, 1), slotValue(host, 2)], [WasmResult.Ok, WasmResult.NotFound]);
    assert.equal(eventNames(host).at(-1), "delete");
    assert.equal(envoy.sharedData.get("parked", "k").status, WasmResult.NotFound, "gone with the last VM of its vm_id");
    assert.deepEqual(envoy.liveVmIds, []);
  });
});

describe("effective context (ABI.md §5.13)", () => {
  test("reset at every host→plugin call; a context that dies meanwhile falls back to the current one", async () => {
    // Stream context id at slot 30. Tick 1 switches to it, reads :path (OK), calls the test's
    // "end-stream" (the stream ends inside that call), reads again (falls back to the root:
    // BAD_ARGUMENT) and tries to switch back (BAD_ARGUMENT). Tick 2 reads without switching.
    const read = (kit: Kit) => `(call $proxy_get_header_map_value (i32.const 0) ${kit.str(":path")} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`;
    const bytes = buildPlugin((kit) => ({
      body: recordingCallbacks({
        vmStart: { code: "(drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))" },
        requestHeaders: { code: rec(30, "(local.get $ctx)"), result: 1 },
        tick: {
          code: `(if (i32.eqz (i32.load (i32.const ${slot(31)})))
            (then
              (i32.store (i32.const ${slot(31)}) (i32.const 1))
              ${rec(0, `(call $proxy_set_effective_context (i32.load (i32.const ${slot(30)})))`)}
              ${rec(1, read(kit))}
              ${rec(2, `(call $proxy_call_foreign_function ${kit.str("end-stream")} ${kit.str("")} (i32.const 0) (i32.const 0))`)}
              ${rec(3, read(kit))}
              ${rec(4, `(call $proxy_set_effective_context (i32.load (i32.const ${slot(30)})))`)})
            (else
              ${rec(5, read(kit))}))`,
        },
      }),
    }));
    const host = await startPlugin(bytes);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/p", ":method": "GET", ":authority": "h" }, true);
    host.registerForeignFunction("end-stream", () => stream.end());
    host.tick();
    assert.deepEqual(slots(host, 0, 5), [WasmResult.Ok, WasmResult.Ok, WasmResult.Ok, WasmResult.BadArgument, WasmResult.BadArgument]);
    assert.equal(stream.completed, true);
    host.tick();
    assert.equal(slotValue(host, 5), WasmResult.BadArgument, "the next call starts on its own context");
  });
});

// --- an SDK build: two plugins of one Envoy ----------------------------------------------

describe("SDK build: a producer and a consumer plugin sharing a queue in one MockEnvoy (test/fixtures/shared-state)", () => {
  const fixture = new URL("./fixtures/shared-state/build/release.wasm", import.meta.url);

  test("paths flow from the producer's VM to the consumer's; shared data by CAS; stats by name; the consumer flushes before deletion", async () => {
    const envoy = new MockEnvoy();
    const consumer = await envoy.load(fixture, { rootId: "consumer", vmId: "collector" });
    const producer = await envoy.load(fixture, { rootId: "producer", vmId: "edge", pluginConfig: "collector" });
    assert.ok(consumer.start().ok);
    assert.ok(producer.start().ok);
    for (const path of ["/a", "/bb", "/ccc"]) {
      producer.newHttpStream().sendRequestHeaders({ ":method": "GET", ":path": path, ":authority": "h" }, true);
    }
    // Each request's notification ran once that request's event was over.
    assert.equal(envoy.sharedData.text("collector", "paths_total"), "3");
    assert.equal(envoy.sharedData.text("collector", "last_path"), "/ccc");
    assert.equal(envoy.sharedData.text("edge", "paths_total"), undefined, "the producer's vm_id has its own partition");
    assert.equal(envoy.metrics.value("requests_seen"), 3n);
    assert.deepEqual(envoy.metrics.samples("path_length"), [2n, 3n, 4n]);

    // The consumer parks in onDone until its flush marker went through the queue.
    consumer.shutdown();
    assert.equal(consumer.awaitingDone, false);
    assert.deepEqual(consumer.logsAt(LogLevel.Info), ["flushed"]);
    assert.equal(envoy.sharedData.get("collector", "paths_total").status, WasmResult.NotFound, "gone with the collector's last VM");

    // Its queue went with it: the producer's token is stale and no new one resolves.
    producer.newHttpStream().sendRequestHeaders({ ":method": "GET", ":path": "/late", ":authority": "h" }, true);
    assert.equal(envoy.metrics.value("paths_dropped"), 1n);
    assert.equal(producer.failure, undefined);
  });
});
