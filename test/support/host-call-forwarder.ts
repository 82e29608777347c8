// A module that imports every `env` host function of an ABI version and exports a
// forwarder `call_<name>` with the same signature, so a test can call any host function
// with arbitrary arguments from inside a chosen context (see `callIn`). It pauses every
// stream in proxy_on_request_headers so the stream's header maps stay reachable, and its
// allocator hands out blocks from a fixed region (it never grows memory: MEMORY_BYTES).
import { hostFunctionTypes } from "../../runtime-mock/wasm/signatures.js";
import type { AbiVersion } from "../../runtime-mock/wasm/types.js";
import type { Host } from "../../runtime-mock/index.js";
import { compileWat } from "./plugin.js";

export const MEMORY_BYTES = 2 * 65536;
const HEAP_START = 65536;
const MAX_BLOCK = 16384;

const MARKERS: Record<AbiVersion, string> = {
  "0.1.0": "proxy_abi_version_0_1_0",
  "0.2.0": "proxy_abi_version_0_2_0",
  "0.2.1": "proxy_abi_version_0_2_1",
};

/** The env host functions of `version`, name → wasm parameter and result types. */
export function envFunctions(version: AbiVersion): Map<string, { params: string[]; results: string[] }> {
  const out = new Map<string, { params: string[]; results: string[] }>();
  for (const [key, type] of hostFunctionTypes(version)) {
    const [module, name] = key.split(".") as [string, string];
    if (module === "env") out.set(name, type);
  }
  return out;
}

export function buildForwarder(version: AbiVersion): Uint8Array<ArrayBuffer> {
  const fields: string[] = [];
  for (const [name, { params, results }] of envFunctions(version)) {
    const p = params.length ? `(param ${params.join(" ")})` : "";
    const r = results.length ? `(result ${results.join(" ")})` : "";
    fields.push(`(import "env" "${name}" (func $${name} ${p} ${r}))`);
  }
  fields.push(`(memory (export "memory") ${MEMORY_BYTES / 65536} ${MEMORY_BYTES / 65536})`);
  fields.push(`(global $heap (mut i32) (i32.const ${HEAP_START}))`);
  fields.push(`(func (export "${MARKERS[version]}"))`);
  // Blocks wrap around inside [HEAP_START, MEMORY_BYTES): the contents never matter here.
  fields.push(`(func (export "malloc") (param $size i32) (result i32) (local $p i32)
    (if (i32.gt_u (local.get $size) (i32.const ${MAX_BLOCK})) (then (return (i32.const 0))))
    (if (i32.gt_u (i32.add (global.get $heap) (local.get $size)) (i32.const ${MEMORY_BYTES})) (then (global.set $heap (i32.const ${HEAP_START}))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (local.get $p))`);
  const headerParams = version === "0.1.0" ? "(param i32 i32)" : "(param i32 i32 i32)";
  fields.push(`(func (export "proxy_on_request_headers") ${headerParams} (result i32) (i32.const 1))`);
  for (const [name, { params, results }] of envFunctions(version)) {
    const p = params.length ? `(param ${params.join(" ")})` : "";
    const r = results.length ? `(result ${results.join(" ")})` : "";
    const args = params.map((_, i) => `(local.get ${i})`).join(" ");
    fields.push(`(func (export "call_${name}") ${p} ${r} (call $${name} ${args}))`);
  }
  return compileWat(`(module\n  ${fields.join("\n  ")}\n)`);
}

/**
 * Calls `call_<name>` as if from inside a callback of `contextId`, then runs what the call
 * deferred (continue, close, local reply) as cpp-host does after a callback, and clears
 * the "stop iteration" flag a local reply sets.
 */
export function callIn(host: Host, contextId: number, name: string, args: (number | bigint)[]): unknown {
  const fn = host.vm.exportedFunction(`call_${name}`) as unknown as ((...a: (number | bigint)[]) => unknown) | undefined;
  if (!fn) throw new Error(`the forwarder has no call_${name}`);
  host.vm.enterCall(contextId);
  try {
    return fn(...args);
  } finally {
    host.vm.leaveCall();
    host.vm.takeStopIteration();
    host.vm.runDeferredActions();
  }
}
