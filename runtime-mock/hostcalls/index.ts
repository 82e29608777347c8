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

/** What to link for one module's imports: the tables that provide them and the names each module gets. */
interface LinkPlan {
  tables: number[];
  env: string[];
  wasi: Map<string, string[]>;
}
// Keyed by the compiled module's import set (one object per cached module), so a test file
// that loads one plugin again and again works its plan out once.
const plans = new WeakMap<ReadonlySet<string>, Map<AbiVersion | undefined, LinkPlan>>();

function linkPlan(only: ReadonlySet<string>, abiVersion: AbiVersion | undefined, host: HostCallPorts): LinkPlan {
  let byVersion = plans.get(only);
  if (!byVersion) plans.set(only, (byVersion = new Map()));
  let plan = byVersion.get(abiVersion);
  if (plan) return plan;
  tableOf ??= new Map(TABLES.flatMap((table, index) => Object.keys(table(host)).map((name) => [name, index] as const)));
  const registered = registeredFunctions(abiVersion);
  const tables = new Set<number>();
  const env: string[] = [];
  const wasi = new Map<string, string[]>();
  for (const key of only) {
    if (!registered.has(key)) continue; // left unlinked: instantiation fails as in cpp-host
    const dot = key.indexOf(".");
    const module = key.slice(0, dot);
    const name = key.slice(dot + 1);
    if (module === "env") {
      const index = tableOf.get(name);
      if (index === undefined) continue;
      tables.add(index);
      env.push(name);
    } else if (WASI_MODULES.includes(module as (typeof WASI_MODULES)[number])) {
      let names = wasi.get(module);
      if (!names) wasi.set(module, (names = []));
      names.push(name);
    }
  }
  plan = { tables: [...tables].sort((a, b) => a - b), env, wasi };
  byVersion.set(abiVersion, plan);
  return plan;
}

/** `only`: link just these (`module.name`, the module's imports); without it, every host function of the version. */
export function createHostImports(host: HostCallPorts, only?: ReadonlySet<string>): WebAssembly.Imports {
  const registered = registeredFunctions(host.abiVersion);
  if (!only) {
    const env = Object.assign({}, ...TABLES.map((table) => table(host))) as HostFunctionTable;
    const wasi = wasiFunctions(host);
    const imports: WebAssembly.Imports = { env: guardAll(host, "env", env, Object.keys(env), registered, WasmResult.InternalFailure) };
    for (const module of WASI_MODULES) imports[module] = guardAll(host, module, wasi, Object.keys(wasi), registered, WasiErrno.Fault);
    return imports;
  }
  const plan = linkPlan(only, host.abiVersion, host);
  const env: HostFunctionTable = {};
  for (const index of plan.tables) Object.assign(env, TABLES[index]!(host));
  const imports: WebAssembly.Imports = { env: guardAll(host, "env", env, plan.env, registered, WasmResult.InternalFailure) };
  if (plan.wasi.size === 0) return imports;
  const wasi = wasiFunctions(host);
  for (const [module, names] of plan.wasi) imports[module] = guardAll(host, module, wasi, names, registered, WasiErrno.Fault);
  return imports;
}

function wasiFunctions(host: HostCallPorts): HostFunctionTable {
  return createWasiFunctions({
    memory: host.memory,
    log: (level, message) => host.logFromPlugin(level, message),
    environment: () => host.settings.environment,
    realtimeNs: () => host.settings.clock.realtimeNs(),
    monotonicNs: () => host.settings.clock.monotonicNs(),
    randomBytes: (n) => host.randomBytes(n),
  });
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

function guardAll(host: HostCallPorts, module: string, table: HostFunctionTable, names: readonly string[], registered: ReadonlySet<string>, onHostError: number) {
  const out: Record<string, HostFunction> = {};
  for (const name of names) {
    const qualified = `${module}.${name}`;
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
