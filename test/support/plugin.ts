// A tiny proxy-wasm plugin kit in WebAssembly text for the mock-host tests: every `env`
// host function of the chosen ABI version is imported as `$<name>`, the module has a
// memory, a bump allocator (`malloc`, or `proxy_on_memory_allocate`) and the ABI marker;
// the test writes the callbacks. Conventions (fixed addresses, so tests can read back):
//   OUT_PTR/OUT_SIZE/OUT_A/OUT_B  out-parameters for host calls
//   slot(i)                       u32 result slots (record a status with `rec(i, call)`)
//   ALLOC_COUNT                   number of allocator calls so far
//   strings via `kit.str("text")` → "(i32.const ptr) (i32.const len)", placed in a data segment
import wabtInit from "wabt";
import { hostFunctionTypes, WASI_FUNCTIONS } from "../../runtime-mock/wasm/signatures.js";
import type { AbiVersion } from "../../runtime-mock/wasm/types.js";
import { Host, type HostOptions } from "../../runtime-mock/index.js";

const wabt = await wabtInit();

export const ALLOC_COUNT = 16;
export const EVENT_COUNT = 20;
const EVENTS = 2048; // 4 words per event, up to 384 events
export const OUT_PTR = 256;
export const OUT_SIZE = 260;
export const OUT_A = 264;
export const OUT_B = 272;
const SLOTS = 1024;
const DATA_START = 8192;
export const HEAP_START = 65536;

export const slot = (i: number) => SLOTS + 4 * i;
/** `(i32.store (slot i) <call>)`: records a host call's status. */
export const rec = (i: number, call: string) => `(i32.store (i32.const ${slot(i)}) ${call})`;
/** Stores an i32 value computed by `expr` into slot i. */
export const put = (i: number, expr: string) => rec(i, expr);

const MARKER: Record<AbiVersion, string> = {
  "0.1.0": "proxy_abi_version_0_1_0",
  "0.2.0": "proxy_abi_version_0_2_0",
  "0.2.1": "proxy_abi_version_0_2_1",
};

export interface PluginSpec {
  version?: AbiVersion;
  /** Module fields: callbacks and helpers (use `kit.str` for string constants). */
  body: string;
  /** WASI functions to import from wasi_snapshot_preview1 as `$wasi_<name>`. */
  wasi?: string[];
  allocator?: "malloc" | "proxy_on_memory_allocate" | "both";
  /** Extra module fields placed before everything else (e.g. a start section). */
  prelude?: string;
  memoryPages?: number;
}

/** Collects string constants into one data segment. */
export class Kit {
  private readonly chunks: Uint8Array[] = [];
  private next = DATA_START;

  /** Places the UTF-8 bytes and returns "(i32.const ptr) (i32.const len)". */
  str(text: string): string {
    const { ptr, len } = this.place(new TextEncoder().encode(text));
    return `(i32.const ${ptr}) (i32.const ${len})`;
  }

  bytes(data: Uint8Array): string {
    const { ptr, len } = this.place(data);
    return `(i32.const ${ptr}) (i32.const ${len})`;
  }

  /** Just the address of placed bytes. */
  at(data: Uint8Array | string): number {
    return this.place(typeof data === "string" ? new TextEncoder().encode(data) : data).ptr;
  }

  private place(data: Uint8Array): { ptr: number; len: number } {
    const ptr = this.next;
    this.chunks.push(data);
    this.next += data.length + 1; // keep a NUL between constants
    return { ptr, len: data.length };
  }

  segment(): string {
    if (this.chunks.length === 0) return "";
    const all: number[] = [];
    for (const c of this.chunks) all.push(...c, 0);
    const escaped = all.map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
    return `(data (i32.const ${DATA_START}) "${escaped}")`;
  }
}

