// The exports of an HTTP filter that uses no callouts, timers, queues or TCP: the
// smallest modules. A feature used without its callbacks exported says so in a
// critical log line (see abi/linked.ts).
//   export * from "proxy-wasm-as/assembly/exports-http";
export * from "./abi/exports/core";
export * from "./abi/exports/http";
import "./abi/abort";
