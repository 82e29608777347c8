// What a test configures on the host (the Envoy filter + VM configuration it stands for),
// and the resolved settings the VM runs with.
import { LogLevel } from "../wasm/types.js";
import type { Upstreams } from "../envoy/callouts/upstreams.js";
import type { LogEntry, PluginIdentity } from "../envoy/logs.js";
import { clusterMap, type ClusterConfig, type ClusterOptions } from "../envoy/callouts/mock-upstreams.js";
import type { PropertyTree } from "../envoy/properties.js";
import { DEFAULT_STEP_BUDGET } from "../wasm/cost-meter.js";
import { ENVOY_MAX_MEMORY_BYTES, PAGE_BYTES } from "../wasm/memory-limit.js";
import type { SourceMapSource } from "../wasm/diagnostics/source-map.js";
import { VirtualClock, type Clock } from "../envoy/scheduler.js";
import { utf8Bytes } from "../wasm/utf8.js";

export interface HostOptions {
  /** Envoy root_id; default "" (what Istio sends when pluginName is unset). */
  rootId?: string;
  vmId?: string;
  /** Default: rootId. */
  pluginName?: string;
  /** An object is sent as JSON. Default: empty. */
  pluginConfig?: string | Uint8Array | object;
  vmConfig?: string | Uint8Array;
  /** Property overrides (see envoy/properties.ts). */
  properties?: PropertyTree;
  /**
   * Serve the pre-xds top-level property names (node, cluster_name, route_name,
   * listener_direction, *_metadata…) as Envoy did before PR #36619 (Istio ≤ 1.24).
   * Default true; false behaves like current Envoy (NOT_FOUND for them).
   */
  legacyPropertyNames?: boolean;
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
  /**
   * How far the plugin's linear memory may grow, as the engine's maximum: past it
   * `memory.grow` returns -1 inside the call, so the plugin's allocator sees the failure
   * (AssemblyScript's then traps, reported as "out of memory"). Default 1 GiB, what Envoy's
   * V8 allows a module. A module that imports its memory, or a ready WebAssembly.Module, is
   * checked after each call instead: past the limit the VM fails like a trap.
   */
  maxMemoryBytes?: number;
  /**
   * Default: a VirtualClock that stands still until `host.advanceTime(ms)` moves it (ticks and
   * callout timeouts fire then). Pass `systemClock` (or any Clock) for real time.
   */
  clock?: Clock;
  /** Where the default virtual clock starts: a Date or ns since the Unix epoch. Default: now. */
  startTime?: Date | bigint;
  /**
   * The clusters callouts may target (Envoy's cluster manager): names, or name → options with
   * an automatic responder. Calls to any other cluster fail as in Envoy (BAD_ARGUMENT, PARSE_FAILURE).
   */
  clusters?: ClusterConfig;
  /** Who answers callouts instead of the test (e.g. real HTTP upstreams in a dev proxy); replaces `clusters`. */
  upstreams?: Upstreams;
  /** Called for every recorded log entry (e.g. to print while debugging). */
  onLog?: (entry: LogEntry) => void;
  /**
   * A trap in plugin code makes the test API call that ran it throw a PluginTrapError
   * (after Envoy's behaviour was applied: the 503 or fail-open, the failed VM). Default
   * true; false for tests that exercise faults on purpose (or use `host.expectTrap`).
   */
  throwOnTrap?: boolean;
  /**
   * Steps (function entries and loop iterations) one plugin call may take before it ends as
   * a trap of kind "runaway". Default 100,000,000; false runs the module uninstrumented
   * (benchmarks). The guard is written into a copy of the module (wasm/cost-meter.ts).
   */
  stepBudget?: number | false;
  /**
   * Count the WebAssembly instructions each callback executes and the host calls it makes,
   * deterministically, in an instrumented copy of the module: `host.cost`, `stream.cost`,
   * `connection.cost`. The same copy carries the step guard (stepBudget).
   * Default false (the copy runs somewhat slower). "byFunction" also counts per function,
   * for `host.costByFunction()`: where the instructions go.
   */
  meterCost?: boolean | "byFunction";
  /**
   * The module's source map, for failure reports that name source lines: a path or URL of
   * the .map, its JSON text or the parsed object. Default: found beside a module loaded
   * from a file (its sourceMappingURL, else `<module>.map`); false for none.
   */
  sourceMap?: SourceMapSource | false;
}

