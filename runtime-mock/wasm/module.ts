// A small WebAssembly binary reader: just what Envoy learns from a plugin before it runs
// it — the ABI version (ABI.md §1.1), the imports to link (§1.2) and the exports it
// looks up (§1.3). No dependency: the binary format is stable and we need four sections.
//
// Envoy (proxy-wasm-cpp-host `WasmBase::load`) reads the module in two passes, and so do
// we, because each pass has its own error message:
//   1. its own byte scanner walks the section frames and the export section looking for
//      the ABI marker: a damaged frame there is "Failed to parse corrupted Wasm module";
//   2. then the engine (V8) compiles the module: anything else malformed in the sections
//      we decode is "Failed to load Wasm bytecode".
import type { AbiVersion } from "./types.js";

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";
export interface FuncType {
  params: ValType[];
  results: ValType[];
}
export type ExternKind = "function" | "table" | "memory" | "global" | "tag";
export interface ImportEntry {
  module: string;
  name: string;
  kind: ExternKind;
  type?: FuncType;
}
export interface ExportEntry {
  name: string;
  kind: ExternKind;
  type?: FuncType;
}
export interface ModuleInfo {
  abiVersion: AbiVersion;
  imports: ImportEntry[];
  exports: ExportEntry[];
  hasStartSection: boolean;
  exportsMemory: boolean;
  importsMemory: boolean;
}

/** Envoy refused the module. `message` is Envoy's own wording; `hint` says what to change. */
export class ModuleLoadError extends Error {
  override readonly name = "ModuleLoadError";
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    if (hint !== undefined) this.hint = hint;
  }
}

export const CORRUPTED_MODULE = "Failed to parse corrupted Wasm module";
export const UNKNOWN_ABI = "Missing or unknown Proxy-Wasm ABI version";
export const BAD_BYTECODE = "Failed to load Wasm bytecode";

const MARKERS: ReadonlyMap<string, AbiVersion> = new Map([
  ["proxy_abi_version_0_1_0", "0.1.0"],
  ["proxy_abi_version_0_2_0", "0.2.0"],
  ["proxy_abi_version_0_2_1", "0.2.1"],
]);

const KINDS: readonly ExternKind[] = ["function", "table", "memory", "global", "tag"];
const VAL_TYPES: ReadonlyMap<number, ValType> = new Map([
  [0x7f, "i32"], [0x7e, "i64"], [0x7d, "f32"], [0x7c, "f64"],
  [0x7b, "v128"], [0x70, "funcref"], [0x6f, "externref"],
]);
const SECTION = { type: 1, import: 2, function: 3, export: 7, start: 8 } as const;

/** Internal: a structural problem; the pass that met it turns it into Envoy's message. */
export class Malformed extends Error {}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder("utf-8");

/** Bounded cursor over [pos, end) with LEB128 decoding. */
export class Reader {
  constructor(private readonly bytes: Uint8Array, public pos: number, readonly end: number) {}

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) throw new Malformed("unexpected end of data");
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 of at most 5 bytes whose value fits in 32 bits. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      if (shift === 28 && b & 0x70) throw new Malformed("varuint32 overflow");
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Malformed("varuint32 too long");
  }

  /** Skips an unsigned LEB128 of up to 10 bytes (memory64 limits). */
  skipU64(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new Malformed("varuint64 too long");
  }

  /** Skips a signed LEB128 (constants, block type indices, heap types). */
  skipSigned(): void {
    this.skipU64();
  }

  skip(length: number): void {
    if (length > this.end - this.pos) throw new Malformed("length past end of data");
    this.pos += length;
  }

  /** A reader over the next `length` bytes; this one moves past them. */
  take(length: number): Reader {
    if (length > this.end - this.pos) throw new Malformed("length past end of data");
    const sub = new Reader(this.bytes, this.pos, this.pos + length);
    this.pos += length;
    return sub;
  }

  /** A length-prefixed name; `strict` rejects invalid UTF-8 as the engine does. */
  name(strict = true): string {
    const r = this.take(this.u32());
    const raw = r.bytes.subarray(r.pos, r.end);
    try {
      return (strict ? utf8 : lenientUtf8).decode(raw);
    } catch {
      throw new Malformed("name is not UTF-8");
    }
  }

  valType(): ValType {
    const t = VAL_TYPES.get(this.byte());
    if (t === undefined) throw new Malformed("unsupported value type");
    return t;
  }

  limits(): void {
    const flags = this.byte();
    if (flags > 7) throw new Malformed("bad limits flags");
    const wide = (flags & 4) !== 0; // memory64
    const bound = () => (wide ? this.skipU64() : void this.u32());
    bound();
    if (flags & 1) bound();
  }
}

