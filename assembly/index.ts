// proxy-wasm-as: the AssemblyScript SDK for proxy-wasm plugins (ABI 0.2.1).
// Plugin authors import from "proxy-wasm-as/assembly" and re-export
// "proxy-wasm-as/assembly/exports" from their entry file.
import "./abi/abort";

export {
  WasmResult, LogLevel, FilterHeadersStatus, FilterDataStatus, FilterTrailersStatus,
  BufferType, MapType, StreamType, GrpcStatus, FilterStatus, PeerType, resultName,
} from "./types";
export { lastResult } from "./abi/status";
export { log } from "./log";
export { asciiLowerCase, Header, Headers, isValidHeaderName, isValidHeaderValue } from "./headers";
export { ByteBuffer } from "./byte-buffer";
export { HeaderList } from "./header-list";
export {
  requestHeaders, requestTrailers, responseHeaders, responseTrailers,
  httpCallResponseHeaders, httpCallResponseTrailers,
} from "./headers";
export { Body, requestBody, responseBody, httpCallResponseBody } from "./body";
export { PropertyValue, PropertyEntry, properties } from "./properties";
export { attributes } from "./attributes";
export { Configuration, pluginConfiguration, vmConfiguration } from "./configuration";
export { ConfigReader } from "./config-reader";
export { JsonValue, JsonType, JsonResult, parseJson, parseJsonBytes } from "./json";
export { JsonWriter, jsonString } from "./json-writer";
export { BaseContext, RootContext, HttpContext, setEffectiveContext } from "./context";
export { registerRootContext, RootContextFactory } from "./registry";
export { HttpCallResponse, GrpcCallResponse, grpcMessage, grpcInitialMetadata, grpcTrailingMetadata } from "./callout-responses";
export { GrpcFrame, encodeGrpcFrame, decodeGrpcFrames } from "./grpc";
export { ProtoReader, ProtoWriter, WireType } from "./protobuf";
export { currentTimeNanoseconds, currentTimeMilliseconds } from "./timers";
export { TcpContext } from "./context";
export { downstreamData, upstreamData } from "./body";
export { encodeHeaders, decodeHeaders } from "./pairs";
export { sharedData, SharedDataEntry } from "./shared-data";
export { SharedQueue } from "./shared-queue";
export { Metric, MetricType, Counter, Gauge, Histogram } from "./metrics";
export { callForeignFunction, foreignFunctionArguments } from "./foreign";
