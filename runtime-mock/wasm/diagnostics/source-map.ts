// A plugin's source map: WebAssembly byte offsets (V8's `wasm-function[i]:0x…` frames) to
// the plugin's own source lines. asc writes the map beside the module (`sourceMap: true`);
// a release build also keeps its function names here rather than in a `name` section,
// because Envoy loads the .wasm and every byte of it is paid for on every proxy.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodedMappings, originalPositionFor, TraceMap, type SourceMapInput } from "@jridgewell/trace-mapping";
import { readFunctionNames, sourceMappingUrl, withoutNameSection } from "../custom-sections.js";

/** The map field a release build keeps its function names in: function index → name. */
export const FUNCTION_NAMES_FIELD = "x_pwas_functionNames";

/** A source map: a path or URL of the .map file, its JSON text, or the parsed object. */
export type SourceMapSource = string | URL | object;

/** The function names a release build keeps in its map (empty for other maps). */
export function functionNamesIn(map: object): Map<number, string> {
  const field = (map as Record<string, unknown>)[FUNCTION_NAMES_FIELD];
  const names = new Map<number, string>();
  if (field && typeof field === "object") for (const [index, name] of Object.entries(field)) if (typeof name === "string") names.set(Number(index), name);
  return names;
}

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export class PluginSourceMap {
  private readonly trace: TraceMap;
  private readonly names: Map<number, string>;

  constructor(map: object) {
    // Sources stay as asc names them (`assembly/index.ts`, `~lib/array.ts`): no sourceRoot prefix.
    this.trace = new TraceMap({ ...(map as object), sourceRoot: undefined } as SourceMapInput);
    this.names = functionNamesIn(map);
  }

  /** Reads a map; undefined when it cannot be read or parsed (a report without lines beats none). */
  static load(source: SourceMapSource): PluginSourceMap | undefined {
    try {
      if (typeof source === "object" && !(source instanceof URL)) return new PluginSourceMap(source);
      const text = typeof source === "string" && source.trimStart().startsWith("{") ? source : readFileSync(toPath(source), "utf8");
      return new PluginSourceMap(JSON.parse(text));
    } catch {
      return undefined;
    }
  }

  /**
   * Where the byte at `offset` of the module came from (a wasm map has one line: columns
   * are byte offsets). Optimized code leaves many instructions unmapped; then the nearest
   * mapped instruction before it in the same function body (`within`) stands in, and at the
   * body's entry (a stack overflow traps there) its first mapped instruction.
   */
  position(offset: number, within?: { start: number; end: number }): SourcePosition | undefined {
    if (within) return this.nearestBefore(offset, within, () => true) ?? this.nearestBefore(within.end - 1, within, () => true, true);
    const found = originalPositionFor(this.trace, { line: 1, column: offset });
    if (found.source !== null && found.line !== null && found.column !== null) return { file: found.source, line: found.line, column: found.column + 1 };
    return undefined;
  }

  /**
   * The nearest position before `offset` in the same function body that `accept`s its
   * file: in optimized code, the user's line a library function was inlined at.
   */
  nearestBefore(offset: number, within: { start: number; end: number }, accept: (file: string) => boolean, first = false): SourcePosition | undefined {
    const segments = decodedMappings(this.trace)[0] ?? [];
    // The last segment at or before `offset`, then back to one that carries a position.
    let low = 0;
    let high = segments.length - 1;
    let index = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (segments[mid]![0] <= offset) {
        index = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    let found: SourcePosition | undefined;
    for (let i = index; i >= 0 && segments[i]![0] >= within.start; i--) {
      const segment = segments[i]!;
      if (segment.length >= 4) {
        const file = this.trace.sources[segment[1]!];
        if (file != null && accept(file)) {
          found = { file, line: segment[2]! + 1, column: segment[3]! + 1 };
          if (!first) return found; // else keep going back to the body's first
        }
      }
    }
    return found;
  }

  functionName(index: number): string | undefined {
    return this.names.get(index);
  }
}

function toPath(source: string | URL): string {
  return source instanceof URL || source.startsWith("file:") ? fileURLToPath(source) : source;
}

/**
 * Where a module's map is when none was given: its sourceMappingURL resolved against the
 * module's folder, else `<module>.map`. Only for modules loaded from a file.
 */
export function findSourceMapBeside(modulePath: string | URL, bytes: Uint8Array): string | undefined {
  const path = toPath(modulePath);
  const url = sourceMappingUrl(bytes);
  const candidates = [url !== undefined && !/^[a-z]+:/i.test(url) ? resolve(dirname(path), url) : undefined, `${path}.map`];
  return candidates.find((c): c is string => c !== undefined && existsSync(c));
}

/**
 * For builds: moves the function names of the `name` section into the source map, so the
 * release module is what it would be without debug information, and reports still name
 * functions. Returns the stripped module and the map's new JSON text.
 */
export function splitFunctionNames(wasm: Uint8Array, mapText: string): { wasm: Uint8Array; map: string } {
  const names = readFunctionNames(wasm);
  const map = JSON.parse(mapText) as Record<string, unknown>;
  map[FUNCTION_NAMES_FIELD] = Object.fromEntries(names);
  return { wasm: withoutNameSection(wasm), map: JSON.stringify(map) };
}
