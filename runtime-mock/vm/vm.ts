// One Wasm VM as proxy-wasm-cpp-host runs it (ABI.md §2, §4.1, §5.13, §8.1): the instance
// and its memory, the live contexts (VM context 0, roots and streams share one id
// counter from 1), the current and effective context of the call in progress, the
// restricted phases, the queue of actions deferred until a plugin call returns, and the
// VM's failure. Everything that is per VM in Envoy (metrics, callout tokens) lives here.
//
// Embedding (e.g. as-pect, which instantiates its own module): the import object can be
// built before any instance exists and bound afterwards —
//     const vm = new PluginVm(resolveSettings(options));
//     const { instance } = await WebAssembly.instantiate(bytes, vm.importObject());
//     vm.bind(instance);           // memory, allocator, ABI version from the exports
//     vm.initialize();             // optional: _initialize/main or _start, restricted
//     const host = Host.fromVm(vm);
// Until `bind`, host calls have no context (like Envoy during a wasm start function) and trap.
import { randomBytes } from "node:crypto";
import { PluginCallbacks, describeFailure, invokeExport, wasCalled, type CallOutcome } from "../wasm/callbacks.js";
import { COVERAGE_IMPORT_MODULE, coverageImports } from "../wasm/coverage-files.js";
import { functionBodies, readFunctionNames } from "../wasm/custom-sections.js";
import { buildFailure, type ModuleLayout, type PluginFailure, type TrapKind } from "../wasm/diagnostics/failure.js";
import { PluginSourceMap, type SourceMapSource } from "../wasm/diagnostics/source-map.js";
import { PLUGIN_STACK_TRACE_LIMIT } from "../wasm/diagnostics/stack.js";
import { PluginTrapError } from "../wasm/diagnostics/trap-error.js";
import { createHostImports } from "../hostcalls/index.js";
import type { DnsQuery, HostCallPorts } from "../hostcalls/ports.js";
import type { QueueSubscriber } from "../envoy/shared-queues.js";
import type { RootContext } from "./root-context.js";
import type { ImportedObjectDescriptor } from "../wasm/imported-memory.js";
import { PluginMemory } from "../wasm/memory.js";
import { limitedMaximum, pagesWithin } from "../wasm/memory-limit.js";
import { costCounterOf, STEPS_GLOBAL } from "../wasm/cost-meter.js";
import { CostLedger, emptyCost, type CostReport } from "./cost.js";
import type { OffsetMap } from "../wasm/offset-map.js";
import { WASI_FUNCTIONS, WASI_MODULES } from "../wasm/signatures.js";
import { LogLevel, WasmResult, type AbiVersion } from "../wasm/types.js";
import { Callouts, CalloutTokens } from "./callouts.js";
import type { Upstreams } from "../envoy/callouts/upstreams.js";
import { VmContext, type ContextRoot, type ContextVm, type HostContext } from "./context.js";
import type { ForeignFunctionRegistry } from "../envoy/foreign-functions.js";
import { IdTable } from "../envoy/id-table.js";
import { LogBook } from "../envoy/logs.js";
import { MetricsRegistry } from "../envoy/metrics.js";
import { MockUpstreams } from "../envoy/callouts/mock-upstreams.js";
import type { VmSettings } from "./options.js";
import { ProxyProcess } from "../envoy/process.js";
import type { Scheduler } from "../envoy/scheduler.js";
import type { SharedDataStore } from "../envoy/shared-data.js";
import type { SharedQueueRegistry } from "../envoy/shared-queues.js";

/** What V8 throws into the plugin when it calls a host function it may not call now. */
export const RESTRICTED_CALLBACK = "restricted_callback";

const wasiNames = (names: readonly string[]) => WASI_MODULES.flatMap((m) => names.map((n) => `${m}.${n}`));

