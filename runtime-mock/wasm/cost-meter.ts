// The instrumented copy of a module the host runs: it bounds a plugin's steps (the
// runaway guard of HostOptions.stepBudget) and, for the cost meter (HostOptions.meterCost),
// counts the WebAssembly instructions it executes, the same number on every machine.
//
// The code is cut into straight-line runs: a run ends at each instruction that can change
// where execution goes next (block, loop, if, else, end, br, br_if, br_table, return,
// unreachable, try, catch, delegate, throw). At the start of each run an increment of an
// exported i64 global `pwas_cost` by the run's length is inserted. So a loop's body counts
// once per iteration, an if's arm only when taken. A call counts as one instruction of its
// run; the callee counts its own.
//
// The runaway guard: at each function entry and loop header it decrements an exported i32
// `pwas_steps_left` and traps below zero (the host sets it before each call, and reads a
// trap with it below zero as a runaway). Its own instructions are not counted.
//
// Nothing else changes: no function or global index moves (the two globals come last), so
// names and source maps stay valid, and an OffsetMap reads frame offsets back.
//
// binaryen has no pass that counts instructions, and a pass written against its IR would
// count binaryen's tree, not the module's instructions. The binary format is stable, and
// the decoder needs only each instruction's length.
import { encodeS32, encodeU32, Malformed, Reader, readSections } from "./module.js";
import { OffsetMap } from "./offset-map.js";

export const COST_GLOBAL = "pwas_cost";
export const STEPS_GLOBAL = "pwas_steps_left";

export interface MeteredModule {
  bytes: Uint8Array;
  offsets: OffsetMap;
}

const SECTION = { import: 2, global: 6, export: 7, code: 10 } as const;
/** Sections that come after the global section, and after the export section, in a module. */
const AFTER_GLOBAL = new Set([7, 8, 9, 12, 10, 11]);
const AFTER_EXPORT = new Set([8, 9, 12, 10, 11]);

/** Steps (function entries and loop iterations) one plugin call may take by default: far past any real callback, a fraction of a second. */
export const DEFAULT_STEP_BUDGET = 100_000_000;

export interface CostMeterOptions {
  /** Decrement `pwas_steps_left` at function entries and loop headers (the runaway guard). */
  stepGuard: boolean;
  /** Count instructions (default true); false gives a copy with the step guard only. */
  count?: boolean;
  /** One counter per function (`pwas_cost_<function index>`) instead of one in all: where the instructions go. */
  byFunction?: boolean;
}

/** The export of function `index`'s counter in a byFunction copy. */
export const functionCostGlobal = (index: number): string => `${COST_GLOBAL}_${index}`;

/** What an export of a metered copy counts: -1 for the total, a function's index, or undefined when it is no counter. */
export function costCounterOf(exportName: string): number | undefined {
  if (exportName === COST_GLOBAL) return -1;
  const match = /^pwas_cost_(\d+)$/.exec(exportName);
  return match ? Number(match[1]) : undefined;
}

