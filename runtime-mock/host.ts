// The mock Envoy: one Wasm VM running one plugin (one root context) and the HTTP streams
// that go through it (ABI.md §8.1 start, §8.2 streams, §8.5 shutdown). Loads any
// proxy-wasm module (AssemblyScript, Rust, Go, C++), links it like cpp-host, and answers
// every host call the way Envoy does.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { compilePlugin, compiledPluginNow } from "./wasm/compiled-modules.js";
import { ModuleLoadError, UNKNOWN_ABI } from "./wasm/module.js";
import { pagesWithin } from "./wasm/memory-limit.js";
import type { OffsetMap } from "./wasm/offset-map.js";
import type { ImportedObjectDescriptor } from "./wasm/imported-memory.js";
import { hostFunctionTypes } from "./wasm/signatures.js";
import { collectingCoverage, coverageVariant } from "./wasm/coverage-files.js";
import type { PluginFailure } from "./wasm/diagnostics/failure.js";
import type { CostReport } from "./vm/cost.js";
import { findSourceMapBeside, type SourceMapSource } from "./wasm/diagnostics/source-map.js";
import { PeerType, type AbiVersion, LogLevel } from "./wasm/types.js";
import type { ForeignFunction } from "./envoy/foreign-functions.js";
import type { GrpcCall, GrpcStream } from "./envoy/callouts/grpc-call.js";
import type { HttpCall } from "./envoy/callouts/http-call.js";
import { HttpStream, type HttpStreamOptions } from "./http-stream.js";
import { IdTable } from "./envoy/id-table.js";
import type { LogEntry } from "./envoy/logs.js";
import type { MetricsRegistry } from "./envoy/metrics.js";
import { MockUpstreams, type ClusterOptions } from "./envoy/callouts/mock-upstreams.js";
import { resolveSettings, type HostOptions } from "./vm/options.js";
import type { ProxyProcess } from "./envoy/process.js";
import { RootContext } from "./vm/root-context.js";
import type { SharedDataStore } from "./envoy/shared-data.js";
import type { SharedQueueRegistry } from "./envoy/shared-queues.js";
import { TcpConnection, type TcpConnectionOptions } from "./tcp-connection.js";
import { PluginVm, RESTRICTED_CALLBACK } from "./vm/vm.js";
import { PluginTrapError } from "./wasm/diagnostics/trap-error.js";
import { utf8Bytes } from "./wasm/utf8.js";

export type ModuleSource = string | URL | Uint8Array | ArrayBuffer | WebAssembly.Module;

export type StartResult =
  | { ok: true }
  | {
      ok: false;
      reason: "vmStartFailed" | "configureFailed" | "vmFailed";
      /** Why, with the plugin's own error and critical lines of the start. */
      message: string;
      /** The plugin's error and critical lines while it started, whatever the log level. */
      pluginErrors: string[];
      /** With reason "vmFailed": the trap. */
      failure?: PluginFailure;
    };

export type HostState = "loaded" | "running" | "startFailed" | "configureFailed" | "failed" | "shutdown";

/** Envoy's (cpp-host's) wording when the instance cannot be created or initialized. */
export const INSTANTIATION_FAILED = "Failed to create new Wasm instance";
export const INITIALIZATION_FAILED = "Failed to initialize Wasm code";

export class Host {
  private readonly root: RootContext;
  private lifecycle: "loaded" | "running" | "startFailed" | "configureFailed" | "shutdown" = "loaded";
  private readonly liveStreams = new IdTable<HttpStream>();
  private readonly liveConnections = new IdTable<TcpConnection>();
  private nextConnectionId = 1;

  private constructor(readonly vm: PluginVm) {
    // The root context gets the first id (1); it is announced to the plugin by start().
    this.root = new RootContext(vm, vm.allocateContextId());
    vm.registerContext(this.root);
  }

