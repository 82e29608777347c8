// Everything the host calls into, for every feature of the SDK. A plugin's entry file
// re-exports it:
//   export * from "proxy-wasm-as/assembly/exports";
// An HTTP filter that uses no callouts, timers, queues or TCP can re-export the smaller
// "proxy-wasm-as/assembly/exports-http" instead.
export * from "./abi/exports/core";
export * from "./abi/exports/http";
export * from "./abi/exports/callouts";
export * from "./abi/exports/timers";
export * from "./abi/exports/tcp";
export * from "./abi/exports/queues";
export * from "./abi/exports/foreign";
import "./abi/abort";
