// The one fact about a wasm start section that runtime-mock/wasm/module.ts does not keep:
// which function it runs. If that function is a host import, the module calls the host
// during instantiation, before any context exists, which Envoy refuses (ABI.md §4.1).

/** The start section's function index, or undefined when there is none or the frames are damaged. */
export function startFunctionIndex(bytes: Uint8Array): number | undefined {
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= bytes.length) throw new RangeError("end of data");
      const b = bytes[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new RangeError("varuint32 too long");
  };
  try {
    while (pos < bytes.length) {
      const id = bytes[pos++]!;
      const size = u32();
      const end = pos + size;
      if (id === 8) return u32();
      pos = end;
    }
  } catch {
    // inspectModule reports damaged framing with Envoy's message; nothing to add here.
  }
  return undefined;
}