  /**
   * Parses the module, detects its ABI, checks imports and exports like Envoy (throwing
   * ModuleLoadError with Envoy's message and a hint), instantiates it and runs
   * `_initialize` (+ `main`/`__main_void`) or `_start` in the restricted phase.
   */
  static async load(source: ModuleSource, options: HostOptions = {}, process?: ProxyProcess): Promise<Host> {
    const settings = resolveSettings(options);
    const how = { instrument: settings.stepBudget !== undefined, meterCost: settings.meterCost, maxMemoryPages: pagesWithin(settings.maxMemoryBytes) };
    const { module, abiVersion, imported, instrumented, metered, sourceMap, bytes, uninstrumentedReason, coverageBuilds, importedFunctions, offsetMaps } =
      compiledNow(source, how, options.sourceMap) ?? (await compile(source, how, options.sourceMap));
    if (settings.meterCost && !metered) throw new RangeError("meterCost needs the module's bytes (a path, URL or buffer), not a compiled WebAssembly.Module");
    // Without a process (MockEnvoy) the VM gets a private one: its own shared data, queues, stats.
    const vm = new PluginVm(settings, abiVersion, process);
    vm.instrumented = instrumented;
    vm.metered = metered;
    vm.coverageBuilds = coverageBuilds;
    if (uninstrumentedReason !== undefined) {
      vm.logs.writeHost(LogLevel.Warn, `the step budget is off for this module: the host could not instrument it (${uninstrumentedReason}); a callback that never returns will hang`, 0);
    }
    vm.useSourceMap(sourceMap, bytes, offsetMaps);
    let instance: WebAssembly.Instance;
    try {
      // Synchronous: the module is compiled already, and the promise form waits a turn of the event loop.
      instance = new WebAssembly.Instance(module, vm.importObject(imported, importedFunctions));
    } catch (error) {
      throw new ModuleLoadError(INSTANTIATION_FAILED, instantiationHint(error, vm.lastRestrictedCall));
    }
    vm.bind(instance);
    const limit = vm.settings.maxMemoryBytes;
    if (vm.memoryBytes > limit) {
      throw new ModuleLoadError(
        INSTANTIATION_FAILED,
        `The module's linear memory starts at ${vm.memoryBytes} bytes, over the configured limit of ${limit} bytes (maxMemoryBytes): lower its initial memory or raise the limit.`,
      );
    }
    vm.initialize();
    const failure = vm.takeFailure();
    if (failure) throw new ModuleLoadError(INITIALIZATION_FAILED, initializationHint(failure, vm.lastRestrictedCall));
    return new Host(vm);
  }

  /** Wraps a VM whose instance was created and bound elsewhere (see vm.ts, "Embedding"). */
  static fromVm(vm: PluginVm): Host {
    return new Host(vm);
  }

  get abiVersion(): AbiVersion {
    return this.vm.abiVersion ?? "0.2.1";
  }

  get rootContextId(): number {
    return this.root.id;
  }

  get state(): HostState {
    if (this.lifecycle === "shutdown") return "shutdown";
    if (this.vm.failed) return "failed";
    return this.lifecycle;
  }