/** cpp-host `startVm`: allowed while `_initialize`/`main`/`_start` run (the WASI list, logging). */
const INITIALIZATION_ALLOWED = new Set(["env.proxy_log", "env.emscripten_notify_memory_growth", ...wasiNames(Object.keys(WASI_FUNCTIONS))]);
/** cpp-host `allocMemory`: allowed while the plugin's allocator runs. */
const ALLOCATOR_ALLOWED = new Set(["env.proxy_log", ...wasiNames(["fd_write", "clock_time_get", "poll_oneoff"])]);

const ABI_MARKERS: Record<string, AbiVersion> = {
  proxy_abi_version_0_1_0: "0.1.0",
  proxy_abi_version_0_2_0: "0.2.0",
  proxy_abi_version_0_2_1: "0.2.1",
};

type Phase = "unbound" | "initializing" | "running";

/** The first memory among an instance's exports or a module's provided imports, in their order. */
function firstMemory(objects: Record<string, unknown>): WebAssembly.Memory | undefined {
  for (const name in objects) {
    const value = objects[name];
    if (value instanceof WebAssembly.Memory) return value;
  }
  return undefined;
}

/** How the filter exists on a stream or connection: the plugin, Envoy's empty context of a failed VM (fail closed), or not at all (fail open). */
export type FilterMode = "plugin" | "failedVm" | "absent";

export interface FilterSlot {
  mode: FilterMode;
  contextId: number;
  /** What the plugin costs there (HostOptions.meterCost); all zero without a plugin. */
  cost: CostReport;
}

export class PluginVm implements ContextVm, HostCallPorts {
  readonly memory = new PluginMemory();
  readonly logs: LogBook;
  readonly callbacks: PluginCallbacks;
  readonly vmContext: VmContext;
  /** What this VM shares with the other VMs of its Envoy process (see envoy/process.ts). */
  readonly process: ProxyProcess;
  /** This VM's metric ids; the stats behind them are the process's. */
  readonly metrics: MetricsRegistry;
  readonly calloutTokens = new CalloutTokens();
  /** envoy_resolve_dns requests not answered yet (DNS results are delivered by later callout work). */
  readonly pendingDnsQueries: DnsQuery[] = [];
  /** Who answers callouts: the test (MockUpstreams) unless the settings name another. */
  readonly upstreams: Upstreams;
  /** The Wasm context's side of HTTP and gRPC callouts (calls in flight per root, delivery). */
  readonly callouts: Callouts;
  abiVersion: AbiVersion | undefined;

  private exports: Record<string, unknown> = {};
  private allocatorName: string | undefined;
  private readonly providedImports: Record<string, Record<string, WebAssembly.Memory | WebAssembly.Table>> = {};
  private readonly contexts = new IdTable<HostContext>();
  private nextContextId = 1;
  private phase: Phase = "unbound";
  private currentId: number | undefined;
  private effectiveId = 0;
  private allocatorDepth = 0;
  /** Plugin calls on the stack (cpp-host `current_context_ != nullptr`). */
  private callDepth = 0;
  private eventDepth = 0;
  private readonly deferred: (() => void)[] = [];
  private stopIteration = false;
  private failureInfo: PluginFailure | undefined;
  /** The failure was already surfaced (thrown to the test, or returned by start/expectTrap). */
  private failureSurfaced = false;
  /** The plugin's last critical line in the current call: its abort or panic message, if it traps next. */
  private criticalLog: string | undefined;
  /** Steps left in the current call, in an instrumented module (wasm/cost-meter.ts). */
  private steps: WebAssembly.Global | undefined;
  private savedStackTraceLimit = 10;
  private sourceMapSource: SourceMapSource | undefined;
  private sourceMap: PluginSourceMap | undefined | null = null;
  /** The module runs with the step guard (wasm/cost-meter.ts). */
  instrumented = false;
  /** The module runs with the cost meter (wasm/cost-meter.ts). */
  metered = false;
  /** Instructions and host calls per callback, when metered. */
  readonly costs = new CostLedger();
  /** The cost counters: one in all, or one per function (meterCost "byFunction"). */
  private costCounters: [functionIndex: number, counter: WebAssembly.Global][] = [];
  private hostCallCount = 0;
  private costAtCall = 0n;
  private hostCallsAtCall = 0;
  private callbackInProgress = "";
  /** Coverage counters the module imports, by build id (see wasm/coverage-files.ts). */
  coverageBuilds: readonly string[] = [];
  /** The last host function refused by the restricted-phase check (for error hints). */
  lastRestrictedCall: string | undefined;