export function instrumentCost(bytes: Uint8Array, options: CostMeterOptions): MeteredModule {
  const { sections, framingBroken } = readSections(bytes);
  if (framingBroken) throw new Malformed("the module's sections are damaged");
  const find = (id: number) => sections.find((s) => s.id === id);
  const imports = countImports(bytes, find(SECTION.import));
  const importedGlobals = imports.globals;
  const globalSection = find(SECTION.global);
  const definedGlobals = globalSection ? new Cursor(bytes, globalSection.start).u32() : 0;
  const code = find(SECTION.code);
  if (!code) throw new Malformed("the module has no code section");
  const functions = new Cursor(bytes, code.start).u32();
  const importedFunctions = imports.functions;
  const counting = options.count ?? true;
  const costGlobals = !counting ? 0 : options.byFunction ? functions : 1;
  const firstCost = importedGlobals + definedGlobals;
  const steps = firstCost + costGlobals;

  // New global and export sections: the old entries, then ours.
  const newGlobals: number[] = [];
  const exported: number[] = [];
  for (let i = 0; i < costGlobals; i++) {
    newGlobals.push(0x7e, 0x01, 0x42, 0x00, 0x0b);
    exported.push(...exportEntry(options.byFunction ? functionCostGlobal(importedFunctions + i) : COST_GLOBAL, firstCost + i));
  }
  if (options.stepGuard) {
    // The step budget starts full, so a start function (which runs before the host sets it) is bounded too.
    newGlobals.push(0x7f, 0x01, 0x41, ...encodeS32(0x7fffffff), 0x0b);
    exported.push(...exportEntry(STEPS_GLOBAL, steps));
  }
  const added = costGlobals + (options.stepGuard ? 1 : 0);
  const globalsBody = appendEntries(bytes, globalSection, added, newGlobals);
  const exportsBody = appendEntries(bytes, find(SECTION.export), added, exported);

  const rewrite = rewriteCode(bytes, code.start, code.end, counting ? (f) => (options.byFunction ? firstCost + f : firstCost) : undefined, options.stepGuard ? steps : undefined);

  // Reassemble: every section as it was, except those three.
  const out = new Emitter();
  out.bytes(bytes.subarray(0, 8));
  const writeSection = (id: number, body: Uint8Array) => {
    out.bytes([id, ...encodeU32(body.length)]);
    out.bytes(body);
  };
  let globalsWritten = false;
  let exportsWritten = false;
  let codeStartInOutput = 0;
  for (const section of sections) {
    if (!globalsWritten && (section.id === SECTION.global || AFTER_GLOBAL.has(section.id))) {
      writeSection(SECTION.global, globalsBody);
      globalsWritten = true;
      if (section.id === SECTION.global) continue;
    }
    if (!exportsWritten && (section.id === SECTION.export || AFTER_EXPORT.has(section.id))) {
      writeSection(SECTION.export, exportsBody);
      exportsWritten = true;
      if (section.id === SECTION.export) continue;
    }
    if (section.id === SECTION.code) {
      out.bytes([SECTION.code, ...encodeU32(rewrite.body.length)]);
      codeStartInOutput = out.length;
      out.bytes(rewrite.body);
      continue;
    }
    out.bytes(bytes.subarray(section.frameStart, section.end));
  }
  const offsets = new OffsetMap();
  // Before the code section, offsets do not matter to frames; inside it, per run.
  for (const [relative, originalAbsolute] of rewrite.runs) offsets.add(codeStartInOutput + relative, codeStartInOutput + relative - originalAbsolute);
  return { bytes: out.take(), offsets };
}

function exportEntry(name: string, index: number): number[] {
  const utf8 = [...new TextEncoder().encode(name)];
  return [...encodeU32(utf8.length), ...utf8, 0x03, ...encodeU32(index)];
}

/** A vector section's body with `extra` more entries (encoded in `entries`) at its end. */
function appendEntries(bytes: Uint8Array, section: { start: number; end: number } | undefined, extra: number, entries: number[]): Uint8Array {
  if (!section) return Uint8Array.from([...encodeU32(extra), ...entries]);
  const c = new Cursor(bytes, section.start);
  const count = c.u32();
  return Uint8Array.from([...encodeU32(count + extra), ...bytes.subarray(c.pos, section.end), ...entries]);
}

function countImports(bytes: Uint8Array, section: { start: number; end: number } | undefined): { functions: number; globals: number } {
  if (!section) return { functions: 0, globals: 0 };
  const c = new Cursor(bytes, section.start);
  let globals = 0;
  let functions = 0;
  for (let n = c.u32(); n > 0; n--) {
    c.skip(c.u32());
    c.skip(c.u32());
    const kind = c.byte();
    if (kind === 0) {
      c.u32();
      functions++;
    }
    else if (kind === 1) {
      c.byte();
      c.skipLimits();
    } else if (kind === 2) c.skipLimits();
    else if (kind === 3) {
      c.byte();
      c.byte();
      globals++;
    } else if (kind === 4) {
      c.byte();
      c.u32();
    } else throw new Malformed(`unknown import kind ${kind}`);
  }
  return { functions, globals };
}