  /**
   * §8.1 steps 4–6: on_context_create(root, 0), on_vm_start(root, len(vm config)),
   * on_configure(root, len(plugin config)). A 0 from on_vm_start stops there.
   */
  start(): StartResult {
    if (this.lifecycle !== "loaded") throw new Error(`start() was already called (state: ${this.state})`);
    const pluginErrors = this.vm.collectPluginErrors();
    try {
      const failed = (reason: "vmStartFailed" | "configureFailed" | "vmFailed", why = ""): StartResult => {
        const failure = reason === "vmFailed" ? this.vm.failure : undefined;
        const logged = pluginErrors.join(" | ");
        if (failure) return { ok: false, reason, message: `${failure.report}${logged ? `\nthe plugin logged: ${logged}` : ""}`, pluginErrors, failure };
        // The SDKs drop lines below the level the host reports: "none" is only as good as that level.
        const said = logged ? `the plugin logged: ${logged}` : `the plugin logged no error at log level ${LogLevel[this.vm.settings.logLevel]!.toLowerCase()}`;
        return { ok: false, reason, message: `${why}; ${said}`, pluginErrors };
      };
      this.root.create();
      if (this.vm.failed) return failed("vmFailed");
      const started = this.root.vmStart();
      if (this.vm.failed) return failed("vmFailed");
      if (!started) {
        this.lifecycle = "startFailed";
        return failed("vmStartFailed", "proxy_on_vm_start returned false: Envoy marks the plugin as failed to start and never configures it");
      }
      const configured = this.root.configure();
      if (this.vm.failed) return failed("vmFailed");
      if (!configured) {
        this.lifecycle = "configureFailed";
        return failed("configureFailed", "proxy_on_configure returned false: Envoy rejects the plugin configuration");
      }
      this.lifecycle = "running";
      this.vm.scheduler.runPosted(); // e.g. queue notifications for items enqueued while starting
      return { ok: true };
    } finally {
      this.vm.stopCollectingPluginErrors();
      this.vm.surfaceFailure();
    }
  }

  /**
   * Runs `fn`, which must make plugin code trap, and returns the failure report; throws when
   * nothing trapped. For tests that exercise a fault on purpose, with throwOnTrap left on.
   */
  expectTrap(fn: () => unknown): PluginFailure {
    const before = this.vm.failure;
    try {
      fn();
    } catch (error) {
      if (!(error instanceof PluginTrapError)) throw error;
      return error.failure;
    }
    const failure = this.vm.takeFailure() ?? (this.vm.failure !== before ? this.vm.failure : undefined);
    if (!failure) throw new Error("expectTrap: the plugin did not trap");
    return failure;
  }

  /**
   * A new HTTP stream through the plugin. On a failed VM the stream gets Envoy's empty
   * context (fail closed: 503 at the first callback) or no filter at all (fail open).
   */
  newHttpStream(options: HttpStreamOptions = {}): HttpStream {
    this.assertTrafficAccepted();
    const id = this.nextConnectionId++;
    const stream = new HttpStream(this.vm, this.root, id, options, () => this.liveStreams.delete(id));
    if (!stream.completed) this.liveStreams.set(id, stream);
    this.vm.surfaceFailure(); // on_context_create may trap
    return stream;
  }

  /**
   * A client connects through the plugin as a network (TCP) filter in front of tcp_proxy:
   * on_context_create and on_new_connection run now (see `newConnectionStatus`). On a failed
   * VM the connection gets Envoy's empty context (fail closed: closed at once) or no filter
   * at all (fail open: the bytes pass).
   */
  newTcpConnection(options: TcpConnectionOptions = {}): TcpConnection {
    this.assertTrafficAccepted();
    // It may close while it is accepted (fail closed, a close from on_new_connection): the callback then runs before `set`, which is skipped.
    const id = this.nextConnectionId++;
    const connection = new TcpConnection(this.vm, this.root, id, options, () => this.liveConnections.delete(id));
    if (!connection.closed) this.liveConnections.set(id, connection);
    return connection;
  }

  private assertTrafficAccepted(): void {
    if (this.lifecycle === "shutdown") throw new Error("the host has been shut down");
    if (this.lifecycle === "loaded" && !this.vm.failed) throw new Error("call start() before creating streams or connections");
    if (this.lifecycle === "startFailed" || this.lifecycle === "configureFailed") {
      throw new Error(`the plugin did not start (${this.lifecycle}): Envoy rejects its configuration, so no traffic reaches it`);
    }
  }

  /**
   * The tick timer fires now (proxy_on_tick(root)) and is re-armed from now, if the plugin
   * has set a tick period. Returns whether it fired. `advanceTime` fires it by the clock.
   */
  tick(): boolean {
    if (this.root.tickPeriodMs === 0 || this.root.deleted || !this.root.created) return false;
    this.vm.event(() => this.root.fireTick());
    return true;
  }

