// Counters, gauges and histograms against the mock host (ABI.md §3.10, §5.12).
import { Counter, FilterHeadersStatus, Gauge, Histogram, HttpContext, lastResult, MetricType, registerRootContext, RootContext, WasmResult } from "..";
import { Header } from "../pairs";
import { mockHost, REQUEST } from "../testing/host";

// Top-level metric objects are fine: they are defined with the host on first use.
const requests = new Counter("requests");
const active = new Gauge("active");
const latency = new Histogram("latency_ms");

class Root extends RootContext {
  onConfigure(size: u32): bool {
    // Defining early makes the stat visible (at 0) before the first request.
    return requests.define() == WasmResult.Ok;
  }
  createHttpContext(contextId: u32): HttpContext { return new Stream(contextId, this); }
}

class Stream extends HttpContext {
  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    requests.increment();
    active.increment();
    return FilterHeadersStatus.Continue;
  }
  onLog(): void {
    active.decrement();
    latency.record(12);
  }
}

registerRootContext((id: u32) => new Root(id), "metrics");

function request(): Array<Header> {
  return [new Header(":method", "GET"), new Header(":path", "/"), new Header(":authority", "h")];
}

describe("metrics", () => {
  it("counts in callbacks; the test reads the stats by name", () => {
    expect(mockHost.start("metrics")).toBe(true);
    expect(mockHost.metricValue("requests")).toBe(0);
    const stream = mockHost.openStream();
    mockHost.sendHeaders(stream, REQUEST, request(), true);
    expect(mockHost.metricValue("requests")).toBe(1);
    expect(mockHost.metricValue("active")).toBe(1);
    mockHost.end(stream);
    expect(mockHost.metricValue("active")).toBe(0);
    expect(mockHost.metricSamples("latency_ms")).toBe(1);
  });

  it("reading never writes the value", () => {
    mockHost.start("metrics");
    const c = new Counter("read_twice");
    c.increment(5);
    expect(c.get()).toBe(5);
    expect(c.get()).toBe(5);
    expect(mockHost.metricValue("read_twice")).toBe(5);
  });

  it("a counter only grows: increment(0) and deltas beyond i64 are BadArgument; record adds", () => {
    mockHost.start("metrics");
    const c = new Counter("grows");
    expect(c.increment(0)).toBe(WasmResult.BadArgument);
    expect(c.increment(u64.MAX_VALUE)).toBe(WasmResult.BadArgument);
    expect(c.increment(2)).toBe(WasmResult.Ok);
    expect(c.record(3)).toBe(WasmResult.Ok);
    expect(c.get()).toBe(5);
  });

  it("a gauge goes up and down, or is set", () => {
    mockHost.start("metrics");
    const g = new Gauge("level");
    expect(g.set(10)).toBe(WasmResult.Ok);
    expect(g.decrement(3)).toBe(WasmResult.Ok);
    expect(g.increment(-2)).toBe(WasmResult.Ok);
    expect(g.get()).toBe(5);
  });

  it("a histogram records samples", () => {
    mockHost.start("metrics");
    const h = new Histogram("sizes");
    expect(h.record(100)).toBe(WasmResult.Ok);
    expect(h.record(200)).toBe(WasmResult.Ok);
    expect(mockHost.metricSamples("sizes")).toBe(2);
    expect(mockHost.metricValue("sizes")).toBe(-1);
  });

  it("each definition gets a fresh id carrying the type; the same name is the same stat", () => {
    mockHost.start("metrics");
    const a = new Counter("shared_name");
    const b = new Counter("shared_name");
    expect(a.define()).toBe(WasmResult.Ok);
    expect(b.define()).toBe(WasmResult.Ok);
    expect(a.id).not.toBe(b.id);
    expect(a.id & 3).toBe(<u32>MetricType.Counter);
    a.increment(1);
    b.increment(1);
    expect(a.get()).toBe(2);
    const g = new Gauge("typed");
    g.define();
    expect(g.id & 3).toBe(<u32>MetricType.Gauge);
    const h = new Histogram("typed");
    h.define();
    expect(h.id & 3).toBe(<u32>MetricType.Histogram);
  });

  it("an unreadable value is 0 with the status in lastResult()", () => {
    mockHost.start("metrics");
    const c = new Counter("fine");
    expect(c.get()).toBe(0);
    expect(lastResult()).toBe(WasmResult.Ok);
  });
});
