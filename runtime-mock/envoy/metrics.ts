// Plugin-defined stats (ABI.md §3.10, §5.12; Envoy `Context::defineMetric` & co.).
// Two levels, as in Envoy: the stats themselves live in the process's store by name
// (Envoy's stats scope: plugins and worker VMs that define the same name share one stat,
// shown as "wasmcustom.<name>"), while ids are per VM, carry the type in their low 2 bits
// and are fresh on every define (counters 4, 8, 12…, gauges 5, 9…, histograms 6, 10…).
import { MetricType, WasmResult } from "../wasm/types.js";

const TYPE_MASK = 3;
/** Envoy's stat name prefix for plugin-defined metrics (E-STATS); hidden from /stats. */
export const CUSTOM_STAT_NAMESPACE = "wasmcustom";
const U64 = (v: bigint) => BigInt.asUintN(64, v);

interface Stat {
  type: MetricType;
  name: string;
  value: bigint;
  samples: bigint[];
}

export interface MetricSnapshot {
  /** The name the plugin defined (without "wasmcustom."). */
  name: string;
  type: MetricType;
  /** Counter or gauge value; for a histogram the number of samples. */
  value: bigint;
  /** Histogram samples in recording order (empty for counters and gauges). */
  samples: bigint[];
}

/** The process's stats by name; what a test reads. Names may be given with or without "wasmcustom.". */
export class StatsStore {
  private readonly stats = new Map<string, Stat>();

  /** The stat `name` of `type`, created at 0 on first use (Envoy's counterFromElements & co.). */
  stat(type: MetricType, name: string): Stat {
    const key = `${type}\0${name}`;
    let stat = this.stats.get(key);
    if (!stat) this.stats.set(key, (stat = { type, name, value: 0n, samples: [] }));
    return stat;
  }

  /** A stat by name (the first type defined under it unless `type` is given). */
  get(name: string, type?: MetricType): MetricSnapshot | undefined {
    const plain = stripNamespace(name);
    for (const stat of this.stats.values()) {
      if (stat.name === plain && (type === undefined || stat.type === type)) return snapshot(stat);
    }
    return undefined;
  }

  /** A counter's or gauge's value by name; undefined if never defined (or a histogram). */
  value(name: string): bigint | undefined {
    const counter = this.get(name, MetricType.Counter) ?? this.get(name, MetricType.Gauge);
    return counter?.value;
  }

  /** A histogram's samples by name, in recording order; undefined if never defined. */
  samples(name: string): bigint[] | undefined {
    return this.get(name, MetricType.Histogram)?.samples;
  }

  list(): MetricSnapshot[] {
    return [...this.stats.values()].map(snapshot);
  }
}

/** One VM's metric ids (Envoy's counters_/gauges_/histograms_ maps) onto the process's stats. */
export class MetricsRegistry {
  private readonly byId = new Map<number, Stat>();
  private readonly nextId: Record<MetricType, number> = {
    [MetricType.Counter]: MetricType.Counter,
    [MetricType.Gauge]: MetricType.Gauge,
    [MetricType.Histogram]: MetricType.Histogram,
  };

  constructor(readonly stats: StatsStore = new StatsStore()) {}

  /** Returns the new id, or undefined for a type above Histogram (BadArgument). */
  define(type: number, name: string): number | undefined {
    if (type > MetricType.Histogram) return undefined;
    const t = type as MetricType;
    const id = (this.nextId[t] = (this.nextId[t] + 4) >>> 0);
    this.byId.set(id, this.stats.stat(t, name));
    return id;
  }

  /** Envoy checks the type first: histograms (and type 3) BadArgument; then the id; counters need delta > 0. */
  increment(id: number, delta: bigint): WasmResult {
    const type = id & TYPE_MASK;
    if (type !== MetricType.Counter && type !== MetricType.Gauge) return WasmResult.BadArgument;
    const stat = this.byId.get(id);
    if (!stat) return WasmResult.NotFound;
    if (type === MetricType.Counter && delta <= 0n) return WasmResult.BadArgument;
    stat.value = U64(stat.value + delta);
    return WasmResult.Ok;
  }

  /** Counter: adds; gauge: sets; histogram: records a sample. Unknown id (or type 3) NotFound. */
  record(id: number, value: bigint): WasmResult {
    const stat = this.byId.get(id);
    if (!stat || (id & TYPE_MASK) !== stat.type) return WasmResult.NotFound;
    const v = U64(value);
    if (stat.type === MetricType.Counter) stat.value = U64(stat.value + v);
    else if (stat.type === MetricType.Gauge) stat.value = v;
    else stat.samples.push(v);
    return WasmResult.Ok;
  }

  /** proxy_get_metric by id: histograms (and type 3) BadArgument; unknown id NotFound. Never changes the value. */
  read(id: number): { status: WasmResult; value?: bigint } {
    const type = id & TYPE_MASK;
    if (type !== MetricType.Counter && type !== MetricType.Gauge) return { status: WasmResult.BadArgument };
    const stat = this.byId.get(id);
    return stat ? { status: WasmResult.Ok, value: stat.value } : { status: WasmResult.NotFound };
  }

  // --- test views (by name, process-wide) ---

  /** A stat by name: `{ name, type, value, samples }`. */
  get(name: string, type?: MetricType): MetricSnapshot | undefined {
    return this.stats.get(name, type);
  }

  value(name: string): bigint | undefined {
    return this.stats.value(name);
  }

  samples(name: string): bigint[] | undefined {
    return this.stats.samples(name);
  }

  list(): MetricSnapshot[] {
    return this.stats.list();
  }
}

function stripNamespace(name: string): string {
  return name.startsWith(`${CUSTOM_STAT_NAMESPACE}.`) ? name.slice(CUSTOM_STAT_NAMESPACE.length + 1) : name;
}

function snapshot(stat: Stat): MetricSnapshot {
  const value = stat.type === MetricType.Histogram ? BigInt(stat.samples.length) : stat.value;
  return { name: stat.name, type: stat.type, value, samples: [...stat.samples] };
}
