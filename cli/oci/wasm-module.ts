// Just enough WebAssembly binary reading for packaging: the magic number and the export
// names (to record the proxy-wasm ABI version in runtime-config.json). The full module
// checks live with `pwas verify`.

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** istio-agent's isValidWasmBinary: at least 8 bytes and the \0asm magic. */
export const isValidWasmBinary = (b: Uint8Array): boolean => b.length >= 8 && MAGIC.every((m, i) => b[i] === m);

export const hasWasmMagic = (b: Uint8Array): boolean => b.length >= 4 && MAGIC.every((m, i) => b[i] === m);

function readU32(b: Uint8Array, pos: { at: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos.at >= b.length) throw new Error("truncated LEB128");
    const byte = b[pos.at++]!;
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7;
    if (shift > 35) throw new Error("LEB128 too long");
  }
}

/** Export names, or undefined when the binary cannot be read (the caller reports it). */
export function wasmExportNames(b: Uint8Array): string[] | undefined {
  if (!isValidWasmBinary(b)) return undefined;
  try {
    const pos = { at: 8 };
    while (pos.at < b.length) {
      const id = b[pos.at++]!;
      const size = readU32(b, pos);
      const end = pos.at + size;
      if (end > b.length) return undefined;
      if (id === 7) {
        const names: string[] = [];
        const count = readU32(b, pos);
        for (let i = 0; i < count; i++) {
          const len = readU32(b, pos);
          names.push(Buffer.from(b.subarray(pos.at, pos.at + len)).toString("utf8"));
          pos.at += len;
          pos.at += 1; // kind
          readU32(b, pos); // index
        }
        return names;
      }
      pos.at = end;
    }
    return [];
  } catch {
    return undefined;
  }
}

/** The proxy-wasm ABI markers a module exports, e.g. ["proxy_abi_version_0_2_1"]. */
export const proxyAbiVersions = (b: Uint8Array): string[] => (wasmExportNames(b) ?? []).filter((n) => n.startsWith("proxy_abi_version_")).sort();
