// proxy-wasm-as mock host: run compiled proxy-wasm plugins (any SDK) in Node as Envoy would.
export { Host, INITIALIZATION_FAILED, INSTANTIATION_FAILED, type HostState, type ModuleSource, type StartResult } from "./host.js";
export { HttpStream, type HttpMessage, type HttpStreamOptions, type LocalResponse } from "./http-stream.js";
export { TcpConnection, type TcpConnectionOptions, type TcpDataFlow } from "./tcp-connection.js";
export { HeaderMap, INLINE_HEADERS, type HeaderInit, type HeaderMapKind } from "./headers.js";
export { resolveSettings, systemClock, type Clock, type HostOptions, type VmSettings } from "./options.js";
export { Scheduler, VirtualClock, type TimerHandle } from "./scheduler.js";
export { HttpCall, type CalloutState, type HttpResponseInit } from "./http-call.js";
export { GrpcCall, GrpcStream, type GrpcStreamState } from "./grpc-call.js";
export { MockUpstreams, type ClusterConfig, type ClusterOptions, type GrpcAnswer, type HttpAnswer } from "./mock-upstreams.js";
export type { GrpcCallbacks, GrpcCalloutRequest, HttpCallbacks, HttpCalloutRequest, HttpCalloutResponse, UpstreamRequest, UpstreamStream, Upstreams } from "./callouts.js";
export { PluginVm } from "./vm.js";
export type { CallbackCost, CostReport } from "./cost.js";
export { measureCost, type CostPerRun } from "./cost-check.js";
export { measureMemoryGrowth, type MemoryGrowth, type MemoryGrowthOptions } from "./memory-check.js";
export type { LogEntry } from "./logs.js";
export { MetricsRegistry, StatsStore, type MetricSnapshot } from "./metrics.js";
export { SharedDataStore } from "./shared-data.js";
export { SharedQueueRegistry, type QueueNotification, type QueueSubscriber } from "./shared-queues.js";
export { ProxyProcess, type ProxyProcessOptions } from "./process.js";
export { MockEnvoy } from "./mock-envoy.js";
export { ForeignFunctionRegistry, type ForeignFunction, type ForeignFunctionCaller, type ForeignFunctionResult } from "./foreign-functions.js";
export { ModuleLoadError } from "./abi/module.js";
export { PluginTrapError } from "./diagnostics/trap-error.js";
export type { PluginFailure, PluginFrame, TrapKind } from "./diagnostics/failure.js";
export type { SourceMapSource } from "./diagnostics/source-map.js";
export { DEFAULT_STEP_BUDGET } from "./abi/cost-meter.js";
export { clearCompiledModuleCache } from "./abi/compiled-modules.js";
// For embedders that instantiate modules themselves (as-pect): the counters of a `pwas coverage` build.
export { COVERAGE_IMPORT_MODULE, coverageImports } from "./abi/coverage-files.js";
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
} from "./abi/types.js";
export { decodeBytePairs, decodePairs, encodeBytePairs, encodePairs, type BytePair, type Pair } from "./abi/pairs.js";
export { TypedValue, encodePath, pathOf, type PropertyTree, type PropertyValue } from "./properties.js";
