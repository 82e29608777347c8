// Ticks and the virtual clock in the mock host (ABI.md §4.3 proxy_on_tick, §5.2, §8.1 step 8;
// Envoy `Wasm::setTimerPeriod` / `tickHandler`): the default clock stands still until the
// test advances it; ticks fire every period and are re-armed after each; callout timeouts
// interleave with them in time order; the plugin's current time follows the clock.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock, systemClock } from "../runtime-mock/index.js";
import { calloutExports, httpCall, REQUEST, trace } from "./support/callout-kit.js";
import { buildPlugin, OUT_B, put, readU64, rec, recordingCallbacks, slot, slotValue, startPlugin } from "./support/plugin.js";

const START = new Date("2030-01-02T03:04:05.000Z");
const START_NS = BigInt(START.getTime()) * 1_000_000n;
const period = (ms: number) => `(drop (call $proxy_set_tick_period_milliseconds (i32.const ${ms})))`;

/** Records, per tick n (count at slot 99), the current time at slots 100 + 2n (u64). */
const recordTime = `
  (drop (call $proxy_get_current_time_nanoseconds (i32.add (i32.const ${slot(100)}) (i32.mul (i32.load (i32.const ${slot(99)})) (i32.const 8)))))
  (i32.store (i32.const ${slot(99)}) (i32.add (i32.load (i32.const ${slot(99)})) (i32.const 1)))`;
const tickTimes = (host: Awaited<ReturnType<typeof startPlugin>>) =>
  Array.from({ length: slotValue(host, 99) }, (_, n) => Number((readU64(host, slot(100) + 8 * n) - START_NS) / 1_000_000n));

describe("ticks on the virtual clock", () => {
  test("every period from when it was set, re-armed after each tick; the plugin's time is the clock's", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks({ configure: { code: period(100) }, tick: { code: recordTime } }) })), { startTime: START });
    assert.equal(host.currentTimeNs, START_NS, "the clock stands still");
    host.advanceTime(99);
    assert.deepEqual(tickTimes(host), []);
    host.advanceTime(151);
    assert.deepEqual(tickTimes(host), [100, 200]);
    host.advanceTime(50);
    assert.deepEqual(tickTimes(host), [100, 200, 300]);
    assert.equal(host.currentTimeNs, START_NS + 300_000_000n);
  });

  test("a new period restarts the timer from now; 0 stops it; set from a stream it applies to the root", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        configure: { code: period(100) },
        // Request n sets the period to the value in its slot.
        requestHeaders: { code: `(drop (call $proxy_set_tick_period_milliseconds (i32.load (i32.const ${slot(50)}))))` },
        tick: { code: recordTime },
      }),
    }));
    const host = await startPlugin(bytes, { startTime: START });
    const setPeriod = (ms: number) => {
      host.vm.memory.writeU32(slot(50), ms);
      host.newHttpStream().sendRequestHeaders(REQUEST, true);
    };
    host.advanceTime(150); // tick at 100
    setPeriod(100); // restarted at 150: next at 250, not 200
    host.advanceTime(120);
    assert.deepEqual(tickTimes(host), [100, 250]);
    setPeriod(30); // at 270: 300, 330
    host.advanceTime(70);
    assert.deepEqual(tickTimes(host), [100, 250, 300, 330]);
    setPeriod(0);
    host.advanceTime(1000);
    assert.deepEqual(tickTimes(host), [100, 250, 300, 330]);
    assert.equal(host.tickPeriodMs, 0);
  });

  test("a period changed inside a tick applies from that tick on", async () => {
    const bytes = buildPlugin(() => ({
      body: recordingCallbacks({
        configure: { code: period(10) },
        tick: { code: `${recordTime} (if (i32.eq (i32.load (i32.const ${slot(99)})) (i32.const 2)) (then ${period(100)}))` },
      }),
    }));
    const host = await startPlugin(bytes, { startTime: START });
    host.advanceTime(300);
    assert.deepEqual(tickTimes(host), [10, 20, 120, 220]);
  });

  test("host.tick() fires the timer now and re-arms it from now; without a period it does nothing", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks({ configure: { code: period(100) }, tick: { code: recordTime } }) })), { startTime: START });
    host.advanceTime(60);
    assert.equal(host.tick(), true);
    host.advanceTime(100);
    assert.deepEqual(tickTimes(host), [60, 160]);
  });

  test("without a proxy_on_tick export the timer fires once and is not re-armed", async () => {
    const bytes = buildPlugin(() => ({ body: recordingCallbacks({ configure: { code: period(10) } }).replace(/\(func \(export "proxy_on_tick"\)[\s\S]*?\n\s*\)/, "") }));
    const host = await startPlugin(bytes);
    assert.equal(host.vm.scheduler.pendingTimers, 1);
    host.advanceTime(10);
    assert.equal(host.vm.scheduler.pendingTimers, 0);
    assert.equal(host.failure, undefined);
  });

  test("root deletion stops ticks; a root parked by on_done = 0 keeps ticking and can finish with proxy_done from a tick", async () => {
    const deleted = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks({ configure: { code: period(10) }, tick: { code: recordTime } }) })));
    deleted.shutdown();
    deleted.advanceTime(100);
    assert.equal(slotValue(deleted, 99), 0);
    assert.equal(deleted.vm.scheduler.pendingTimers, 0);

    const parked = await startPlugin(
      buildPlugin(() => ({
        body: recordingCallbacks({
          configure: { code: period(10) },
          done: { result: 0 },
          tick: { code: `${recordTime} (if (i32.eq (i32.load (i32.const ${slot(99)})) (i32.const 2)) (then ${rec(0, "(call $proxy_done)")}))` },
        }),
      })),
    );
    parked.shutdown();
    parked.advanceTime(100);
    assert.equal(slotValue(parked, 99), 2, "ticks until proxy_done, then the root is gone");
    assert.deepEqual(trace(parked, ["tick", "delete"]).slice(-2), ["tick(1,0,0)", "delete(1,0,0)"]);
  });
});

