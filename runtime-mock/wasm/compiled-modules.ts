// Compiled modules by content. A test file that loads the same plugin in every test
// compiles (and checks, and instruments) it once; each Host still gets its own instance,
// memory and state, so hosts stay fully isolated.
import { createHash } from "node:crypto";
import { importedObjects, type ImportedObjectDescriptor } from "./imported-memory.js";
import { BAD_BYTECODE, inspectModule, ModuleLoadError } from "./module.js";
import { checkExports, checkImports } from "./signatures.js";
import { COVERAGE_IMPORT_MODULE } from "./coverage-files.js";
import { ENVOY_MAX_MEMORY_BYTES, limitMemory, pagesWithin } from "./memory-limit.js";
import type { OffsetMap } from "./offset-map.js";
import { instrumentCost } from "./cost-meter.js";
import type { AbiVersion } from "./types.js";

export interface CompiledPlugin {
  module: WebAssembly.Module;
  abiVersion: AbiVersion;
  imported: ImportedObjectDescriptor[];
  /** Compiled with the step guard (wasm/cost-meter.ts): its `pwas_steps_left` bounds each call. */
  instrumented: boolean;
  /** Compiled with the cost meter (wasm/cost-meter.ts): its globals count instructions and, with a budget, steps. */
  metered: boolean;
  /** The bytes that were compiled (the instrumented copy when instrumented), before the memory maximum was set: maps and reports refer to them. */
  bytes: Uint8Array;
  /** How the rewrites after `bytes` moved the code, in order (frame offsets are read back through them). */
  offsetMaps?: OffsetMap[];
  /** The functions it imports, `module.name`: a host links only those. */
  importedFunctions: ReadonlySet<string>;
  /** Build ids of the coverage counters it imports (a `pwas coverage` build; see coverage-files.ts). */
  coverageBuilds: string[];
  /** Why a module that should have been instrumented was not (the host warns: nothing bounds its callbacks). */
  uninstrumentedReason?: string;
}

export interface CompileOptions {
  instrument: boolean;
  /** Count instructions (wasm/cost-meter.ts), in all or per function. */
  meterCost?: boolean | "byFunction";
  /** The engine's memory maximum, in pages: `memory.grow` past it returns -1. Default: Envoy's 1 GiB. */
  maxMemoryPages?: number;
  /** A counting copy from `pwas coverage`: its counter imports are allowed. */
  coverage?: boolean;
}

/** How many compiled modules stay cached: enough for a suite's fixtures, bounded for generated ones. */
const CAPACITY = 256;
const cache = new Map<string, Promise<CompiledPlugin>>();
// The compiles that have finished, by the same keys: a load that finds one goes on without
// waiting a turn of the microtask queue for each promise on its way.
const settled = new Map<string, CompiledPlugin>();

const maxPages = (options: CompileOptions): number => options.maxMemoryPages ?? pagesWithin(ENVOY_MAX_MEMORY_BYTES);
// A test that loads the same buffer in every test hashes it once: the digest is kept with
// a copy of what was hashed, and reused while the buffer still holds those bytes (a
// comparison costs a small fraction of the hash).
const digests = new WeakMap<Uint8Array, { digest: string; hashed: Buffer }>();
function contentHash(bytes: Uint8Array): string {
  const known = digests.get(bytes);
  if (known && known.hashed.equals(bytes)) return known.digest;
  const digest = createHash("sha1").update(bytes).digest("hex");
  digests.set(bytes, { digest, hashed: Buffer.from(bytes) });
  return digest;
}
const cacheKey = (bytes: Uint8Array, options: CompileOptions): string =>
  `${contentHash(bytes)}/${maxPages(options)}/${options.meterCost ? `cost:${options.meterCost}:${options.instrument}` : options.instrument ? "steps" : "plain"}`;

/**
 * Drops cached compiled modules: every one, or the uninstrumented compile of `bytes`; the
 * next load compiles again (for benchmarks, and embedders that load many one-off modules).
 */
export function clearCompiledModuleCache(bytes?: Uint8Array): void {
  if (!bytes) {
    cache.clear();
    settled.clear();
    return;
  }
  const id = `${contentHash(bytes)}/`;
  for (const key of [...cache.keys()]) {
    if (key.startsWith(id) && key.endsWith("/plain")) {
      cache.delete(key);
      settled.delete(key);
    }
  }
}