/** A section's id and the byte range of its contents. */
export interface Section {
  id: number;
  /** Where the section's frame (its id byte) begins. */
  frameStart: number;
  start: number;
  end: number;
}

/**
 * Parses the module and detects its ABI version; throws ModuleLoadError with the message
 * Envoy would log for the first problem it would meet.
 */
export function inspectModule(bytes: Uint8Array): ModuleInfo {
  // cpp-host's header check lets anything shorter than the 8-byte header through, and its
  // section loop then finds nothing: Envoy reports a missing ABI marker, not corruption.
  if (bytes.length < 8) {
    throw new ModuleLoadError(UNKNOWN_ABI, `The file is ${bytes.length} bytes long, shorter than a WebAssembly header: it is not a compiled module.`);
  }
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new ModuleLoadError(CORRUPTED_MODULE, "The file does not start with the WebAssembly magic number \\0asm: load the compiled .wasm, not the source, .wat or a container image layer.");
  }

  const { sections, framingBroken } = readSections(bytes);
  const exportSection = sections.find((s) => s.id === SECTION.export);
  // cpp-host stops scanning at the export section, so a damaged frame after it is only
  // noticed (as corruption) once an ABI marker has been found.
  if (framingBroken && !exportSection) throw corrupted();
  const marker = findAbiMarker(bytes, exportSection);
  if (marker.version === undefined) throw unknownAbi(marker.unknown);
  if (framingBroken) throw corrupted();

  // From here on the engine compiles the module.
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new ModuleLoadError(BAD_BYTECODE, "Unsupported WebAssembly binary version: only version 1 (the MVP binary format) is accepted.");
  }
  try {
    return { abiVersion: marker.version, ...decodeModule(bytes, sections) };
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    throw new ModuleLoadError(BAD_BYTECODE, `The module is not valid WebAssembly (${e.message}); rebuild it.`);
  }
}

/** The section frames in order; stops at the first frame whose id or length does not fit. */
export function readSections(bytes: Uint8Array): { sections: Section[]; framingBroken: boolean } {
  const r = new Reader(bytes, 8, bytes.length);
  const sections: Section[] = [];
  try {
    while (!r.atEnd) {
      const frameStart = r.pos;
      const id = r.byte();
      const body = r.take(r.u32());
      sections.push({ id, frameStart, start: body.pos, end: body.end });
    }
    return { sections, framingBroken: false };
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    return { sections, framingBroken: true };
  }
}