export function compileWat(source: string): Uint8Array<ArrayBuffer> {
  const module = wabt.parseWat("plugin.wat", source);
  try {
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

/** Builds the module; `build(kit)` returns the spec so string constants can be placed. */
export function buildPlugin(build: (kit: Kit) => PluginSpec): Uint8Array<ArrayBuffer> {
  const kit = new Kit();
  const spec = build(kit);
  const version = spec.version ?? "0.2.1";
  const imports: string[] = [];
  for (const [key, type] of hostFunctionTypes(version)) {
    const [module, name] = key.split(".") as [string, string];
    if (module !== "env") continue;
    imports.push(funcImport("env", name, `$${name}`, type.params, type.results));
  }
  for (const name of spec.wasi ?? []) {
    const type = WASI_FUNCTIONS[name]!;
    imports.push(funcImport("wasi_snapshot_preview1", name, `$wasi_${name}`, type.params, type.results));
  }
  const allocator = spec.allocator ?? "malloc";
  const allocBody = `(param $size i32) (result i32) (local $p i32)
      (i32.store (i32.const ${ALLOC_COUNT}) (i32.add (i32.load (i32.const ${ALLOC_COUNT})) (i32.const 1)))
      (local.set $p (global.get $heap))
      (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7)) (i32.const -8)))
      (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.add (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65536)) (i32.const 1))))))
      (local.get $p)`;
  const allocators =
    allocator === "both"
      ? `(func (export "malloc") ${allocBody}) (func (export "proxy_on_memory_allocate") (param i32) (result i32) (unreachable))`
      : `(func (export "${allocator}") ${allocBody})`;
  return compileWat(`(module
    ${imports.join("\n    ")}
    ${spec.prelude ?? ""}
    (memory (export "memory") ${spec.memoryPages ?? 2})
    (global $heap (mut i32) (i32.const ${HEAP_START}))
    (func (export "${MARKER[version]}"))
    ${allocators}
    (func $event (param $code i32) (param $ctx i32) (param $a i32) (param $b i32) (local $at i32)
      (local.set $at (i32.add (i32.const ${EVENTS}) (i32.mul (i32.load (i32.const ${EVENT_COUNT})) (i32.const 16))))
      (i32.store (local.get $at) (local.get $code))
      (i32.store offset=4 (local.get $at) (local.get $ctx))
      (i32.store offset=8 (local.get $at) (local.get $a))
      (i32.store offset=12 (local.get $at) (local.get $b))
      (i32.store (i32.const ${EVENT_COUNT}) (i32.add (i32.load (i32.const ${EVENT_COUNT})) (i32.const 1))))
    ${spec.body}
    ${kit.segment()}
  )`);
}

function funcImport(module: string, name: string, id: string, params: string[], results: string[]): string {
  const p = params.length ? `(param ${params.join(" ")})` : "";
  const r = results.length ? `(result ${results.join(" ")})` : "";
  return `(import "${module}" "${name}" (func ${id} ${p} ${r}))`;
}

/** Loads and starts; throws if the start fails. */
export async function startPlugin(bytes: Uint8Array, options: HostOptions = {}): Promise<Host> {
  const host = await Host.load(bytes, options);
  const result = host.start();
  if (!result.ok) throw new Error(`start failed: ${result.reason}: ${result.message}`);
  return host;
}

// --- reading the plugin's memory back ---------------------------------------------------

export function readU32(host: Host, address: number): number {
  const value = host.vm.memory.readU32(address);
  if (value === undefined) throw new RangeError(`address ${address} outside memory`);
  return value;
}

export function readU64(host: Host, address: number): bigint {
  const bytes = host.vm.memory.read(address, 8)!;
  return new DataView(bytes.buffer).getBigUint64(0, true);
}

/** Slot i as an unsigned number. */
export const slotValue = (host: Host, i: number) => readU32(host, slot(i));

/** The bytes the host handed out through OUT_PTR/OUT_SIZE (ptr 0 / size 0 → empty). */
export function outBytes(host: Host, ptrAt = OUT_PTR, sizeAt = OUT_SIZE): Uint8Array {
  const ptr = readU32(host, ptrAt);
  const size = readU32(host, sizeAt);
  return host.vm.memory.read(ptr, size)!;
}

export const outText = (host: Host, ptrAt = OUT_PTR, sizeAt = OUT_SIZE) => new TextDecoder().decode(outBytes(host, ptrAt, sizeAt));

/** Copies what out-params pointed at into slots, for host calls made in several callbacks. */
export const saveOut = (i: number) =>
  `(i32.store (i32.const ${slot(i)}) (i32.load (i32.const ${OUT_PTR}))) (i32.store (i32.const ${slot(i + 1)}) (i32.load (i32.const ${OUT_SIZE})))`;

/** Bytes at (ptr, size) stored in slots i, i+1 by `saveOut`. */
export function savedBytes(host: Host, i: number): Uint8Array {
  return host.vm.memory.read(slotValue(host, i), slotValue(host, i + 1))!;
}

export const savedText = (host: Host, i: number) => new TextDecoder().decode(savedBytes(host, i));

// --- recorded callbacks -------------------------------------------------------------------

export const EV = {
  contextCreate: 1,
  vmStart: 2,
  configure: 3,
  requestHeaders: 4,
  requestBody: 5,
  requestTrailers: 6,
  responseHeaders: 7,
  responseBody: 8,
  responseTrailers: 9,
  log: 10,
  done: 11,
  delete: 12,
  tick: 13,
} as const;
export type EventName = keyof typeof EV;
const EVENT_NAMES = Object.fromEntries(Object.entries(EV).map(([k, v]) => [v, k])) as Record<number, EventName>;

export interface Event {
  name: EventName;
  ctx: number;
  a: number;
  b: number;
}

export function events(host: Host): Event[] {
  const count = readU32(host, EVENT_COUNT);
  const out: Event[] = [];
  for (let i = 0; i < count; i++) {
    const at = EVENTS + 16 * i;
    out.push({ name: EVENT_NAMES[readU32(host, at)]!, ctx: readU32(host, at + 4), a: readU32(host, at + 8), b: readU32(host, at + 12) });
  }
  return out;
}

/** "requestHeaders(2,0)"-style compact event list for order assertions. */
export const eventNames = (host: Host) => events(host).map((e) => e.name);

export interface CallbackBody {
  /** WAT instructions run after the event is recorded (params: $ctx and the callback's others by index). */
  code?: string;
  /** The return value: a number or an i32 expression (ignored for void callbacks). */
  result?: number | string;
}

type CallbackName = EventName;

/** Every callback, each recording an event then running `code` and returning `result` (Continue / true by default). */
export function recordingCallbacks(overrides: Partial<Record<CallbackName, CallbackBody>> = {}, version: AbiVersion = "0.2.1"): string {
  const headerParams = version === "0.1.0" ? "(param $ctx i32) (param $n i32)" : "(param $ctx i32) (param $n i32) (param $eos i32)";
  const eos = version === "0.1.0" ? "(i32.const 0)" : "(local.get $eos)";
  const defs: Record<CallbackName, { sig: string; ev: string; result: boolean; export: string; defaultResult: number }> = {
    contextCreate: { export: "proxy_on_context_create", sig: "(param $ctx i32) (param $parent i32)", ev: "(local.get $parent) (i32.const 0)", result: false, defaultResult: 0 },
    vmStart: { export: "proxy_on_vm_start", sig: "(param $ctx i32) (param $size i32)", ev: "(local.get $size) (i32.const 0)", result: true, defaultResult: 1 },
    configure: { export: "proxy_on_configure", sig: "(param $ctx i32) (param $size i32)", ev: "(local.get $size) (i32.const 0)", result: true, defaultResult: 1 },
    requestHeaders: { export: "proxy_on_request_headers", sig: headerParams, ev: `(local.get $n) ${eos}`, result: true, defaultResult: 0 },
    requestBody: { export: "proxy_on_request_body", sig: "(param $ctx i32) (param $size i32) (param $eos i32)", ev: "(local.get $size) (local.get $eos)", result: true, defaultResult: 0 },
    requestTrailers: { export: "proxy_on_request_trailers", sig: "(param $ctx i32) (param $n i32)", ev: "(local.get $n) (i32.const 0)", result: true, defaultResult: 0 },
    responseHeaders: { export: "proxy_on_response_headers", sig: headerParams, ev: `(local.get $n) ${eos}`, result: true, defaultResult: 0 },
    responseBody: { export: "proxy_on_response_body", sig: "(param $ctx i32) (param $size i32) (param $eos i32)", ev: "(local.get $size) (local.get $eos)", result: true, defaultResult: 0 },
    responseTrailers: { export: "proxy_on_response_trailers", sig: "(param $ctx i32) (param $n i32)", ev: "(local.get $n) (i32.const 0)", result: true, defaultResult: 0 },
    log: { export: "proxy_on_log", sig: "(param $ctx i32)", ev: "(i32.const 0) (i32.const 0)", result: false, defaultResult: 0 },
    done: { export: "proxy_on_done", sig: "(param $ctx i32)", ev: "(i32.const 0) (i32.const 0)", result: true, defaultResult: 1 },
    delete: { export: "proxy_on_delete", sig: "(param $ctx i32)", ev: "(i32.const 0) (i32.const 0)", result: false, defaultResult: 0 },
    tick: { export: "proxy_on_tick", sig: "(param $ctx i32)", ev: "(i32.const 0) (i32.const 0)", result: false, defaultResult: 0 },
  };
  return Object.entries(defs)
    .map(([name, def]) => {
      const body = overrides[name as CallbackName] ?? {};
      const result = body.result ?? def.defaultResult;
      const resultExpr = typeof result === "number" ? `(i32.const ${result})` : result;
      return `(func (export "${def.export}") ${def.sig} ${def.result ? "(result i32)" : ""}
        (call $event (i32.const ${EV[name as CallbackName]}) (local.get $ctx) ${def.ev})
        ${body.code ?? ""}
        ${def.result ? resultExpr : ""})`;
    })
    .join("\n");
}