  constructor(
    readonly settings: VmSettings,
    abiVersion?: AbiVersion,
    process?: ProxyProcess,
  ) {
    this.abiVersion = abiVersion;
    this.process = process ?? new ProxyProcess({ clock: settings.clock });
    this.metrics = new MetricsRegistry(this.process.metrics);
    this.logs = new LogBook(settings.logLevel, settings.onLog);
    this.callbacks = new PluginCallbacks(this);
    this.vmContext = new VmContext(this, 0);
    this.contexts.set(0, this.vmContext);
    this.upstreams = settings.upstreams ?? new MockUpstreams(settings.clusters, this);
    this.callouts = new Callouts(this, this.calloutTokens, this.upstreams);
  }

  // --- instance -----------------------------------------------------------------------

  /**
   * The import object: the host functions of the ABI version (all versions' when it is not
   * known yet), WASI under both module names, plus any imported memory/table to create.
   */
  /** `only`: the functions the module imports (`module.name`); without it, every host function. */
  importObject(importedObjects: readonly ImportedObjectDescriptor[] = [], only?: ReadonlySet<string>): WebAssembly.Imports {
    const imports: WebAssembly.Imports = createHostImports(this, only);
    if (this.metered) this.countHostCalls(imports);
    if (this.coverageBuilds.length > 0) imports[COVERAGE_IMPORT_MODULE] = coverageImports(this.coverageBuilds);
    for (const imp of importedObjects) {
      const object = imp.kind === "memory" ? new WebAssembly.Memory(this.withinMemoryLimit(imp.descriptor)) : new WebAssembly.Table(imp.descriptor);
      (this.providedImports[imp.module] ??= {})[imp.name] = object;
      imports[imp.module] = { ...imports[imp.module], [imp.name]: object };
    }
    return imports;
  }

  private instructionsSoFar(): bigint {
    let total = 0n;
    for (const [, counter] of this.costCounters) total += counter.value as bigint;
    return total;
  }

  costByFunction(): { function: string; instructions: number }[] {
    const exported = this.moduleBytes ? functionBodies(this.moduleBytes).exportNames : undefined;
    const named = this.moduleBytes ? readFunctionNames(this.moduleBytes) : undefined;
    const map = this.loadSourceMap();
    return this.costCounters
      .filter(([index]) => index >= 0)
      .map(([index, counter]) => ({ function: map?.functionName(index) ?? named?.get(index) ?? exported?.get(index) ?? `wasm-function[${index}]`, instructions: Number(counter.value as bigint) }))
      .filter((f) => f.instructions > 0)
      .sort((a, b) => b.instructions - a.instructions);
  }

  /** Every host function counts one host call for the cost meter. */
  private countHostCalls(imports: WebAssembly.Imports): void {
    for (const module of Object.values(imports)) {
      for (const [name, fn] of Object.entries(module)) {
        if (typeof fn !== "function") continue;
        module[name] = (...args: unknown[]) => {
          this.hostCallCount++;
          return (fn as (...a: unknown[]) => unknown)(...args);
        };
      }
    }
  }

