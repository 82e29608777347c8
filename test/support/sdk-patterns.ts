// Loads the WebAssembly-text modules in test/fixtures/sdk-patterns/, which imitate what the
// Rust, Go (TinyGo) and C++ SDKs compile to: their imports, exports, allocators, start-up
// functions, and the statuses their host-call wrappers accept (anything else traps, as a
// Rust `panic!("unexpected status")` does). Two small conveniences over plain WAT:
//   (str "text")            → (i32.const ptr) (i32.const len), the bytes placed in a data
//                             segment at STRINGS_AT (WAT escapes \n \t \" \\ \hh work)
//   (;@variant ... ;)       → a block comment kept only when building that variant, e.g.
//                             (;@wasi (export "proxy_on_memory_allocate") ;)
// Memory layout shared by the fixtures: 0–1023 out-params and scratch, 1024–4095 the
// line buffer for log messages, 4096–8191 a context table, STRINGS_AT–32767 strings,
// 32768–65535 state, 65536 and up the heap.
import { readFileSync } from "node:fs";
import { compileWat } from "./plugin.js";

export const STRINGS_AT = 8192;
const STRINGS_END = 32768;

/** The module `test/fixtures/sdk-patterns/<name>.wat`, built for `variant` (if it has variants). */
export function sdkPattern(name: string, variant?: string): Uint8Array<ArrayBuffer> {
  const source = readFileSync(new URL(`../fixtures/sdk-patterns/${name}.wat`, import.meta.url), "utf8");
  return compileWat(expand(selectVariant(source, variant)));
}

function selectVariant(source: string, variant: string | undefined): string {
  return source.replace(/\(;@([\w-]+)\s([\s\S]*?);\)/g, (_all, tag: string, body: string) => (tag === variant ? body : ""));
}

function expand(source: string): string {
  const bytes: number[] = [];
  const placed = new Map<string, string>();
  const withStrings = source.replace(/\(str "((?:[^"\\]|\\.)*)"\)/g, (_all, literal: string) => {
    const known = placed.get(literal);
    if (known) return known;
    const data = decodeWatString(literal);
    const ptr = STRINGS_AT + bytes.length;
    bytes.push(...data, 0); // a NUL between strings, as C string tables have
    if (STRINGS_AT + bytes.length > STRINGS_END) throw new RangeError("sdk-pattern strings overflow their region");
    const operands = `(i32.const ${ptr}) (i32.const ${data.length})`;
    placed.set(literal, operands);
    return operands;
  });
  if (bytes.length === 0) return withStrings;
  const segment = `(data (i32.const ${STRINGS_AT}) "${bytes.map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("")}")`;
  const end = withStrings.lastIndexOf(")");
  return `${withStrings.slice(0, end)}\n  ${segment}\n)`;
}

/** The bytes of a WAT string literal's contents. */
function decodeWatString(literal: string): number[] {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < literal.length; i++) {
    const c = literal[i]!;
    if (c !== "\\") {
      out.push(...encoder.encode(c));
      continue;
    }
    const next = literal[++i]!;
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, '"': 34, "'": 39, "\\": 92 };
    if (next in simple) out.push(simple[next]!);
    else {
      out.push(parseInt(literal.slice(i, i + 2), 16));
      i++;
    }
  }
  return out;
}
