// The step budget that keeps a looping plugin from hanging a test (HostOptions.stepBudget).
// A copy of the module is instrumented by binaryen's `log-execution` pass, which calls
// `env.log_execution` at every function entry and loop header; the host counts those
// calls per plugin call and ends the call as a "runaway" trap past the budget.
//
// A module with a source map goes through the wasm-opt command, which carries the map
// through the rewrite (`--input-source-map`/`--output-source-map`) so failure reports still
// name the plugin's lines; binaryen's JS API cannot read a map. wasm-opt takes a second or
// two to start, so its results are cached on disk by content (the module, its map and the
// binaryen version). A module without a map (WebAssembly text fixtures, other SDKs'
// builds) needs no map carried: binaryen's JS API rewrites it in process, in milliseconds.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readFunctionNames, withFunctionNames } from "./custom-sections.js";

/** The import the instrumented module calls; the host provides it only to instrumented modules. */
export const STEP_IMPORT = { module: "env", name: "log_execution" } as const;

/**
 * The counter itself is WebAssembly, so each step is a call from wasm to wasm (a few ns), not
 * into JavaScript:
 *   (global $left (export "left") (mut i32) (i32.const 0))
 *   (func $pwas_step_budget (export "step") (param i32)
 *     (global.set $left (i32.sub (global.get $left) (i32.const 1)))
 *     (if (i32.lt_s (global.get $left) (i32.const 0)) (then unreachable)))
 * The host sets `left` before each call; a trap with `left` below zero is a runaway.
 */
const COUNTER_MODULE = "AGFzbQEAAAABBQFgAX8AAwIBAAYGAX8BQQALBw8CBGxlZnQDAARzdGVwAAAKFAESACMAQQFrJAAjAEEASARAAAsLACgEbmFtZQETAQAQcHdhc19zdGVwX2J1ZGdldAIDAQAABwcBAARsZWZ0";
/** The counter's function name, as V8 prints it in a runaway's stack (not a plugin frame). */
export const STEP_COUNTER_FUNCTION = "pwas_step_budget";
let counterModule: WebAssembly.Module | undefined;

export interface StepCounter {
  /** The import the instrumented module calls. */
  step: Function;
  /** Steps left in this call; below zero once the budget ran out. */
  left: WebAssembly.Global;
}

export function createStepCounter(): StepCounter {
  counterModule ??= new WebAssembly.Module(Buffer.from(COUNTER_MODULE, "base64"));
  const { exports } = new WebAssembly.Instance(counterModule);
  return { step: exports.step as Function, left: exports.left as WebAssembly.Global };
}

/** Steps (function entries and loop iterations) one plugin call may take by default: far past any real callback, a fraction of a second. */
export const DEFAULT_STEP_BUDGET = 100_000_000;

export interface InstrumentedModule {
  bytes: Uint8Array;
  /** The instrumented module's source map (JSON text), when the original had one. */
  sourceMap?: string;
}

const require = createRequire(import.meta.url);
const run = promisify(execFile);

function wasmOptPath(): { path: string; version: string } {
  const pkg = require.resolve("binaryen/package.json");
  const version = (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
  return { path: join(pkg, "..", "bin", "wasm-opt"), version };
}

/** `node_modules/.cache/proxy-wasm-as` where there is a node_modules (the convention of find-cache-dir), else the temp folder; PWAS_CACHE_DIR overrides. */
export function cacheDir(): string {
  if (process.env.PWAS_CACHE_DIR) return process.env.PWAS_CACHE_DIR;
  const modules = join(process.cwd(), "node_modules");
  return existsSync(modules) ? join(modules, ".cache", "proxy-wasm-as") : join(tmpdir(), "proxy-wasm-as-cache");
}

type Binaryen = typeof import("binaryen").default;
let binaryenModule: Promise<Binaryen> | undefined;

/** binaryen's JS build, loaded on first use (a third of a second): most processes never need it. */
async function instrumentInProcess(bytes: Uint8Array): Promise<Uint8Array> {
  const binaryen = await (binaryenModule ??= import("binaryen").then((m) => m.default));
  const module = binaryen.readBinary(bytes);
  try {
    module.setFeatures(binaryen.Features.All);
    binaryen.setDebugInfo(true); // keep the name section: V8 names the frames with it
    // binaryen 116's pass takes the logger's import module from an existing function import
    // and leaves it unset (a module it then cannot emit) when there is none: give it one.
    if (!hasFunctionImport(binaryen, module)) module.addFunctionImport("pwas_step_anchor", STEP_IMPORT.module, STEP_IMPORT.name, binaryen.i32, binaryen.none);
    module.runPasses(["log-execution"]);
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

function hasFunctionImport(binaryen: Binaryen, module: InstanceType<Binaryen["Module"]>): boolean {
  for (let i = 0; i < module.getNumFunctions(); i++) {
    if (binaryen.getFunctionInfo(module.getFunctionByIndex(i)).module) return true;
  }
  return false;
}

/**
 * The module with step counting. `names` restores function names a release build keeps in
 * its map, so the instrumented module's name section names its frames. Concurrent loads of
 * one module share a single call through compiled-modules.ts's cache.
 */
export function instrumentSteps(bytes: Uint8Array, sourceMap: string | undefined, names: ReadonlyMap<number, string>, importsFunction: boolean): Promise<InstrumentedModule> {
  const tool = wasmOptPath();
  const key = createHash("sha256").update(tool.version).update("\0").update(bytes).update("\0").update(sourceMap ?? "").digest("hex");
  return fromDiskOrBuild(key, tool.path, bytes, sourceMap, names, importsFunction);
}

async function fromDiskOrBuild(key: string, wasmOpt: string, bytes: Uint8Array, sourceMap: string | undefined, names: ReadonlyMap<number, string>, importsFunction: boolean): Promise<InstrumentedModule> {
  // Without a function import the command cannot instrument it (see instrumentInProcess); such a module loses its map, not its budget.
  if (sourceMap === undefined || !importsFunction) return { bytes: await instrumentInProcess(bytes) };
  const dir = join(cacheDir(), "steps");
  const wasmFile = join(dir, `${key}.wasm`);
  const mapFile = join(dir, `${key}.wasm.map`);
  if (existsSync(wasmFile)) {
    const cached: InstrumentedModule = { bytes: new Uint8Array(readFileSync(wasmFile)) };
    if (existsSync(mapFile)) cached.sourceMap = readFileSync(mapFile, "utf8");
    return cached;
  }
  mkdirSync(dir, { recursive: true });
  const work = join(dir, `${key}.${process.pid}.${Math.random().toString(36).slice(2)}`);
  mkdirSync(work);
  try {
    const named = names.size > 0 && readFunctionNames(bytes).size === 0 ? withFunctionNames(bytes, names) : bytes;
    writeFileSync(join(work, "in.wasm"), named);
    writeFileSync(join(work, "in.wasm.map"), sourceMap);
    const args = [wasmOpt, join(work, "in.wasm"), "--all-features", "--debuginfo", "--log-execution", "-o", join(work, "out.wasm")];
    args.push("--input-source-map", join(work, "in.wasm.map"), "--output-source-map", join(work, "out.wasm.map"));
    await run(process.execPath, args, { maxBuffer: 16 << 20 });
    const result: InstrumentedModule = { bytes: new Uint8Array(readFileSync(join(work, "out.wasm"))), sourceMap: readFileSync(join(work, "out.wasm.map"), "utf8") };
    // The map first, then the module: a reader that finds the module finds its map.
    renameSync(join(work, "out.wasm.map"), mapFile);
    renameSync(join(work, "out.wasm"), wasmFile);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