  /** Takes the instance's exports, memory (first exported, else the imported one) and allocator (malloc first). */
  bind(instance: WebAssembly.Instance): void {
    this.exports = instance.exports as Record<string, unknown>;
    if (this.metered) {
      for (const [name, value] of Object.entries(this.exports)) {
        const counts = costCounterOf(name);
        if (counts !== undefined) this.costCounters.push([counts, value as WebAssembly.Global]);
      }
    }
    // The step guard's counter (wasm/cost-meter.ts); the host sets it before each call.
    const left = this.exports[STEPS_GLOBAL];
    if (left instanceof WebAssembly.Global) this.steps = left;
    const memory = firstMemory(this.exports) ?? Object.values(this.providedImports).map(firstMemory).find((m) => m !== undefined);
    if (!memory) throw new Error("the instance neither exports nor imports a memory");
    this.allocatorName = this.exportedFunction("malloc") ? "malloc" : this.exportedFunction("proxy_on_memory_allocate") ? "proxy_on_memory_allocate" : undefined;
    this.memory.bind(memory, this.allocatorName ? (size) => this.allocate(size) : undefined);
    if (this.abiVersion === undefined) {
      for (const name in this.exports) {
        if (!Object.hasOwn(ABI_MARKERS, name)) continue;
        this.abiVersion = ABI_MARKERS[name];
        break;
      }
    }
    this.currentId = 0;
    this.phase = "running";
  }

  /** §8.1 step 3: `_initialize` then `main(0, 0)` or `__main_void()`, or `_start`, on the VM context, restricted. */
  initialize(): void {
    this.phase = "initializing";
    try {
      const run = (name: string, args: number[] = []) => invokeExport(this, 0, name, args);
      if (this.exportedFunction("_initialize")) {
        if (run("_initialize").kind === "trapped") return;
        if (this.exportedFunction("main")) run("main", [0, 0]);
        else if (this.exportedFunction("__main_void")) run("__main_void");
      } else {
        run("_start");
      }
    } finally {
      this.phase = "running";
    }
  }

  exportedFunction(name: string): ((...args: number[]) => unknown) | undefined {
    const fn = this.exports[name];
    return typeof fn === "function" ? (fn as (...args: number[]) => unknown) : undefined;
  }

  get memoryBytes(): number {
    return this.memory.byteLength;
  }

  // --- failure ------------------------------------------------------------------------

  get failed(): boolean {
    return this.failureInfo !== undefined;
  }

  get failure(): PluginFailure | undefined {
    return this.failureInfo;
  }

  /** Where failure reports find source lines for the running module's bytes (both read only when a failure happens). */
  useSourceMap(source: SourceMapSource | undefined, moduleBytes?: Uint8Array, offsetMaps?: OffsetMap[]): void {
    this.sourceMapSource = source;
    this.sourceMap = null;
    this.moduleBytes = moduleBytes;
    this.offsetMaps = offsetMaps;
  }

  private moduleBytes: Uint8Array | undefined;
  private offsetMaps: OffsetMap[] | undefined;

  /** A trap is permanent: the first one is kept, logged like Envoy (error level), and the VM is never called again. */
  recordFailure(functionName: string, error: unknown): void {
    let kind: TrapKind | undefined;
    let detail: string | undefined;
    if (this.steps && this.steps.value < 0) {
      kind = "runaway";
      detail = `ran past its budget of ${this.settings.stepBudget} steps (function entries and loop iterations) in one call: an endless loop? Raise HostOptions.stepBudget if the work is real.`;
    } else if (error instanceof Error && error.message.startsWith(RESTRICTED_CALLBACK)) {
      kind = "hostCall";
      detail = `${this.lastRestrictedCall ?? "a host function"} may not be called here (${RESTRICTED_CALLBACK})`;
    }
    this.fail(error, { callback: functionName, message: describeFailure(functionName, error), kind, detail });
  }

  private fail(error: unknown, context: { callback: string; message: string; kind?: TrapKind | undefined; detail?: string | undefined }): void {
    if (this.failureInfo) return;
    const sourceMap = this.loadSourceMap();
    const failure = buildFailure(error, {
      callback: context.callback,
      message: context.message,
      ...(context.kind ? { kind: context.kind } : {}),
      ...(context.detail !== undefined ? { detail: context.detail } : {}),
      ...(this.criticalLog !== undefined ? { criticalLog: this.criticalLog } : {}),
      ...(sourceMap ? { sourceMap } : {}),
      ...(this.moduleBytes ? { layout: functionBodies(this.moduleBytes) satisfies ModuleLayout } : {}),
      ...(this.offsetMaps ? { offsetMaps: this.offsetMaps } : {}),
      memory: { bytes: this.memoryBytes, maximum: this.settings.maxMemoryBytes },
    });
    this.failureInfo = failure;
    this.logs.writeHost(LogLevel.Error, `${failure.message}\n${failure.report}`, this.currentId ?? 0);
  }

