// What a plugin's entry file re-exports so the host finds the ABI:
//   export * from "proxy-wasm-as/assembly/exports";
export * from "./abi/exports";
import "./abi/abort";
