// V8's rendering of WebAssembly frames in `error.stack`:
//   at assembly/index/Gate#onRequestHeaders (wasm://wasm/000142ea:wasm-function[113]:0x25b2)
//   at wasm://wasm/ebd783d6:wasm-function[113]:0x25cd            (no name section)
// The offset is the byte's position in the module, which is what source maps index.

export interface WasmFrame {
  functionIndex: number;
  offset: number;
  /** From the module's name section, when it has one. */
  name?: string;
}

const FRAME = /^\s*at (?:(.+?) \()?wasm:\/\/wasm\/[^:\s]*:wasm-function\[(\d+)\]:0x([0-9a-f]+)\)?\s*$/;

export function wasmFrames(error: unknown): WasmFrame[] {
  const stack = error instanceof Error ? error.stack : undefined;
  if (typeof stack !== "string") return [];
  const frames: WasmFrame[] = [];
  for (const line of stack.split("\n")) {
    const match = FRAME.exec(line);
    if (!match) continue;
    const frame: WasmFrame = { functionIndex: Number(match[2]), offset: parseInt(match[3]!, 16) };
    if (match[1] !== undefined) frame.name = match[1];
    frames.push(frame);
  }
  return frames;
}

/** How many frames V8 records while a plugin runs: the plugin's own frames must not be cut off by host frames above them. */
export const PLUGIN_STACK_TRACE_LIMIT = 64;