  private loadSourceMap(): PluginSourceMap | undefined {
    if (this.sourceMap === null) this.sourceMap = this.sourceMapSource === undefined ? undefined : PluginSourceMap.load(this.sourceMapSource);
    return this.sourceMap;
  }

  /**
   * The failure recorded since the last call, once: thrown as a PluginTrapError when the
   * settings say so (the test API's "never silent"), else just marked as seen.
   */
  surfaceFailure(): void {
    if (!this.failureInfo || this.failureSurfaced) return;
    this.failureSurfaced = true;
    if (this.settings.throwOnTrap) throw new PluginTrapError(this.failureInfo);
  }

  /** Takes the failure without throwing (start() results, host.expectTrap). */
  takeFailure(): PluginFailure | undefined {
    if (!this.failureInfo || this.failureSurfaced) return undefined;
    this.failureSurfaced = true;
    return this.failureInfo;
  }

  /** From now on the error and critical lines the plugin logs are kept here too (a start's diagnosis). */
  collectPluginErrors(): string[] {
    this.pluginErrors = [];
    return this.pluginErrors;
  }

  stopCollectingPluginErrors(): void {
    this.pluginErrors = undefined;
  }

  private pluginErrors: string[] | undefined;

  /** An imported memory gets the engine's maximum too (an import without one accepts any). */
  private withinMemoryLimit(descriptor: WebAssembly.MemoryDescriptor): WebAssembly.MemoryDescriptor {
    return { ...descriptor, maximum: limitedMaximum(descriptor.initial, descriptor.maximum, pagesWithin(this.settings.maxMemoryBytes)) };
  }

  /**
   * HostOptions.maxMemoryBytes as a backstop: the engine's maximum is set when the module
   * is loaded (wasm/memory-limit.ts), but a ready WebAssembly.Module's cannot be, so growth is
   * also checked after each plugin call and fails the VM like a trap in that call. False
   * when over the limit.
   */
  checkMemoryLimit(functionName: string): boolean {
    const limit = this.settings.maxMemoryBytes;
    const size = this.memory.byteLength;
    if (size <= limit) return true;
    const message = `Function: ${functionName}: linear memory grew to ${size} bytes, over the configured limit of ${limit} bytes (maxMemoryBytes)`;
    this.fail(undefined, { callback: functionName, message, kind: "memoryLimit", detail: `linear memory grew to ${size} bytes, over maxMemoryBytes (${limit})` });
    return false;
  }

  // --- contexts -----------------------------------------------------------------------

  /**
   * How a new stream or connection gets its filter: the plugin's context with a fresh id; on
   * a failed VM, Envoy's empty context (fail closed: id 0, never registered) or none at all
   * (fail open).
   */
  newFilterSlot(): FilterSlot {
    if (this.failed) return { mode: this.settings.failOpen ? "absent" : "failedVm", contextId: 0, cost: emptyCost() };
    const contextId = this.allocateContextId();
    return { mode: "plugin", contextId, cost: this.costs.of(contextId) };
  }

  /** cpp-host `allocContextId`: one counter for roots and streams, never reusing a live id. */
  allocateContextId(): number {
    while (this.contexts.has(this.nextContextId) || this.nextContextId === 0) this.nextContextId = (this.nextContextId + 1) >>> 0;
    return this.nextContextId++;
  }

  registerContext(context: HostContext): void {
    this.contexts.set(context.id, context);
    if (context.kind === "root") this.process.attachVm(this);
  }

  unregisterContext(context: HostContext): void {
    if (this.contexts.get(context.id) === context) this.contexts.delete(context.id);
    this.costs.forget(context.id);
    // The VM (and its hold on the vm_id's shared data and queues) lives while a root context does.
    if (context.kind === "root" && !this.contexts.values().some((c) => c.kind === "root")) this.process.detachVm(this);
  }

