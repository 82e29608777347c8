// proxy-wasm-as mock host: run compiled proxy-wasm plugins (any SDK) in Node as Envoy would.
export { Host, INITIALIZATION_FAILED, INSTANTIATION_FAILED, type HostState, type ModuleSource, type StartResult } from "./host.js";
export { HttpStream, type HttpMessage, type HttpStreamOptions, type LocalResponse } from "./http-stream.js";
export { HeaderMap, INLINE_HEADERS, type HeaderInit, type HeaderMapKind } from "./headers.js";
export { resolveSettings, type Clock, type HostOptions, type VmSettings } from "./options.js";
export { PluginVm } from "./vm.js";
export type { LogEntry } from "./logs.js";
export { MetricsRegistry, type MetricSnapshot } from "./metrics.js";
export { SharedDataStore } from "./shared-data.js";
export { SharedQueueRegistry, type QueueNotification } from "./shared-queues.js";
export { ModuleLoadError } from "./abi/module.js";
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
