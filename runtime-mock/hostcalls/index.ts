// The `env.*` and WASI import functions for the VM's ABI version (ABI.md §1.2). Each one is
// guarded: V8's restricted-phase check first (the only place the host traps on purpose),
// then the function, whose own JS exceptions are host bugs reported as INTERNAL_FAILURE
// (or WASI EFAULT) instead of unwinding through the plugin.
import { createWasiFunctions } from "../wasm/wasi.js";
import { hostFunctionTypes, WASI_MODULES } from "../wasm/signatures.js";
import { WasiErrno, WasmResult, type AbiVersion } from "../wasm/types.js";
import type { HostCallPorts } from "./ports.js";
import { bufferFunctions } from "./buffers.js";
import { calloutFunctions } from "./callouts.js";
import { contextFunctions } from "./context.js";
import { foreignFunctions } from "./foreign.js";
import { headerFunctions } from "./headers.js";
import { logFunctions } from "./log.js";
import { metricFunctions } from "./metrics.js";
import { propertyFunctions } from "./properties.js";
import { sharedFunctions } from "./shared.js";
import { streamFunctions } from "./stream.js";
import type { HostFunction, HostFunctionTable } from "./support.js";

const ALL_VERSIONS: readonly AbiVersion[] = ["0.1.0", "0.2.0", "0.2.1"];

/** The host functions by concern; a later table's function wins a name, as cpp-host's last registration does. */
const TABLES: readonly ((host: HostCallPorts) => HostFunctionTable)[] = [
  logFunctions, headerFunctions, bufferFunctions, streamFunctions, propertyFunctions,
  contextFunctions, metricFunctions, sharedFunctions, calloutFunctions, foreignFunctions,
];
/** Which table provides each `env` function; the names are static, so the first VM's tables tell. */
let tableOf: Map<string, number> | undefined;

/** The `env` functions: all of them, or only the tables that provide `only`'s (building the rest per VM is most of a load's cost). */
function envFunctions(host: HostCallPorts, only: ReadonlySet<string> | undefined): HostFunctionTable {
  if (!only || !tableOf) {
    const tables = TABLES.map((table) => table(host));
    tableOf ??= new Map(tables.flatMap((table, index) => Object.keys(table).map((name) => [name, index] as const)));
    return Object.assign({}, ...tables) as HostFunctionTable;
  }
  const needed = new Set<number>();
  for (const key of only) {
    const index = key.startsWith("env.") ? tableOf.get(key.slice(4)) : undefined;
    if (index !== undefined) needed.add(index);
  }
  return Object.assign({}, ...[...needed].sort((a, b) => a - b).map((index) => TABLES[index]!(host))) as HostFunctionTable;
}

/** `only`: link just these (`module.name`, the module's imports). */
export function createHostImports(host: HostCallPorts, only?: ReadonlySet<string>): WebAssembly.Imports {
  const env = envFunctions(host, only);
  const registered = registeredFunctions(host.abiVersion);
  const imports: WebAssembly.Imports = { env: guardAll(host, "env", env, registered, WasmResult.InternalFailure, only) };
  if (only && ![...only].some((key) => WASI_MODULES.some((module) => key.startsWith(`${module}.`)))) return imports;
  const wasi = createWasiFunctions({
    memory: host.memory,
    log: (level, message) => host.logFromPlugin(level, message),
    environment: () => host.settings.environment,
    realtimeNs: () => host.settings.clock.realtimeNs(),
    monotonicNs: () => host.settings.clock.monotonicNs(),
    randomBytes: (n) => host.randomBytes(n),
  });
  for (const module of WASI_MODULES) imports[module] = guardAll(host, module, wasi, registered, WasiErrno.Fault, only);
  return imports;
}

const registeredByVersion = new Map<AbiVersion | undefined, ReadonlySet<string>>();

/** Only what cpp-host registers for the version (all versions' while it is unknown). */
function registeredFunctions(abiVersion: AbiVersion | undefined): ReadonlySet<string> {
  let registered = registeredByVersion.get(abiVersion);
  if (!registered) {
    const keys = new Set<string>();
    for (const version of abiVersion ? [abiVersion] : ALL_VERSIONS) for (const key of hostFunctionTypes(version).keys()) keys.add(key);
    registeredByVersion.set(abiVersion, (registered = keys));
  }
  return registered;
}

function guardAll(host: HostCallPorts, module: string, table: HostFunctionTable, registered: ReadonlySet<string>, onHostError: number, only?: ReadonlySet<string>) {
  const out: Record<string, HostFunction> = {};
  const prefix = `${module}.`;
  const names = only ? [...only].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length)) : Object.keys(table);
  for (const name of names) {
    const qualified = `${prefix}${name}`;
    const fn = table[name];
    if (!fn || !registered.has(qualified)) continue;
    out[name] = (...args: unknown[]) => {
      host.assertHostCallAllowed(qualified);
      try {
        return fn(...args);
      } catch (error) {
        host.reportHostError(qualified, error);
        return onHostError;
      }
    };
  }
  return out;
}