  /**
   * Moves the virtual clock forward by `ms`: ticks (every period, re-armed after each) and
   * callout timeouts fire in time order, each with the work it posted; the plugin's current
   * time follows. Throws when the host was given a real clock.
   */
  advanceTime(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advanceTime needs a non-negative number of milliseconds, got ${ms}`);
    this.vm.event(() => this.vm.scheduler.advance(ms));
  }

  /** What proxy_get_current_time_nanoseconds answers now (ns since the Unix epoch). */
  get currentTimeNs(): bigint {
    return this.vm.settings.clock.realtimeNs();
  }

  // --- callouts (answered by the test unless HostOptions.upstreams replaced the mock) -------

  /** HTTP callouts waiting for an answer, oldest first: answer them with respond/fail/timeOut, in any order. */
  get httpCalls(): HttpCall[] {
    return this.mockUpstreams.httpCalls;
  }

  /** Every HTTP callout the plugin made, answered or not. */
  get httpCallHistory(): readonly HttpCall[] {
    return this.mockUpstreams.httpCallHistory;
  }

  /** Unary gRPC calls waiting for an answer. */
  get grpcCalls(): GrpcCall[] {
    return this.mockUpstreams.grpcCalls;
  }

  get grpcCallHistory(): readonly GrpcCall[] {
    return this.mockUpstreams.grpcCallHistory;
  }

  /** gRPC streams still open on the server's side. */
  get grpcStreams(): GrpcStream[] {
    return this.mockUpstreams.grpcStreams;
  }

  get grpcStreamHistory(): readonly GrpcStream[] {
    return this.mockUpstreams.grpcStreamHistory;
  }

  /** Adds or reconfigures a cluster callouts may target (as a CDS update would). */
  addCluster(name: string, options: ClusterOptions = {}): void {
    this.mockUpstreams.addCluster(name, options);
  }

  /** Callout tokens Envoy's Wasm context still tracks for the root (calls in flight, streams not fully closed), ascending. */
  get calloutsInFlight(): number[] {
    return this.vm.callouts.inFlight(this.root);
  }

  private get mockUpstreams(): MockUpstreams {
    if (!(this.vm.upstreams instanceof MockUpstreams)) throw new Error("callouts go to the upstreams given in HostOptions.upstreams, not to the test");
    return this.vm.upstreams;
  }

  /** The tick period the plugin set (0 = none). */
  get tickPeriodMs(): number {
    return this.root.tickPeriodMs;
  }

  get logs(): readonly LogEntry[] {
    return this.vm.logs.entries;
  }

  /** Messages recorded at exactly `level`. */
  logsAt(level: LogLevel): string[] {
    return this.vm.logs.at(level);
  }

  clearLogs(): void {
    this.vm.logs.clear();
  }

  /** The `wasm` logger level: what proxy_get_log_level answers and what is recorded. */
  setLogLevel(level: LogLevel): void {
    this.vm.logs.level = level;
  }

  /** Messages dropped because they were below the log level. */
  get droppedLogCount(): number {
    return this.vm.logs.dropped;
  }

  /** What the plugin has cost so far, in all and by callback (HostOptions.meterCost; all zero without it). */
  get cost(): CostReport {
    return this.vm.costs.total;
  }

  /**
   * Instructions per function since the host was loaded, most first (HostOptions.meterCost
   * "byFunction"): where a plugin's cost goes, named from its source map or name section.
   */
  costByFunction(): { function: string; instructions: number }[] {
    return this.vm.costByFunction();
  }

  /** Loaded with the cost meter (HostOptions.meterCost). */
  get metered(): boolean {
    return this.vm.metered;
  }

  get memoryBytes(): number {
    return this.vm.memoryBytes;
  }

  /** The VM's failure report, once plugin code trapped (see wasm/diagnostics/failure.ts). */
  get failure(): PluginFailure | undefined {
    return this.vm.failure;
  }

  get metrics(): MetricsRegistry {
    return this.vm.metrics;
  }

  get sharedData(): SharedDataStore {
    return this.vm.sharedData;
  }

  get sharedQueues(): SharedQueueRegistry {
    return this.vm.sharedQueues;
  }

  /** The Envoy process this VM belongs to: its own unless loaded through a MockEnvoy. */
  get process(): ProxyProcess {
    return this.vm.process;
  }

  get vmId(): string {
    return this.vm.settings.plugin.vmId;
  }

  /**
   * Adds a function plugins reach by name with proxy_call_foreign_function. Envoy's
   * registry is process-wide: every VM of this host's process sees it. The function gets
   * the arguments and returns its output (bytes or text), nothing, or `{ status, result? }`.
   */
  registerForeignFunction(name: string, fn: ForeignFunction): void {
    this.vm.process.registerForeignFunction(name, fn);
  }

  /**
   * A host extension calls the plugin (0.2.x proxy_on_foreign_function on the root, with
   * `args` readable as buffer 8). False when nothing was called: a 0.1.0 module, no such
   * export, a failed VM, or a root that is not (or no longer) there.
   */
  invokeForeignFunction(functionId: number, args: Uint8Array | string = new Uint8Array(0)): boolean {
    if (!this.root.created || this.root.deleted) return false;
    const bytes = typeof args === "string" ? utf8Bytes(args) : args;
    return this.vm.event(() => this.root.foreignFunction(functionId, bytes));
  }

  /**
   * §8.5: live streams end first (on_log/on_done/on_delete; TCP connections close LOCAL:
   * on_downstream_connection_close, on_done, on_log, on_delete), then the root gets on_done; a
   * non-zero answer deletes it at once, zero parks it until the plugin calls proxy_done.
   */
  shutdown(): void {
    if (this.lifecycle === "shutdown") return;
    for (const stream of this.liveStreams.values()) stream.end();
    for (const connection of this.liveConnections.values()) connection.closeDownstream(PeerType.Local);
    this.vm.event(() => {
      if (this.root.created) this.root.shutdown();
      else this.root.finishShutdown(); // never announced: no on_delete, but the VM lets go of its vm_id
    });
    this.lifecycle = "shutdown";
  }

  /** The root context is parked after shutdown, waiting for proxy_done. */
  get awaitingDone(): boolean {
    return this.root.pendingDone;
  }
}

interface LoadedModule {
  module: WebAssembly.Module;
  abiVersion: AbiVersion;
  imported: ImportedObjectDescriptor[];
  instrumented: boolean;
  metered: boolean;
  /** Where failure reports read source lines for what runs. */
  sourceMap: SourceMapSource | undefined;
  bytes?: Uint8Array;
  uninstrumentedReason?: string;
  coverageBuilds: string[];
  offsetMaps?: OffsetMap[];
  /** Undefined for a ready WebAssembly.Module: every host function is provided. */
  importedFunctions?: ReadonlySet<string>;
}

type CompileHow = { instrument: boolean; meterCost: boolean | "byFunction"; maxMemoryPages: number };

/** A buffer whose compile is cached and finished, at once (most loads of a test file); else undefined, for `compile`. */
function compiledNow(source: ModuleSource, how: CompileHow, mapOption: SourceMapSource | false | undefined): LoadedModule | undefined {
  // Under coverage a listed build runs as its counting copy: `compile` finds it.
  if (!(source instanceof Uint8Array) || collectingCoverage()) return undefined;
  const compiled = compiledPluginNow(source, { ...how, coverage: false });
  return compiled && { ...compiled, sourceMap: mapOption || undefined };
}

/** Bytes → checked, compiled (and instrumented) module, cached by content; a ready WebAssembly.Module is checked by import names only and runs as it is. */
async function compile(source: ModuleSource, how: CompileHow, mapOption: SourceMapSource | false | undefined): Promise<LoadedModule> {
  if (source instanceof WebAssembly.Module) return { ...inspectCompiled(source), instrumented: false, metered: false, sourceMap: mapOption || undefined, coverageBuilds: [] };
  let bytes = await readSource(source);
  let map = mapOption === false ? undefined : (mapOption ?? (typeof source === "string" || source instanceof URL ? findSourceMapBeside(source, bytes) : undefined));
  // Under `pwas coverage` a listed build runs as its counting copy, with that copy's map.
  const counting = coverageVariant(bytes);
  if (counting) {
    bytes = counting.bytes;
    map = mapOption === false ? undefined : findSourceMapBeside(counting.path, bytes);
  }
  const compiled = await compilePlugin(bytes, { ...how, coverage: counting !== undefined });
  return { ...compiled, sourceMap: map };
}

async function readSource(source: string | URL | Uint8Array | ArrayBuffer): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const path = source instanceof URL || source.startsWith("file:") ? fileURLToPath(source) : source;
  return new Uint8Array(await readFile(path));
}

/** Without the bytes, the engine's reflection gives export order (ABI marker) and import names, not types. */
function inspectCompiled(module: WebAssembly.Module): { module: WebAssembly.Module; abiVersion: AbiVersion; imported: ImportedObjectDescriptor[] } {
  const markers: Record<string, AbiVersion> = {
    proxy_abi_version_0_1_0: "0.1.0",
    proxy_abi_version_0_2_0: "0.2.0",
    proxy_abi_version_0_2_1: "0.2.1",
  };
  const marker = WebAssembly.Module.exports(module).find((e) => e.kind === "function" && markers[e.name]);
  if (!marker) throw new ModuleLoadError(UNKNOWN_ABI, "The module exports no proxy_abi_version_* function.");
  const abiVersion = markers[marker.name]!;
  const host = hostFunctionTypes(abiVersion);
  for (const imp of WebAssembly.Module.imports(module)) {
    const key = `${imp.module}.${imp.name}`;
    if (imp.kind === "memory" || imp.kind === "table") {
      throw new ModuleLoadError(INSTANTIATION_FAILED, `${key}: pass the module's bytes instead of a compiled WebAssembly.Module to load a module that imports a ${imp.kind}.`);
    }
    if (imp.kind !== "function" || !host.has(key)) {
      throw new ModuleLoadError(`Failed to load Wasm module due to a missing import: ${key}`, "Envoy provides only the proxy-wasm functions of the module's ABI version and WASI.");
    }
  }
  return { module, abiVersion, imported: [] };
}

function instantiationHint(error: unknown, restrictedCall: string | undefined): string {
  const detail = error instanceof Error ? error.message : String(error);
  if (restrictedCall) {
    return (
      `The module's start function called ${restrictedCall} while it was being instantiated, when no context exists (${detail}). ` +
      "Run that code from _initialize (asc --exportStart _initialize) or from proxy_on_vm_start / proxy_on_configure."
    );
  }
  return `Instantiation failed: ${detail}`;
}

function initializationHint(failure: PluginFailure, restrictedCall: string | undefined): string {
  const { message, report } = failure;
  if (message.includes(RESTRICTED_CALLBACK)) {
    return (
      `${message}. During _initialize/main/_start only proxy_log, emscripten_notify_memory_growth and WASI may be called` +
      (restrictedCall ? `, but the module called ${restrictedCall}` : "") +
      `. Move that call to proxy_on_vm_start or proxy_on_configure.\n${report}`
    );
  }
  if (failure.kind === "memoryLimit") return `${message}, while initializing (_initialize/main/_start).`;
  return `${message}. The module trapped while initializing (_initialize/main/_start).\n${report}`;
}
