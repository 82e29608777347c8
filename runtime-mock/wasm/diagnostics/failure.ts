// One report of a plugin failure, shared by everything that shows one: `host.failure`, the
// host's log line, the error the test API throws, `pwas serve`'s log and as-pect. It names
// the callback, the kind of trap and the plugin's frames, the user's own files first, so a
// failing test points at the line to fix rather than at the host.
import type { PluginSourceMap } from "./source-map.js";
import { wasmFrames } from "./stack.js";
import { originalOffset, type OffsetMap } from "../offset-map.js";

export type TrapKind =
  | "abort" // the plugin's abort/panic handler logged a message, then trapped
  | "unreachable"
  | "outOfBounds" // memory access out of bounds
  | "stackOverflow"
  | "divideByZero"
  | "integerOverflow"
  | "invalidConversion" // float unrepresentable in an integer
  | "indirectCall" // call_indirect to a missing function or with the wrong signature
  | "hostCall" // a host function refused the call (e.g. restricted_callback)
  | "runaway" // ran past the step budget (HostOptions.stepBudget)
  | "memoryLimit" // linear memory grew past HostOptions.maxMemoryBytes
  | "outOfMemory" // the allocator's memory.grow was refused at the engine's maximum, and it trapped
  | "exception"; // anything else thrown through the plugin

export interface PluginFrame {
  /** The function as the source names it, e.g. `Gate#onRequestHeaders`; `wasm-function[12]` without names. */
  function: string;
  /** Source position from the map: `assembly/index.ts`, `~lib/array.ts`. */
  file?: string;
  line?: number;
  column?: number;
  /** False for the AssemblyScript standard library and the SDK (`~lib/…`). */
  user: boolean;
  /** Where in `~lib` the instruction is, when the optimizer inlined library code into the user's function. */
  inlined?: string;
}

export interface PluginFailure {
  /** The plugin export that failed, e.g. `proxy_on_request_headers`. */
  callback: string;
  /** Same as `callback` (kept for earlier tests). */
  phase: string;
  kind: TrapKind;
  /** Envoy's own line: `Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable`. */
  message: string;
  /** What went wrong, in the plugin's words where it gave some: `Index out of range at ~lib/array.ts:114:42`. */
  detail: string;
  /** The plugin's frames, innermost first within each group: the user's files, then `~lib`. */
  frames: PluginFrame[];
  /** The innermost frame in the user's own code, if any. */
  userFrame?: PluginFrame;
  /** The whole report as text: `<kind> in <callback>: <detail>`, then one `at …` line a frame. */
  report: string;
}

/** What a failure is built from besides the thrown error. */
export interface FailureContext {
  callback: string;
  /** Envoy's line for this failure. */
  message: string;
  /** The last critical line the plugin logged during this call (its abort or panic handler's). */
  criticalLog?: string;
  /** Set when the VM itself decided the kind (runaway, memory limit, a refused host call). */
  kind?: TrapKind;
  detail?: string;
  sourceMap?: PluginSourceMap;
  /** Function bodies of the running module, for positions near unmapped instructions. */
  layout?: ModuleLayout;
  /** Frame offsets of the compiled copy → the module's own (wasm/offset-map.ts). */
  offsetMaps?: OffsetMap[];
  /** Linear memory now and the engine's maximum, in bytes: an allocator's trap at the maximum is "out of memory". */
  memory?: { bytes: number; maximum: number };
}

/** AssemblyScript's allocators trap (unreachable) when memory.grow returns -1. */
const AS_ALLOCATOR = /^~lib\/rt\/(?:tlsf|stub)/;

export interface ModuleLayout {
  importedFunctions: number;
  bodies: { start: number; end: number }[];
  exportNames?: ReadonlyMap<number, string>;
}

const ENGINE_KINDS: readonly [RegExp, TrapKind][] = [
  [/^Maximum call stack size exceeded/, "stackOverflow"],
  [/^unreachable/, "unreachable"],
  [/memory access out of bounds|out of bounds memory access/, "outOfBounds"],
  [/divide by zero|remainder by zero/, "divideByZero"],
  [/integer overflow/, "integerOverflow"],
  [/float unrepresentable|invalid conversion/, "invalidConversion"],
  [/null function|signature mismatch|table index is out of bounds/, "indirectCall"],
];

const KIND_TITLES: Record<TrapKind, string> = {
  abort: "abort",
  unreachable: "unreachable executed",
  outOfBounds: "out-of-bounds memory access",
  stackOverflow: "stack overflow",
  divideByZero: "integer divide by zero",
  integerOverflow: "integer overflow",
  invalidConversion: "float to integer conversion out of range",
  indirectCall: "bad indirect call",
  hostCall: "host call failed",
  runaway: "runaway",
  memoryLimit: "memory limit",
  outOfMemory: "out of memory",
  exception: "exception",
};