describe("the clock", () => {
  test("startTime sets the wall clock; WASI realtime and monotonic follow advanceTime", async () => {
    const clockGet = (id: number, at: number) => `(drop (call $wasi_clock_time_get (i32.const ${id}) (i64.const 1) (i32.const ${at})))`;
    const bytes = buildPlugin(() => ({
      wasi: ["clock_time_get"],
      body: recordingCallbacks({
        requestHeaders: { code: `${clockGet(0, OUT_B)} ${clockGet(1, OUT_B + 8)} ${rec(0, `(call $proxy_get_current_time_nanoseconds (i32.const ${OUT_B + 16}))`)}` },
      }),
    }));
    const host = await startPlugin(bytes, { startTime: 1_000_000_000_000n });
    host.advanceTime(2.5);
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.deepEqual([readU64(host, OUT_B), readU64(host, OUT_B + 8), readU64(host, OUT_B + 16)], [1_000_002_500_000n, 2_500_000n, 1_000_002_500_000n]);
  });

  test("a real clock: time moves by itself and advanceTime refuses; a shared VirtualClock can be passed in", async () => {
    const real = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks() })), { clock: systemClock });
    assert.throws(() => real.advanceTime(1), /virtual clock/);
    const clock = new VirtualClock(7n);
    const virtual = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks() })), { clock });
    virtual.advanceTime(1);
    assert.equal(clock.realtimeNs(), 1_000_007n);
    assert.throws(() => virtual.advanceTime(-1), RangeError);
  });
});

describe("timers and callouts together", () => {
  test("callout timeouts and ticks fire in time order; each tick's call is answered by the clock", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({
        configure: { code: period(100) },
        tick: { code: `${recordTime} ${rec(1, httpCall(kit, { timeoutMs: 150 }))}` },
      })} ${calloutExports({ httpCallResponse: `${put(2, "(local.get $token)")} ${recordTime}` })}`,
    }));
    const host = await startPlugin(bytes, { startTime: START, clusters: ["auth"] });
    host.advanceTime(400);
    // ticks at 100, 200, 300, 400; the call made at 100 times out at 250, the one at 200 at 350.
    assert.deepEqual(trace(host, ["tick", "httpCallResponse"]), [
      "tick(1,0,0)",
      "tick(1,0,0)",
      "httpCallResponse(1,4,3)",
      "tick(1,0,0)",
      "httpCallResponse(1,8,3)",
      "tick(1,0,0)",
    ]);
    assert.deepEqual(tickTimes(host), [100, 200, 250, 300, 350, 400]);
    assert.deepEqual(host.httpCalls.map((c) => c.token), [12, 16]);
  });

  test("posted work (an automatic answer) runs after the event that caused it, not inside it", async () => {
    const bytes = buildPlugin((kit) => ({
      body: `${recordingCallbacks({ requestHeaders: { code: `${rec(0, httpCall(kit))} (call $event (i32.const 99) (i32.const 0) (i32.const 0) (i32.const 0))`, result: 1 } })}
        ${calloutExports()}`,
    }));
    let pendingDuringResponder = -1;
    const host = await startPlugin(bytes, { clusters: { auth: { http: () => ((pendingDuringResponder = host.vm.scheduler.pendingPosted), { status: 204 }) } } });
    const status = host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.equal(status, 4, "the plugin's own answer: paused");
    assert.deepEqual(trace(host, ["requestHeaders", "code99", "httpCallResponse"]), ["requestHeaders(2,3,1)", "code99(0,0,0)", "httpCallResponse(1,4,1)"]);
    assert.equal(pendingDuringResponder, 0);
  });
});