/** The compiled module when it is cached and finished compiling (the synchronous path of a repeated load); else undefined. */
export function compiledPluginNow(bytes: Uint8Array, options: CompileOptions): CompiledPlugin | undefined {
  const key = cacheKey(bytes, options);
  const done = settled.get(key);
  if (done) touch(key);
  return done;
}

let newest: string | undefined;
// Most recently used last, so the oldest entry is the one evicted (a test file loading one
// plugin again and again finds it newest already, and moves nothing).
function touch(key: string): void {
  if (key === newest) return;
  const hit = cache.get(key)!;
  cache.delete(key);
  cache.set(key, hit);
  newest = key;
}

/**
 * Checks the bytes as Envoy would (throwing ModuleLoadError), then compiles them, with the
 * step guard when `instrument` is set (and the cost meter when asked).
 */
export function compilePlugin(bytes: Uint8Array, options: CompileOptions): Promise<CompiledPlugin> {
  const key = cacheKey(bytes, options);
  const hit = cache.get(key);
  if (hit) {
    touch(key);
    return hit;
  }
  const compiled = compileUncached(bytes, options);
  cache.set(key, compiled);
  newest = key;
  if (cache.size > CAPACITY) {
    const oldest = cache.keys().next().value!;
    cache.delete(oldest);
    settled.delete(oldest);
  }
  compiled.then(
    (done) => {
      if (cache.get(key) === compiled) settled.set(key, done);
    },
    // A module that fails its checks is not kept: the next load reports it again, at no cost worth saving.
    () => {
      if (cache.get(key) === compiled) cache.delete(key);
    },
  );
  return compiled;
}

async function compileUncached(bytes: Uint8Array, options: CompileOptions): Promise<CompiledPlugin> {
  const info = inspectModule(bytes);
  const counters = options.coverage ? info.imports.filter((i) => i.module === COVERAGE_IMPORT_MODULE && i.kind === "function") : [];
  checkImports({ ...info, imports: info.imports.filter((i) => !counters.includes(i)) });
  checkExports(info);
  const imported = importedObjects(bytes);
  const base = {
    abiVersion: info.abiVersion, imported, bytes, instrumented: false, metered: false, coverageBuilds: [...new Set(counters.map((i) => i.name))],
    importedFunctions: new Set(info.imports.filter((i) => i.kind === "function").map((i) => `${i.module}.${i.name}`)),
  };
  // The engine's memory maximum goes on last, onto whatever copy runs.
  const compileRewritten = (rewritten: Uint8Array, earlier: OffsetMap[]): Pick<CompiledPlugin, "module" | "offsetMaps"> => {
    const limited = limitMemory(rewritten, maxPages(options));
    const offsetMaps = limited.offsets ? [...earlier, limited.offsets] : earlier;
    return { module: engineCompile(limited.bytes), ...(offsetMaps.length > 0 ? { offsetMaps } : {}) };
  };
  if (!options.meterCost && !options.instrument) return { ...base, ...compileRewritten(bytes, []) };
  let rewritten;
  try {
    rewritten = instrumentCost(bytes, { stepGuard: options.instrument, count: options.meterCost !== undefined && options.meterCost !== false, byFunction: options.meterCost === "byFunction" });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (options.meterCost) throw new ModuleLoadError(BAD_BYTECODE, `The cost meter cannot read this module (${reason}): load it without meterCost.`);
    // An instruction the rewrite does not know (a newer proposal): the module runs as it is, and the host warns that nothing bounds it.
    return { ...base, ...compileRewritten(bytes, []), uninstrumentedReason: reason };
  }
  // Reports keep the original's coordinates (and its map): the offset map reads frames back.
  return { ...base, instrumented: options.instrument, metered: Boolean(options.meterCost), ...compileRewritten(rewritten.bytes, [rewritten.offsets]) };
}

function engineCompile(bytes: Uint8Array): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    throw new ModuleLoadError(BAD_BYTECODE, `The engine rejected the module: ${error instanceof Error ? error.message : String(error)}`);
  }
}