interface CodeRewrite {
  body: Uint8Array;
  /** [offset in the new code section body, absolute offset in the original] at each run start. */
  runs: [number, number][];
}

function rewriteCode(bytes: Uint8Array, start: number, end: number, costOf: ((definedFunction: number) => number) | undefined, steps: number | undefined): CodeRewrite {
  const c = new Cursor(bytes, start);
  const functions = c.u32();
  const out = new Emitter();
  out.bytes(encodeU32(functions));
  const bodies: { emitter: Emitter; runs: [number, number][] }[] = [];
  for (let f = 0; f < functions; f++) {
    const size = c.u32();
    const bodyEnd = c.pos + size;
    const cost = costOf?.(f);
    const body = new Emitter();
    const runs: [number, number][] = [];
    // Locals, unchanged.
    const localsStart = c.pos;
    for (let n = c.u32(); n > 0; n--) {
      c.u32();
      c.localType();
    }
    body.bytes(bytes.subarray(localsStart, c.pos));
    if (steps !== undefined) body.bytes(stepGuard(steps));
    let runStart = c.pos;
    let count = 0;
    const flush = (to: number) => {
      if (to === runStart) return;
      if (cost !== undefined) body.bytes(increment(cost, count));
      runs.push([body.length, runStart]);
      body.bytes(bytes.subarray(runStart, to));
      runStart = to;
      count = 0;
    };
    while (c.pos < bodyEnd) {
      const opcode = c.byte();
      count++;
      const ends = skipImmediates(c, opcode);
      if (ends) {
        flush(c.pos);
        if (opcode === 0x03 && steps !== undefined) body.bytes(stepGuard(steps)); // loop header: every iteration
      }
    }
    if (c.pos !== bodyEnd) throw new Malformed(`function ${f}'s body does not end where its size says`);
    flush(c.pos);
    bodies.push({ emitter: body, runs });
  }
  if (c.pos !== end) throw new Malformed("the code section has trailing bytes");
  const allRuns: [number, number][] = [];
  for (const { emitter, runs } of bodies) {
    out.bytes(encodeU32(emitter.length));
    const base = out.length;
    out.bytes(emitter.take());
    for (const [relative, original] of runs) allRuns.push([base + relative, original]);
  }
  return { body: out.take(), runs: allRuns };
}

/** `global.get cost; i64.const n; i64.add; global.set cost` */
function increment(cost: number, n: number): number[] {
  return [0x23, ...encodeU32(cost), 0x42, ...encodeS32(n), 0x7c, 0x24, ...encodeU32(cost)];
}

/** `steps -= 1; if (steps < 0) unreachable` */
function stepGuard(steps: number): number[] {
  const g = encodeU32(steps);
  return [0x23, ...g, 0x41, 0x01, 0x6b, 0x24, ...g, 0x23, ...g, 0x41, 0x00, 0x48, 0x04, 0x40, 0x00, 0x0b];
}

