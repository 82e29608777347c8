// The custom sections a failure report reads (ABI.md §1 ignores them; the engine keeps them):
// the `name` section's function names, which V8 prints in stack traces, and
// `sourceMappingURL`, which says where the module's source map is. A release build keeps
// its names in the source map instead (see `splitFunctionNames`), so the module Envoy
// loads grows by no more than the sourceMappingURL section.
import { Malformed, Reader, readSections, type Section } from "./module.js";
import { utf8Bytes } from "./utf8.js";

const CUSTOM = 0;
const FUNCTION_NAMES = 1;

function customSection(bytes: Uint8Array, sections: Section[], name: string): Section | undefined {
  for (const section of sections) {
    if (section.id !== CUSTOM) continue;
    const r = new Reader(bytes, section.start, section.end);
    try {
      if (r.name(false) === name) return { ...section, start: r.pos };
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
    }
  }
  return undefined;
}

/** Function index → name from the `name` section; empty when there is none or it is damaged. */
export function readFunctionNames(bytes: Uint8Array): Map<number, string> {
  const names = new Map<number, string>();
  const section = customSection(bytes, readSections(bytes).sections, "name");
  if (!section) return names;
  const r = new Reader(bytes, section.start, section.end);
  try {
    while (!r.atEnd) {
      const id = r.byte();
      const sub = r.take(r.u32());
      if (id !== FUNCTION_NAMES) continue;
      for (let n = sub.u32(); n > 0; n--) {
        const index = sub.u32();
        names.set(index, sub.name(false));
      }
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
  }
  return names;
}

/**
 * Where each defined function's body starts and ends (module byte offsets), in function
 * index order after the imported ones: a frame's function, for a source position nearby
 * when the instruction itself has none (optimized code keeps few). And the exported
 * functions' names, for frames the name section does not name.
 */
export function functionBodies(bytes: Uint8Array): { importedFunctions: number; bodies: { start: number; end: number }[]; exportNames: Map<number, string> } {
  const { sections } = readSections(bytes);
  let importedFunctions = 0;
  const bodies: { start: number; end: number }[] = [];
  const exportNames = new Map<number, string>();
  try {
    const imports = sections.find((s) => s.id === 2);
    if (imports) {
      const r = new Reader(bytes, imports.start, imports.end);
      for (let n = r.u32(); n > 0; n--) {
        r.name(false);
        r.name(false);
        const kind = r.byte();
        if (kind === 0) {
          importedFunctions++;
          r.u32();
        } else if (kind === 1) {
          r.byte();
          r.limits();
        } else if (kind === 2) {
          r.limits();
        } else if (kind === 3) {
          r.byte();
          r.byte();
        } else {
          r.byte();
          r.u32();
        }
      }
    }
    // V8 names a function without a `name` entry by its export: so does the report.
    const exports = sections.find((s) => s.id === 7);
    if (exports) {
      const r = new Reader(bytes, exports.start, exports.end);
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name(false);
        const kind = r.byte();
        const index = r.u32();
        if (kind === 0 && !exportNames.has(index)) exportNames.set(index, name);
      }
    }
    const code = sections.find((s) => s.id === 10);
    if (code) {
      const r = new Reader(bytes, code.start, code.end);
      for (let n = r.u32(); n > 0; n--) {
        const body = r.take(r.u32());
        bodies.push({ start: body.pos, end: body.end });
      }
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
  }
  return { importedFunctions, bodies, exportNames };
}

/** The module's sourceMappingURL, if it has one. */
export function sourceMappingUrl(bytes: Uint8Array): string | undefined {
  const section = customSection(bytes, readSections(bytes).sections, "sourceMappingURL");
  if (!section) return undefined;
  try {
    return new Reader(bytes, section.start, section.end).name(false);
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    return undefined;
  }
}

/** The module without its `name` section; the same bytes when it has none. */
export function withoutNameSection(bytes: Uint8Array): Uint8Array {
  const { sections } = readSections(bytes);
  const names = customSection(bytes, sections, "name");
  if (!names) return bytes;
  const out = new Uint8Array(bytes.length - (names.end - names.frameStart));
  out.set(bytes.subarray(0, names.frameStart), 0);
  out.set(bytes.subarray(names.end), names.frameStart);
  return out;
}

/** The module with a `name` section holding these function names appended (it must have none). */
export function withFunctionNames(bytes: Uint8Array, names: ReadonlyMap<number, string>): Uint8Array {
  const entries = [...names].sort((a, b) => a[0] - b[0]);
  const body: number[] = [...uleb(entries.length)];
  for (const [index, name] of entries) body.push(...uleb(index), ...string(name));
  const payload = [...string("name"), FUNCTION_NAMES, ...uleb(body.length), ...body];
  const section = [CUSTOM, ...uleb(payload.length), ...payload];
  const out = new Uint8Array(bytes.length + section.length);
  out.set(bytes, 0);
  out.set(section, bytes.length);
  return out;
}

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function string(text: string): number[] {
  const bytes = utf8Bytes(text);
  return [...uleb(bytes.length), ...bytes];
}
