// Plugin-defined stats (ABI.md §3.10, §5.12; Envoy `Context::defineMetric` & co.). Ids carry
// the type in their low 2 bits and are fresh on every define (counters 4, 8, 12…, gauges
// 5, 9…, histograms 6, 10…), while the stat behind them is shared by name: defining "a"
// twice gives two ids for one counter. Envoy names the stat "wasmcustom.<name>".
import { MetricType, WasmResult } from "./abi/types.js";

const TYPE_MASK = 3;
const U64 = (v: bigint) => BigInt.asUintN(64, v);

interface Stat {
  type: MetricType;
  name: string;
  value: bigint;
  samples: bigint[];
}

export interface MetricSnapshot {
  name: string;
  type: MetricType;
  /** Counter or gauge value; for a histogram the number of samples. */
  value: bigint;
  /** Histogram samples in recording order (empty for counters and gauges). */
  samples: bigint[];
}

export class MetricsRegistry {
  private readonly byId = new Map<number, Stat>();
  private readonly byName = new Map<string, Stat>();
  private readonly nextId: Record<MetricType, number> = {
    [MetricType.Counter]: MetricType.Counter,
    [MetricType.Gauge]: MetricType.Gauge,
    [MetricType.Histogram]: MetricType.Histogram,
  };

  /** Returns the new id, or undefined for a type above Histogram (BadArgument). */
  define(type: number, name: string): number | undefined {
    if (type > MetricType.Histogram) return undefined;
    const t = type as MetricType;
    const key = `${t}\0${name}`;
    let stat = this.byName.get(key);
    if (!stat) this.byName.set(key, (stat = { type: t, name, value: 0n, samples: [] }));
    const id = (this.nextId[t] = (this.nextId[t] + 4) >>> 0);
    this.byId.set(id, stat);
    return id;
  }

  /** Counters need delta > 0; gauges add or subtract; histograms refuse. */
  increment(id: number, delta: bigint): WasmResult {
    const type = id & TYPE_MASK;
    if (type !== MetricType.Counter && type !== MetricType.Gauge) return WasmResult.BadArgument;
    const stat = this.byId.get(id);
    if (!stat) return WasmResult.NotFound;
    if (type === MetricType.Counter && delta <= 0n) return WasmResult.BadArgument;
    stat.value = U64(stat.value + delta);
    return WasmResult.Ok;
  }

  /** Counter: adds; gauge: sets; histogram: records a sample. */
  record(id: number, value: bigint): WasmResult {
    const stat = this.byId.get(id);
    if (!stat || (id & TYPE_MASK) !== stat.type) return WasmResult.NotFound;
    const v = U64(value);
    if (stat.type === MetricType.Counter) stat.value = U64(stat.value + v);
    else if (stat.type === MetricType.Gauge) stat.value = v;
    else stat.samples.push(v);
    return WasmResult.Ok;
  }

  get(id: number): { status: WasmResult; value?: bigint } {
    const type = id & TYPE_MASK;
    if (type !== MetricType.Counter && type !== MetricType.Gauge) return { status: WasmResult.BadArgument };
    const stat = this.byId.get(id);
    return stat ? { status: WasmResult.Ok, value: stat.value } : { status: WasmResult.NotFound };
  }

  /** Test view of a stat by the name the plugin defined it with (without "wasmcustom."). */
  find(name: string, type?: MetricType): MetricSnapshot | undefined {
    for (const stat of this.byName.values()) {
      if (stat.name === name && (type === undefined || stat.type === type)) return snapshot(stat);
    }
    return undefined;
  }

  /** Counter or gauge value by name (undefined if never defined). */
  value(name: string): bigint | undefined {
    const stat = this.find(name);
    return stat && stat.type !== MetricType.Histogram ? stat.value : undefined;
  }

  list(): MetricSnapshot[] {
    return [...this.byName.values()].map(snapshot);
  }
}

function snapshot(stat: Stat): MetricSnapshot {
  const value = stat.type === MetricType.Histogram ? BigInt(stat.samples.length) : stat.value;
  return { name: stat.name, type: stat.type, value, samples: [...stat.samples] };
}