export interface VmSettings {
  plugin: PluginIdentity;
  pluginConfig: Uint8Array;
  vmConfig: Uint8Array;
  properties: PropertyTree;
  legacyPropertyNames: boolean;
  environment: Record<string, string>;
  logLevel: LogLevel;
  failOpen: boolean;
  allowOnHeadersStopIteration: boolean;
  bufferLimitBytes: number;
  maxMemoryBytes: number;
  clock: Clock;
  clusters: Map<string, ClusterOptions>;
  upstreams: Upstreams | undefined;
  onLog: ((entry: LogEntry) => void) | undefined;
  throwOnTrap: boolean;
  /** undefined: no step counting. */
  stepBudget: number | undefined;
  meterCost: boolean | "byFunction";
}

export const DEFAULT_BUFFER_LIMIT = 1024 * 1024;


export function resolveSettings(options: HostOptions = {}): VmSettings {
  const rootId = options.rootId ?? "";
  const bufferLimitBytes = options.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT;
  if (!Number.isInteger(bufferLimitBytes) || bufferLimitBytes < 0) {
    throw new RangeError(`bufferLimitBytes must be a non-negative integer, got ${bufferLimitBytes}`);
  }
  const maxMemoryBytes = options.maxMemoryBytes ?? ENVOY_MAX_MEMORY_BYTES;
  if (!Number.isInteger(maxMemoryBytes) || maxMemoryBytes < PAGE_BYTES || maxMemoryBytes > 4 * 1024 ** 3) {
    throw new RangeError(`maxMemoryBytes must be an integer from 65536 (one page) to 4 GiB, got ${maxMemoryBytes}`);
  }
  const stepBudget = options.stepBudget ?? DEFAULT_STEP_BUDGET;
  // The counter is a wasm i32.
  if (stepBudget !== false && (!Number.isSafeInteger(stepBudget) || stepBudget <= 0 || stepBudget > 0x7fffffff)) {
    throw new RangeError(`stepBudget must be a positive integer (at most 2147483647) or false, got ${stepBudget}`);
  }
  return {
    plugin: { name: options.pluginName ?? rootId, rootId, vmId: options.vmId ?? "" },
    pluginConfig: toBytes(options.pluginConfig),
    vmConfig: toBytes(options.vmConfig),
    properties: options.properties ?? {},
    legacyPropertyNames: options.legacyPropertyNames ?? true,
    environment: { ...options.environment },
    logLevel: options.logLevel ?? LogLevel.Info,
    failOpen: options.failStrategy === "failOpen",
    allowOnHeadersStopIteration: options.allowOnHeadersStopIteration ?? false,
    bufferLimitBytes,
    maxMemoryBytes,
    clock: options.clock ?? new VirtualClock(startTimeNs(options.startTime)),
    clusters: clusterMap(options.clusters),
    upstreams: options.upstreams,
    onLog: options.onLog,
    throwOnTrap: options.throwOnTrap ?? true,
    stepBudget: stepBudget === false ? undefined : stepBudget,
    meterCost: options.meterCost ?? false,
  };
}

function toBytes(value: string | Uint8Array | object | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  if (typeof value === "string") return utf8Bytes(value);
  if (value instanceof Uint8Array) return value.slice();
  return utf8Bytes(JSON.stringify(value));
}


function startTimeNs(start: Date | bigint | undefined): bigint | undefined {
  if (start === undefined || typeof start === "bigint") return start;
  const ms = start.getTime();
  if (Number.isNaN(ms)) throw new RangeError("startTime is an invalid Date");
  return BigInt(ms) * 1_000_000n;
}