  // --- process-wide state (shared with the other VMs of the process) -------------------

  get sharedData(): SharedDataStore {
    return this.process.sharedData;
  }

  get sharedQueues(): SharedQueueRegistry {
    return this.process.sharedQueues;
  }

  get foreignFunctions(): ForeignFunctionRegistry {
    return this.process.foreignFunctions;
  }

  /** The dispatcher this VM's posted work and timers run on (one per process: one worker thread). */
  get scheduler(): Scheduler {
    return this.process.scheduler;
  }

  context(id: number): HostContext | undefined {
    return this.contexts.get(id);
  }

  /**
   * Makes `contextId` current for a host→plugin call (and resets the effective context);
   * `leaveCall` restores what was current. A stack, not a closure per call: this runs for
   * every callback of every stream.
   */
  enterCall(contextId: number, callback = ""): void {
    this.savedCurrent.push(this.currentId);
    this.savedEffective.push(this.effectiveId);
    this.currentId = contextId;
    this.effectiveId = 0;
    if (this.callDepth++ === 0) {
      if (this.metered) {
        this.costAtCall = this.instructionsSoFar();
        this.hostCallsAtCall = this.hostCallCount;
        this.callbackInProgress = callback;
      }
      // A new plugin call from the host: a fresh step budget, and room for the plugin's frames in a trap's stack.
      if (this.steps) this.steps.value = this.settings.stepBudget ?? 0;
      this.criticalLog = undefined;
      this.savedStackTraceLimit = Error.stackTraceLimit;
      if (Error.stackTraceLimit < PLUGIN_STACK_TRACE_LIMIT) Error.stackTraceLimit = PLUGIN_STACK_TRACE_LIMIT;
    }
  }

  leaveCall(): void {
    if (--this.callDepth === 0) {
      Error.stackTraceLimit = this.savedStackTraceLimit;
      if (this.metered) {
        const instructions = Number(this.instructionsSoFar() - this.costAtCall);
        this.costs.record(this.currentId ?? 0, this.callbackInProgress, instructions, this.hostCallCount - this.hostCallsAtCall);
      }
    }
    this.currentId = this.savedCurrent.pop();
    this.effectiveId = this.savedEffective.pop() ?? 0;
  }

  private readonly savedCurrent: (number | undefined)[] = [];
  private readonly savedEffective: number[] = [];

  /** A plugin call is in progress: callout results that arrive now wait for it to return (Envoy's re-entrancy rule). */
  get inPluginCall(): boolean {
    return this.callDepth > 0;
  }

  /**
   * One event of Envoy's dispatcher loop (a test's stimulus: a stream frame, a callout
   * answer, a tick): `fn`, then the work posted meanwhile (queue notifications, automatic
   * callout answers). Nested events leave that to the outermost one.
   */
  event<T>(fn: () => T): T {
    this.eventDepth++;
    let result: T;
    try {
      result = fn();
    } finally {
      this.eventDepth--;
    }
    if (this.eventDepth === 0 && !this.inPluginCall) {
      this.scheduler.runPosted();
      this.surfaceFailure();
    }
    return result;
  }

  /** The context host calls act on (§5.13): the effective one if set and alive, else the current one. */
  effectiveContext(): HostContext {
    const current = this.contexts.get(this.currentId ?? 0) ?? this.vmContext;
    if (this.effectiveId === 0) return current;
    return this.contexts.get(this.effectiveId) ?? current;
  }

  setEffectiveContext(id: number): WasmResult {
    if (!this.contexts.has(id)) return WasmResult.BadArgument;
    this.effectiveId = id;
    return WasmResult.Ok;
  }

  // --- calls into the plugin ----------------------------------------------------------

