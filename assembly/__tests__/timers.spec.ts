// The root's tick timer and the host's clock through the SDK, against the mock host's
// virtual clock (ABI.md §5.2, §4.3 proxy_on_tick).
import {
  currentTimeMilliseconds, currentTimeNanoseconds, lastResult, registerRootContext, RootContext, WasmResult,
} from "..";
import { mockUpstream } from "../testing/callouts";
import { mockHost } from "../testing/host";

let periodMs: u32 = 0;
let setResult: WasmResult = WasmResult.Ok;
let tickTimes = new Array<u64>();
let stopAfter: i32 = 0;

class Root extends RootContext {
  onConfigure(size: u32): bool {
    setResult = this.setTickPeriod(periodMs);
    return true;
  }
  onTick(): void {
    tickTimes.push(currentTimeNanoseconds());
    if (tickTimes.length == stopAfter) this.setTickPeriod(0);
  }
}

registerRootContext((id: u32) => new Root(id), "timers");

function start(period: u32, stop: i32 = 0): void {
  periodMs = period;
  stopAfter = stop;
  tickTimes = new Array<u64>();
  expect(mockHost.start("timers")).toBe(true);
}

describe("ticks", () => {
  it("onTick every period of virtual time, at the host's current time", () => {
    start(100);
    expect(setResult).toBe(WasmResult.Ok);
    const t0 = currentTimeNanoseconds();
    mockUpstream.advanceTime(350);
    expect(tickTimes.length).toBe(3);
    expect(tickTimes[0] - t0).toBe(100_000_000);
    expect(tickTimes[1] - tickTimes[0]).toBe(100_000_000);
    expect(tickTimes[2] - tickTimes[1]).toBe(100_000_000);
  });

  it("setTickPeriod(0) from a tick stops the timer", () => {
    start(10, 2);
    mockUpstream.advanceTime(1000);
    expect(tickTimes.length).toBe(2);
  });

  it("period 0 at start: no ticks", () => {
    start(0);
    mockUpstream.advanceTime(1000);
    expect(tickTimes.length).toBe(0);
  });
});

describe("the clock", () => {
  it("current time in ns and ms follows the host's clock", () => {
    start(0);
    const before = currentTimeNanoseconds();
    expect(lastResult()).toBe(WasmResult.Ok);
    mockUpstream.advanceTime(1234);
    expect(currentTimeNanoseconds() - before).toBe(1_234_000_000);
    expect(<i64>currentTimeMilliseconds()).toBe(mockUpstream.currentTimeMs());
  });
});
