// Plugin-defined stats (ABI.md §3.8, §5.12): counters, gauges and histograms. Envoy
// shows them as "wasmcustom.<name>" in its stats (the prefix is hidden from /stats).
// A metric object may be created anywhere, also at the top level; it is defined with the
// host on first use (or by `define()`), because the host refuses definitions while the
// module initializes. Reading a value never writes one (proxy-runtime's metric read
// called proxy_record_metric and overwrote the counter).
import { proxy_define_metric, proxy_get_metric, proxy_increment_metric, proxy_record_metric } from "./abi/imports-shared";
import { EXTRA_OUT, utf8 } from "./abi/memory";
import { record as recordResult } from "./abi/status";
import { WasmResult } from "./types";

export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

/** What every metric has: a name, a type and the host's id once defined. */
export class Metric {
  private metricId: u32 = 0;

  constructor(public readonly type: MetricType, public readonly name: string) {}

  /** The host's id; 0 until defined. Each definition gets a fresh id, even for a name already defined. */
  get id(): u32 { return this.metricId; }

  /** Defines the stat now (e.g. in onConfigure, so it shows as 0 before the first use). Ok once defined. */
  define(): WasmResult {
    if (this.metricId != 0) return WasmResult.Ok;
    const n = utf8(this.name);
    store<u32>(EXTRA_OUT, 0);
    const result = recordResult(proxy_define_metric(<u32>this.type, changetype<usize>(n), n.byteLength, EXTRA_OUT));
    if (result == WasmResult.Ok) this.metricId = load<u32>(EXTRA_OUT);
    return result;
  }

  /** Envoy's record: a counter adds `value`, a gauge is set to it, a histogram records it as a sample. */
  record(value: u64): WasmResult {
    const defined = this.define();
    if (defined != WasmResult.Ok) return defined;
    return recordResult(proxy_record_metric(this.metricId, value));
  }

  /** proxy_increment_metric: counters need delta > 0 (BadArgument otherwise); gauges add or subtract. */
  protected add(delta: i64): WasmResult {
    const defined = this.define();
    if (defined != WasmResult.Ok) return defined;
    return recordResult(proxy_increment_metric(this.metricId, delta));
  }

  /** The current value; 0 when it cannot be read (`lastResult()` says why). */
  protected read(): u64 {
    if (this.define() != WasmResult.Ok) return 0;
    store<u64>(EXTRA_OUT, 0);
    const result = recordResult(proxy_get_metric(this.metricId, EXTRA_OUT));
    return result == WasmResult.Ok ? load<u64>(EXTRA_OUT) : 0;
  }
}

/** A value that only grows: `increment(n)` with n ≥ 1 (Envoy refuses 0 and anything above i64's range). */
export class Counter extends Metric {
  constructor(name: string) { super(MetricType.Counter, name); }

  increment(delta: u64 = 1): WasmResult { return this.add(<i64>delta); }

  get(): u64 { return this.read(); }
}

/** A value that goes up and down, or is set (`record`/`set`). */
export class Gauge extends Metric {
  constructor(name: string) { super(MetricType.Gauge, name); }

  increment(delta: i64 = 1): WasmResult { return this.add(delta); }

  decrement(delta: i64 = 1): WasmResult { return this.add(-delta); }

  set(value: u64): WasmResult { return this.record(value); }

  get(): u64 { return this.read(); }
}

/** A distribution of samples (`record(value)`); Envoy cannot read a histogram back. */
export class Histogram extends Metric {
  constructor(name: string) { super(MetricType.Histogram, name); }
}
