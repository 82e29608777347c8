// proxy-wasm-as mock host: run compiled proxy-wasm plugins (any SDK) in Node as Envoy would.
export { Host, INITIALIZATION_FAILED, INSTANTIATION_FAILED, type HostState, type ModuleSource, type StartResult } from "./host.js";
export { HttpStream, type HttpMessage, type HttpStreamOptions, type LocalResponse } from "./http-stream.js";
export { TcpConnection, type TcpConnectionOptions, type TcpDataFlow } from "./tcp-connection.js";
export { HeaderMap, INLINE_HEADERS, type HeaderInit, type HeaderMapKind } from "./envoy/headers.js";
export { resolveSettings, type HostOptions, type VmSettings } from "./vm/options.js";
export { Scheduler, VirtualClock, systemClock, type Clock, type TimerHandle } from "./envoy/scheduler.js";
export { HttpCall, type CalloutState, type HttpResponseInit } from "./envoy/callouts/http-call.js";
export { GrpcCall, GrpcStream, type GrpcStreamState } from "./envoy/callouts/grpc-call.js";
export { MockUpstreams, type ClusterConfig, type ClusterOptions, type GrpcAnswer, type HttpAnswer } from "./envoy/callouts/mock-upstreams.js";
export type { GrpcCallbacks, GrpcCalloutRequest, HttpCallbacks, HttpCalloutRequest, HttpCalloutResponse, UpstreamRequest, UpstreamStream, Upstreams } from "./envoy/callouts/upstreams.js";
export { PluginVm } from "./vm/vm.js";
export type { CallbackCost, CostReport } from "./vm/cost.js";
export { measureCost, type CostPerRun } from "./cost-check.js";
export { measureMemoryGrowth, type MemoryGrowth, type MemoryGrowthOptions } from "./memory-check.js";
export type { LogEntry } from "./envoy/logs.js";
export { MetricsRegistry, StatsStore, type MetricSnapshot } from "./envoy/metrics.js";
export { SharedDataStore } from "./envoy/shared-data.js";
export { SharedQueueRegistry, type QueueNotification, type QueueSubscriber } from "./envoy/shared-queues.js";
export { ProxyProcess, type ProxyProcessOptions } from "./envoy/process.js";
export { MockEnvoy } from "./mock-envoy.js";
export { ForeignFunctionRegistry, type ForeignFunction, type ForeignFunctionCaller, type ForeignFunctionResult } from "./envoy/foreign-functions.js";
export { ModuleLoadError } from "./wasm/module.js";
export { PluginTrapError } from "./wasm/diagnostics/trap-error.js";
export type { PluginFailure, PluginFrame, TrapKind } from "./wasm/diagnostics/failure.js";
export type { SourceMapSource } from "./wasm/diagnostics/source-map.js";
export { DEFAULT_STEP_BUDGET } from "./wasm/cost-meter.js";
export { clearCompiledModuleCache } from "./wasm/compiled-modules.js";
// For embedders that instantiate modules themselves (as-pect): the counters of a `pwas coverage` build.
export { COVERAGE_IMPORT_MODULE, coverageImports } from "./wasm/coverage-files.js";
export {
  BufferType,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterStatus,
  FilterTrailersStatus,
  GrpcStatus,
  LogLevel,
  MapType,
  MetricType,
  PeerType,
  StreamType,
  WasiErrno,
  WasmResult,
  type AbiVersion,
} from "./wasm/types.js";
export { decodeBytePairs, decodePairs, encodeBytePairs, encodePairs, type BytePair, type Pair } from "./wasm/pairs.js";
export { TypedValue, encodePath, pathOf, type PropertyTree, type PropertyValue } from "./envoy/properties.js";