export function classifyError(error: unknown): TrapKind {
  const message = error instanceof Error ? error.message : String(error);
  for (const [pattern, kind] of ENGINE_KINDS) if (pattern.test(message)) return kind;
  return "exception";
}

export function buildFailure(error: unknown, context: FailureContext): PluginFailure {
  let kind = context.kind ?? classifyError(error);
  let detail = context.detail ?? (error instanceof Error ? error.message : String(error));
  // An unreachable right after a critical line is the plugin's abort (AssemblyScript) or panic (Rust) handler.
  if (kind === "unreachable" && context.criticalLog !== undefined) {
    kind = "abort";
    detail = context.criticalLog.replace(/^abort: /, "");
  }
  const frames = orderFrames(wasmFrames(error).map((f) => toPluginFrame(f.functionIndex, originalOffset(f.offset, context.offsetMaps), f.name, context)));
  const memory = context.memory;
  if (kind === "unreachable" && memory && frames.some((f) => AS_ALLOCATOR.test(f.file ?? f.function))) {
    kind = "outOfMemory";
    detail = `the allocator could not grow linear memory past ${memory.bytes} bytes: the engine's maximum is ${memory.maximum} bytes (HostOptions.maxMemoryBytes; Envoy's V8 allows 1 GiB). Is the plugin keeping data per stream, or buffering a body whole?`;
  }
  const userFrame = frames.find((f) => f.user && f.file !== undefined) ?? frames.find((f) => f.user);
  const lines = [`${KIND_TITLES[kind]} in ${context.callback}: ${detail}`, ...collapseRepeats(frames.map(formatFrame)).map((f) => `    at ${f}`)];
  const failure: PluginFailure = { callback: context.callback, phase: context.callback, kind, message: context.message, detail, frames, report: lines.join("\n") };
  if (userFrame) failure.userFrame = userFrame;
  return failure;
}

/** A recursion's frames once, with a count: a stack overflow's report stays readable. */
function collapseRepeats(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    let j = i + 1;
    while (j < lines.length && lines[j] === lines[i]) j++;
    out.push(j - i > 1 ? `${lines[i]} (${j - i} times)` : lines[i]!);
    i = j;
  }
  return out;
}

/** `assembly/index.ts:42:7 Gate#onRequestHeaders`, or the function alone without a map. */
export function formatFrame(frame: PluginFrame): string {
  if (frame.file === undefined) return frame.function;
  return `${frame.file}:${frame.line}:${frame.column} ${frame.function}${frame.inlined ? ` (inlined ${frame.inlined})` : ""}`;
}

function toPluginFrame(functionIndex: number, offset: number, engineName: string | undefined, context: FailureContext): PluginFrame {
  const map = context.sourceMap;
  // Optimizers name functions they found unnamed by number: no better than none.
  const name = (engineName !== undefined && !/^\d+$/.test(engineName) ? engineName : undefined) ?? map?.functionName(functionIndex) ?? context.layout?.exportNames?.get(functionIndex);
  const body = context.layout ? context.layout.bodies[functionIndex - context.layout.importedFunctions] : undefined;
  const frame: PluginFrame = { function: name === undefined ? `wasm-function[${functionIndex}]` : shortName(name), user: true };
  let position = map?.position(offset, body);
  // Library code inlined into a user function: the user's line that led to it is the one to show.
  if (position && isLibrary(position.file) && body && !(name !== undefined && isLibrary(name))) {
    const user = map!.nearestBefore(offset, body, (file) => !isLibrary(file));
    if (user) {
      frame.inlined = `${position.file}:${position.line}:${position.column}`;
      position = user;
    }
  }
  if (position) Object.assign(frame, position);
  frame.user = !isLibrary(frame.file ?? name ?? "");
  return frame;
}

/** The standard library and the SDK (`~lib/`), and the SDK's runtime, which asc reads by its path. */
const isLibrary = (fileOrName: string): boolean => fileOrName.startsWith("~lib/") || fileOrName.includes("proxy-wasm-as/assembly/runtime/");

/** The user's frames first, then the library's, each group innermost first. */
function orderFrames(frames: PluginFrame[]): PluginFrame[] {
  return [...frames.filter((f) => f.user), ...frames.filter((f) => !f.user)];
}

/**
 * asc's internal names carry the file path: `assembly/index/Gate#onRequestHeaders`,
 * `~lib/array/Array<~lib/string/String>#__get`. The source position already says where,
 * so keep the name as the code spells it: `Gate#onRequestHeaders`, `Array<String>#__get`.
 */
export function shortName(name: string): string {
  let depth = 0;
  let cut = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === "<") depth++;
    else if (c === ">") depth--;
    else if (c === "/" && depth === 0) cut = i + 1;
  }
  return name.slice(cut).replace(/(?:~lib\/)?(?:[\w.-]+\/)+(?=[\w$]+)/g, "");
}
