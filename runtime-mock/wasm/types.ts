// Numeric enums of proxy-wasm ABI 0.2.1 (ABI.md §3). Names match the SDK's
// (assembly/abi/types.ts) so tests read the same on both sides.

/** `proxy_status_t`: what every host call returns. */
export enum WasmResult {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

/** `proxy_log_level_t`; Envoy's `proxy_get_log_level` can also answer 6 (off). */
export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
  Off = 6,
}

/** What Envoy makes of a headers callback's return value (ABI.md §3.3). */
export enum FilterHeadersStatus {
  Continue = 0,
  StopIteration = 1,
  ContinueAndEndStream = 2,
  StopAllIterationAndBuffer = 3,
  StopAllIterationAndWatermark = 4,
}

/** What Envoy makes of a body callback's return value. */
export enum FilterDataStatus {
  Continue = 0,
  StopIterationAndBuffer = 1,
  StopIterationAndWatermark = 2,
  StopIterationNoBuffer = 3,
}

/** What Envoy makes of a trailers callback's return value. */
export enum FilterTrailersStatus {
  Continue = 0,
  StopIteration = 1,
}

/** What Envoy makes of a TCP callback's return value. */
export enum FilterStatus {
  Continue = 0,
  StopIteration = 1,
}

export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
}

export enum MapType {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

export enum StreamType {
  HttpRequest = 0,
  HttpResponse = 1,
  Downstream = 2,
  Upstream = 3,
}

export enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

export enum GrpcStatus {
  Ok = 0,
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** WASI errno values the host uses (ABI.md §3.10). */
export enum WasiErrno {
  Success = 0,
  BadF = 8,
  NotDir = 20,
  Fault = 21,
  Inval = 28,
  NoEnt = 44,
  NoSys = 52,
  NotSup = 58,
  NotCapable = 76,
}

export type AbiVersion = "0.1.0" | "0.2.0" | "0.2.1";