/** Moves past an instruction's immediates; true when it ends a straight-line run. */
function skipImmediates(c: Cursor, op: number): boolean {
  switch (op) {
    case 0x00: // unreachable
    case 0x05: // else
    case 0x0b: // end
    case 0x0f: // return
    case 0x19: // catch_all
      return true;
    case 0x02: // block
    case 0x03: // loop
    case 0x04: // if
    case 0x06: // try
      c.blockType();
      return true;
    case 0x07: // catch
    case 0x08: // throw
    case 0x09: // rethrow
    case 0x0c: // br
    case 0x0d: // br_if
    case 0x18: // delegate
      c.u32();
      return true;
    case 0x0e: // br_table
      for (let n = c.u32(); n >= 0; n--) c.u32();
      return true;
    case 0x10: // call
    case 0x12: // return_call
      c.u32();
      return op === 0x12;
    case 0x11: // call_indirect
    case 0x13: // return_call_indirect
      c.u32();
      c.u32();
      return op === 0x13;
    case 0x1c: // select t*
      for (let n = c.u32(); n > 0; n--) c.localType();
      return false;
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: // local.*, global.*, table.get/set
      c.u32();
      return false;
    case 0x3f: case 0x40: // memory.size, memory.grow
      c.u32();
      return false;
    case 0x41: c.sleb(); return false; // i32.const
    case 0x42: c.sleb(); return false; // i64.const
    case 0x43: c.skip(4); return false; // f32.const
    case 0x44: c.skip(8); return false; // f64.const
    case 0xd0: c.sleb(); return false; // ref.null heaptype
    case 0xd2: c.u32(); return false; // ref.func
    case 0xfc: return skipPrefixedFC(c, c.u32());
    case 0xfd: return skipSimd(c, c.u32());
    case 0xfe: // atomics: a memarg, except atomic.fence's one byte
      if (c.u32() === 0x03) c.byte();
      else c.memarg();
      return false;
    default:
      if (op >= 0x28 && op <= 0x3e) {
        c.memarg();
        return false;
      }
      // Everything else without immediates: numeric operators, drop, select, ref.is_null, nop.
      if ((op >= 0x45 && op <= 0xc4) || op === 0x01 || op === 0x1a || op === 0x1b || op === 0xd1) return false;
      throw new Malformed(`unknown opcode 0x${op.toString(16)} at ${c.pos - 1}`);
  }
}

function skipPrefixedFC(c: Cursor, sub: number): boolean {
  if (sub <= 7) return false; // saturating truncations
  if (sub === 8) { c.u32(); c.u32(); } // memory.init data mem
  else if (sub === 9 || sub === 13 || (sub >= 15 && sub <= 17)) c.u32(); // data.drop, elem.drop, table.grow/size/fill
  else if (sub === 10 || sub === 12 || sub === 14) { c.u32(); c.u32(); } // memory.copy, table.init, table.copy
  else if (sub === 11) c.u32(); // memory.fill
  else throw new Malformed(`unknown 0xfc instruction ${sub}`);
  return false;
}

function skipSimd(c: Cursor, sub: number): boolean {
  if (sub <= 11 || sub === 92 || sub === 93) c.memarg(); // loads, stores, load_zero
  else if (sub >= 84 && sub <= 91) { c.memarg(); c.byte(); } // load/store lane
  else if (sub === 12 || sub === 13) c.skip(16); // v128.const, i8x16.shuffle
  else if (sub >= 21 && sub <= 34) c.byte(); // extract/replace lane
  return false;
}

/** The module's Reader, with the immediates only instruction decoding needs. */
class Cursor extends Reader {
  constructor(bytes: Uint8Array, pos: number) {
    super(bytes, pos, bytes.length);
  }

  sleb(): void {
    this.skipSigned();
  }

  /** A value type, reference types with a heap type (typed function references) included. */
  localType(): void {
    const t = this.byte();
    if (t === 0x63 || t === 0x64) this.skipSigned();
  }

  blockType(): void {
    const t = this.byte();
    if (t !== 0x40 && !(t >= 0x6f && t <= 0x7f)) {
      this.pos--;
      this.skipSigned(); // a type index (s33)
    }
  }

  memarg(): void {
    const align = this.u32();
    if (align & 0x40) this.u32(); // multi-memory: a memory index
    this.u32();
  }

  skipLimits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

class Emitter {
  private chunks: (Uint8Array | number[])[] = [];
  length = 0;

  bytes(data: Uint8Array | number[]): void {
    this.chunks.push(data);
    this.length += data.length;
  }

  take(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}


