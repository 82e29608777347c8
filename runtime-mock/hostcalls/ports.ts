// What the host-call adapters need from the VM, as narrow interfaces ("ports"): each ABI area
// names only what it uses, and the VM (vm/vm.ts) implements them all. The adapters never
// import the VM, so the VM can import them (cpp-host's ABI layer and Envoy's embedding of it
// are split the same way).
import type { BufferView } from "../envoy/buffers.js";
import type { ForeignFunctionRegistry } from "../envoy/foreign-functions.js";
import type { HeaderMap } from "../envoy/headers.js";
import type { LocalReplyRequest } from "../envoy/http/local-reply.js";
import type { PluginIdentity } from "../envoy/logs.js";
import type { MetricsRegistry } from "../envoy/metrics.js";
import type { PropertyContext } from "../envoy/properties.js";
import type { Clock } from "../envoy/scheduler.js";
import type { SharedDataStore } from "../envoy/shared-data.js";
import type { QueueSubscriber, SharedQueueRegistry } from "../envoy/shared-queues.js";
import type { PluginMemory } from "../wasm/memory.js";
import type { AbiVersion, BufferType, LogLevel, MapType, StreamType, WasmResult } from "../wasm/types.js";

/** The context a host call acts on (§5.13: the effective context), as the VM's contexts implement it. */
export interface CallContext {
  readonly id: number;
  /** cpp-host `root_context()`; undefined for the VM context. */
  readonly root: CallRoot | undefined;
  /** Inside proxy_on_log (Envoy's access-log phase). */
  readonly inAccessLogPhase: boolean;
  /** Envoy `getConstMap`. */
  readableMap(type: MapType): HeaderMap | undefined;
  /** Envoy `getMap`. */
  writableMap(type: MapType): HeaderMap | undefined;
  /** Envoy `getBuffer`; undefined = NOT_FOUND. */
  buffer(type: BufferType): BufferView | undefined;
  continueStream(type: StreamType): WasmResult;
  closeStream(type: StreamType): WasmResult;
  sendLocalResponse(reply: LocalReplyRequest): void;
  /** 0.1.0 `proxy_get_configuration`. */
  configuration(): Uint8Array;
  propertyContext(): PropertyContext;
}

/** A root context as host calls see it: its callout status, its tick timer, its shutdown. */
export interface CallRoot extends CallContext {
  readonly status: { code: number; message: string };
  /** Answered false to proxy_on_done: waiting for proxy_done. */
  pendingDone: boolean;
  finishShutdown(): void;
  setTickPeriod(periodMs: number): void;
}

/** The settings host calls read (a subset of the VM's settings). */
export interface CallSettings {
  readonly plugin: PluginIdentity;
  readonly legacyPropertyNames: boolean;
  readonly environment: Record<string, string>;
  readonly clock: Clock;
}

/** What every adapter gets: the plugin's memory and the context of the call in progress. */
export interface CallScope {
  readonly memory: PluginMemory;
  effectiveContext(): CallContext;
}

/** cpp-host `addAfterVmCallAction`: the action runs once the current plugin call has returned. */
export interface DeferredActions {
  defer(action: () => void): void;
}

export interface HeaderCallHost extends CallScope {
  readonly abiVersion: AbiVersion | undefined;
}

export type BufferCallHost = CallScope;

export interface StreamCallHost extends CallScope {
  /** proxy_send_local_response: the current callback's result is forced to "stop". */
  requestStopIteration(): void;
}

export interface PropertyCallHost extends CallScope {
  readonly settings: Pick<CallSettings, "legacyPropertyNames">;
}

export interface ContextCallHost extends CallScope, DeferredActions {
  readonly settings: Pick<CallSettings, "clock">;
  setEffectiveContext(id: number): WasmResult;
}

export interface LogCallHost extends CallScope {
  readonly logs: { readonly level: LogLevel };
  /** A plugin log line on the effective context (proxy_log, WASI stdout/stderr). */
  logFromPlugin(level: LogLevel, message: string): void;
}

export interface MetricCallHost extends CallScope {
  readonly metrics: MetricsRegistry;
}

export interface SharedCallHost extends CallScope {
  readonly settings: Pick<CallSettings, "plugin">;
  readonly sharedData: SharedDataStore;
  readonly sharedQueues: SharedQueueRegistry;
  readonly failed: boolean;
  /** Who proxy_on_queue_ready goes to: `rootContextId` in this VM. */
  queueSubscriber(rootContextId: number): QueueSubscriber;
}

/** An envoy_resolve_dns request not answered yet. */
export interface DnsQuery {
  token: number;
  address: string;
  rootContextId: number;
}

export interface CalloutStart {
  status: WasmResult;
  token?: number;
}

/** The Wasm context's side of callouts (vm/callouts.ts): Envoy's checks, tokens and delivery. */
export interface CalloutService {
  httpCall(root: CallRoot, cluster: string, headers: [string, string][], body: Uint8Array, trailers: [string, string][], rawTimeoutMs: number): CalloutStart;
  grpcStart(
    root: CallRoot,
    kind: "call" | "stream",
    service: Uint8Array,
    serviceName: string,
    methodName: string,
    metadata: [string, string][],
    message: Uint8Array | undefined,
    timeoutMs: number,
  ): CalloutStart;
  grpcSend(root: CallRoot, token: number, message: Uint8Array, endStream: boolean): WasmResult;
  grpcCancel(root: CallRoot, token: number): WasmResult;
  grpcClose(root: CallRoot, token: number): WasmResult;
}

export interface CalloutCallHost extends CallScope {
  readonly callouts: CalloutService;
  readonly calloutTokens: { nextDns(): number };
  readonly pendingDnsQueries: DnsQuery[];
}

export interface ForeignCallHost extends CallScope {
  readonly settings: Pick<CallSettings, "plugin">;
  readonly foreignFunctions: ForeignFunctionRegistry;
  /** The plugin's allocator (0 = failure). */
  allocate(size: number): number;
}

/** The table's own needs: V8's restricted-phase check, host-error reports, WASI's services. */
export interface LinkHost extends CallScope {
  readonly abiVersion: AbiVersion | undefined;
  readonly settings: Pick<CallSettings, "environment" | "clock">;
  assertHostCallAllowed(qualifiedName: string): void;
  reportHostError(qualifiedName: string, error: unknown): void;
  logFromPlugin(level: LogLevel, message: string): void;
  randomBytes(length: number): Uint8Array;
}

/** Everything the host functions need: what the VM implements. */
export type HostCallPorts = LinkHost &
  HeaderCallHost &
  BufferCallHost &
  StreamCallHost &
  PropertyCallHost &
  ContextCallHost &
  LogCallHost &
  MetricCallHost &
  SharedCallHost &
  CalloutCallHost &
  ForeignCallHost;