  /** The plugin's allocator on the VM context, restricted (§2). 0 = failure (also after a trap). */
  allocate(size: number): number {
    const fn = this.allocatorName ? this.exportedFunction(this.allocatorName) : undefined;
    if (!fn || this.failed) return 0;
    this.enterCall(0);
    this.allocatorDepth++;
    try {
      const ptr = fn(size);
      if (!this.checkMemoryLimit(this.allocatorName!)) return 0;
      return typeof ptr === "number" ? ptr >>> 0 : 0;
    } catch (error) {
      this.recordFailure(this.allocatorName!, error);
      return 0;
    } finally {
      this.allocatorDepth--;
      this.leaveCall();
    }
  }

  /** Called by proxy_send_local_response: the current callback's result is forced to "stop". */
  requestStopIteration(): void {
    this.stopIteration = true;
  }

  takeStopIteration(): boolean {
    const stop = this.stopIteration;
    this.stopIteration = false;
    return stop;
  }

  /** cpp-host `addAfterVmCallAction`: runs once the current plugin call has returned. */
  defer(action: () => void): void {
    this.deferred.push(action);
  }

  /** cpp-host `doAfterVmCallActions`: FIFO; actions queued meanwhile run in the same loop. */
  runDeferredActions(): void {
    for (let action = this.deferred.shift(); action; action = this.deferred.shift()) action();
  }

  /**
   * A plugin callback the way cpp-host wraps one: the deferred actions run only after a real
   * call (a missing export or an already failed VM creates no DeferAfterCallActions).
   */
  callback(call: () => CallOutcome): CallOutcome {
    const outcome = call();
    if (wasCalled(outcome)) this.runDeferredActions();
    return outcome;
  }

  /**
   * V8's restriction check before every host function (§2, §4.1): traps with
   * `restricted_callback`. Without a context (a wasm start function) nothing may be called.
   */
  assertHostCallAllowed(qualifiedName: string): void {
    if (this.phase === "unbound") {
      this.lastRestrictedCall = qualifiedName;
      throw new WebAssembly.RuntimeError(`${RESTRICTED_CALLBACK}: ${qualifiedName} called while the module is being instantiated (no context)`);
    }
    const allowed =
      this.allocatorDepth > 0 ? ALLOCATOR_ALLOWED.has(qualifiedName) : this.phase !== "initializing" || INITIALIZATION_ALLOWED.has(qualifiedName);
    if (!allowed) {
      this.lastRestrictedCall = qualifiedName;
      throw new WebAssembly.RuntimeError(RESTRICTED_CALLBACK);
    }
  }

  /** A JS exception inside a host function is a host bug: reported loudly, never thrown into the plugin. */
  reportHostError(qualifiedName: string, error: unknown): void {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.logs.writeHost(LogLevel.Critical, `mock host error in ${qualifiedName}: ${detail}`, this.currentId ?? 0);
  }

  // --- services for host functions ---------------------------------------------------

  /**
   * An abort the embedder saw outside proxy_log (as-pect's `env.abort`): the trap that
   * follows is reported as that abort, as when the SDK's handler logs it.
   */
  noteAbort(message: string): void {
    if (this.callDepth > 0) this.criticalLog = message;
  }

  logPlugin(context: HostContext, level: LogLevel, message: string): void {
    if (level >= LogLevel.Critical && this.callDepth > 0) this.criticalLog = message;
    if (level >= LogLevel.Error) this.pluginErrors?.push(message);
    this.logs.writePlugin(level, message, context.id, context.logPrefix());
  }

  cancelCallouts(root: ContextRoot): void {
    this.callouts.cancelAll(root);
  }

  logFromPlugin(level: LogLevel, message: string): void {
    this.logPlugin(this.effectiveContext(), level, message);
  }

  /** proxy_on_queue_ready goes to the root with this id when the posted work runs, if it is still there. */
  queueSubscriber(rootContextId: number): QueueSubscriber {
    return {
      rootContextId,
      post: (work) => this.scheduler.post(work),
      queueReady: (token) => {
        const context = this.contexts.get(rootContextId);
        if (context?.kind === "root") (context as RootContext).queueReady(token);
      },
    };
  }

  randomBytes(length: number): Uint8Array {
    return new Uint8Array(randomBytes(length));
  }
}
