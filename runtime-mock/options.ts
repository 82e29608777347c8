// What a test configures on the host (the Envoy filter + VM configuration it stands for),
// and the resolved settings the VM runs with.
import { LogLevel } from "./abi/types.js";
import type { LogEntry, PluginIdentity } from "./logs.js";
import type { PropertyTree } from "./properties.js";

export interface Clock {
  /** Wall clock, ns since the Unix epoch (proxy_get_current_time_nanoseconds, WASI clock 0). */
  realtimeNs(): bigint;
  /** Monotonic clock, ns (WASI clock 1). */
  monotonicNs(): bigint;
}

export interface HostOptions {
  /** Envoy root_id; default "" (what Istio sends when pluginName is unset). */
  rootId?: string;
  vmId?: string;
  /** Default: rootId. */
  pluginName?: string;
  /** An object is sent as JSON. Default: empty. */
  pluginConfig?: string | Uint8Array | object;
  vmConfig?: string | Uint8Array;
  /** Property overrides (see properties.ts). */
  properties?: PropertyTree;
  /** The `wasm` logger level; default Info. */
  logLevel?: LogLevel;
  /** The VM's environment variables (WASI environ_*). */
  environment?: Record<string, string>;
  /** What happens to streams once the VM has failed; default failClosed. */
  failStrategy?: "failClosed" | "failOpen";
  /** Envoy's allow_on_headers_stop_iteration; default false. */
  allowOnHeadersStopIteration?: boolean;
  /** Per-stream buffer limit (per_connection_buffer_limit_bytes); default 1 MiB. */
  bufferLimitBytes?: number;
  clock?: Clock;
  /** Called for every recorded log entry (e.g. to print while debugging). */
  onLog?: (entry: LogEntry) => void;
}

export interface VmSettings {
  plugin: PluginIdentity;
  pluginConfig: Uint8Array;
  vmConfig: Uint8Array;
  properties: PropertyTree;
  environment: Record<string, string>;
  logLevel: LogLevel;
  failOpen: boolean;
  allowOnHeadersStopIteration: boolean;
  bufferLimitBytes: number;
  clock: Clock;
  onLog: ((entry: LogEntry) => void) | undefined;
}

export const DEFAULT_BUFFER_LIMIT = 1024 * 1024;

const encoder = new TextEncoder();

const originNs = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n;

/** Real time: wall clock (sub-millisecond through the monotonic clock) and process.hrtime. */
export const systemClock: Clock = {
  realtimeNs: () => originNs + BigInt(Math.round(performance.now() * 1e6)),
  monotonicNs: () => process.hrtime.bigint(),
};

export function resolveSettings(options: HostOptions = {}): VmSettings {
  const rootId = options.rootId ?? "";
  const bufferLimitBytes = options.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT;
  if (!Number.isInteger(bufferLimitBytes) || bufferLimitBytes < 0) {
    throw new RangeError(`bufferLimitBytes must be a non-negative integer, got ${bufferLimitBytes}`);
  }
  return {
    plugin: { name: options.pluginName ?? rootId, rootId, vmId: options.vmId ?? "" },
    pluginConfig: toBytes(options.pluginConfig),
    vmConfig: toBytes(options.vmConfig),
    properties: options.properties ?? {},
    environment: { ...options.environment },
    logLevel: options.logLevel ?? LogLevel.Info,
    failOpen: options.failStrategy === "failOpen",
    allowOnHeadersStopIteration: options.allowOnHeadersStopIteration ?? false,
    bufferLimitBytes,
    clock: options.clock ?? systemClock,
    onLog: options.onLog,
  };
}

function toBytes(value: string | Uint8Array | object | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  if (typeof value === "string") return encoder.encode(value);
  if (value instanceof Uint8Array) return value.slice();
  return encoder.encode(JSON.stringify(value));
}

const isPlainObject = (v: unknown): v is Record<string, PropertyTree[string]> =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Host-wide overrides with a stream's on top; plain objects merge key by key, anything else replaces. */
export function mergePropertyTrees(base: PropertyTree, top: PropertyTree | undefined): PropertyTree {
  if (!top) return base;
  const out: PropertyTree = { ...base };
  for (const [key, value] of Object.entries(top)) {
    const below = out[key];
    out[key] = isPlainObject(below) && isPlainObject(value) ? (mergePropertyTrees(below, value) as PropertyTree[string]) : value;
  }
  return out;
}