/** ABI.md §1.1: the first *function* export named like a known marker decides. */
function findAbiMarker(bytes: Uint8Array, section: Section | undefined): { version?: AbiVersion; unknown?: string } {
  if (!section) return {};
  const r = new Reader(bytes, section.start, section.end);
  let unknown: string | undefined;
  try {
    const count = r.u32();
    // cpp-host's (odd but harmless) sanity check: the count cannot exceed the bytes left.
    if (count > r.end - r.pos) throw new Malformed("export count");
    for (let i = 0; i < count; i++) {
      const name = r.name(false); // cpp-host compares raw bytes; UTF-8 is the engine's concern
      const kind = r.byte();
      r.u32();
      if (kind !== 0) continue;
      const version = MARKERS.get(name);
      if (version) return { version };
      if (unknown === undefined && name.startsWith("proxy_abi_version_")) unknown = name;
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    throw corrupted();
  }
  return unknown === undefined ? {} : { unknown };
}

function decodeModule(bytes: Uint8Array, sections: Section[]): Omit<ModuleInfo, "abiVersion"> {
  const types: FuncType[] = [];
  const funcTypes: FuncType[] = []; // function index space: imported functions first
  const imports: ImportEntry[] = [];
  const exports: ExportEntry[] = [];
  let hasStartSection = false;

  const typeAt = (index: number): FuncType => {
    const t = types[index];
    if (!t) throw new Malformed(`type index ${index} out of range`);
    return t;
  };

  for (const { id, start, end } of sections) {
    const r = new Reader(bytes, start, end);
    switch (id) {
      case SECTION.type:
        for (let n = r.u32(); n > 0; n--) {
          if (r.byte() !== 0x60) throw new Malformed("only function types are supported");
          const params = Array.from({ length: r.u32() }, () => r.valType());
          const results = Array.from({ length: r.u32() }, () => r.valType());
          types.push({ params, results });
        }
        break;
      case SECTION.import:
        for (let n = r.u32(); n > 0; n--) {
          const module = r.name();
          const name = r.name();
          const kind = externKind(r.byte());
          const entry: ImportEntry = { module, name, kind };
          if (kind === "function") {
            entry.type = typeAt(r.u32());
            funcTypes.push(entry.type);
          } else if (kind === "table") {
            const element = r.valType();
            if (element !== "funcref" && element !== "externref") throw new Malformed("bad table element type");
            r.limits();
          } else if (kind === "memory") {
            r.limits();
          } else if (kind === "global") {
            r.valType();
            if (r.byte() > 1) throw new Malformed("bad global mutability");
          } else {
            r.byte(); // tag attribute
            typeAt(r.u32());
          }
          imports.push(entry);
        }
        break;
      case SECTION.function:
        for (let n = r.u32(); n > 0; n--) funcTypes.push(typeAt(r.u32()));
        break;
      case SECTION.export:
        for (let n = r.u32(); n > 0; n--) {
          const name = r.name();
          const kind = externKind(r.byte());
          const index = r.u32();
          const entry: ExportEntry = { name, kind };
          if (kind === "function") {
            const type = funcTypes[index];
            if (!type) throw new Malformed(`function index ${index} out of range`);
            entry.type = type;
          }
          exports.push(entry);
        }
        break;
      case SECTION.start:
        r.u32();
        hasStartSection = true;
        break;
      default:
        continue; // code, data, custom…: not needed to link
    }
    if (!r.atEnd) throw new Malformed(`section ${id} has trailing bytes`);
  }

  return {
    imports,
    exports,
    hasStartSection,
    exportsMemory: exports.some((e) => e.kind === "memory"),
    importsMemory: imports.some((i) => i.kind === "memory"),
  };
}

function externKind(byte: number): ExternKind {
  const kind = KINDS[byte];
  if (kind === undefined) throw new Malformed(`unknown external kind ${byte}`);
  return kind;
}

function corrupted(): ModuleLoadError {
  return new ModuleLoadError(CORRUPTED_MODULE, "A section length or export entry runs past the end of the file: the module is truncated or damaged. Rebuild it, and check that the copy you load is complete.");
}

function unknownAbi(found: string | undefined): ModuleLoadError {
  const seen = found === undefined
    ? "The module exports no proxy_abi_version_* function."
    : `The module exports ${found}, which Envoy does not recognise.`;
  return new ModuleLoadError(
    UNKNOWN_ABI,
    `${seen} A proxy-wasm plugin must export one of proxy_abi_version_0_1_0, proxy_abi_version_0_2_0 or ` +
      "proxy_abi_version_0_2_1 as a function (its SDK normally does this). An AssemblyScript plugin must " +
      're-export the SDK\'s ABI from its entry file: export * from "proxy-wasm-as/assembly/exports".',
  );
}

/** Readable signature for hints, e.g. "(i32, i32) -> i32" or "() -> ()". */
export function formatFuncType(t: FuncType): string {
  const results = t.results.length === 1 ? t.results[0]! : `(${t.results.join(", ")})`;
  return `(${t.params.join(", ")}) -> ${results}`;
}

/** The engine's own rendering in link errors (V8 `printValTypes`): "i32 i32 -> i32", "void -> void". */
export function formatEngineFuncType(t: FuncType): string {
  const list = (v: ValType[]) => (v.length === 0 ? "void" : v.join(" "));
  return `${list(t.params)} -> ${list(t.results)}`;
}

export function sameFuncType(a: FuncType, b: FuncType): boolean {
  const eq = (x: ValType[], y: ValType[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.params, b.params) && eq(a.results, b.results);
}

/** Unsigned LEB128, for the host's own rewrites of a module. */
export function encodeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128. */
export function encodeS32(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value = Math.floor(value / 128);
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}
