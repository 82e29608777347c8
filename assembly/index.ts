// proxy-wasm-as: the AssemblyScript SDK for proxy-wasm plugins (ABI 0.2.1).
// Plugin authors import from "proxy-wasm-as/assembly" and re-export
// "proxy-wasm-as/assembly/exports" from their entry file.
import "./abi/abort";

export {
  WasmResult, LogLevel, FilterHeadersStatus, FilterDataStatus, FilterTrailersStatus,
  BufferType, MapType, StreamType, GrpcStatus, resultName,
} from "./types";
export { lastResult } from "./abi/status";
export { log } from "./log";
export { Header, Headers, isValidHeaderName, isValidHeaderValue } from "./headers";
export {
  requestHeaders, requestTrailers, responseHeaders, responseTrailers,
  httpCallResponseHeaders, httpCallResponseTrailers,
} from "./headers";
export { Body, requestBody, responseBody, httpCallResponseBody } from "./body";
export { PropertyValue, properties } from "./properties";
export { Configuration, pluginConfiguration, vmConfiguration } from "./configuration";
export { JsonValue, JsonType, JsonResult, parseJson, parseJsonBytes } from "./json";
export { BaseContext, RootContext, HttpContext } from "./context";
export { registerRootContext, RootContextFactory } from "./registry";
export { encodeHeaders, decodeHeaders } from "./pairs";
