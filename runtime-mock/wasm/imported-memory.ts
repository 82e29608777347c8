// The limits of an imported memory or table, which the host must create before
// instantiation (ABI.md §1.3: V8 accepts them). Only the import section is read.

export type ImportedObjectDescriptor =
  | { module: string; name: string; kind: "memory"; descriptor: WebAssembly.MemoryDescriptor }
  | { module: string; name: string; kind: "table"; descriptor: WebAssembly.TableDescriptor };

const utf8 = new TextDecoder("utf-8");

/** Imported memories and tables with their declared limits; [] for modules that import none (or that cannot be read). */
export function importedObjects(bytes: Uint8Array): ImportedObjectDescriptor[] {
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = bytes[pos++];
      if (b === undefined) throw new RangeError("truncated");
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new RangeError("bad LEB128");
  };
  const name = (): string => {
    const len = u32();
    const text = utf8.decode(bytes.subarray(pos, pos + len));
    pos += len;
    return text;
  };
  const limits = (): { initial: number; maximum?: number; shared: boolean } => {
    const flags = bytes[pos++]!;
    const initial = u32();
    const maximum = flags & 1 ? u32() : undefined;
    return maximum === undefined ? { initial, shared: (flags & 2) !== 0 } : { initial, maximum, shared: (flags & 2) !== 0 };
  };
  const found: ImportedObjectDescriptor[] = [];
  try {
    while (pos < bytes.length) {
      const id = bytes[pos++]!;
      const size = u32();
      const end = pos + size;
      if (id !== 2) {
        pos = end;
        continue;
      }
      for (let n = u32(); n > 0; n--) {
        const module = name();
        const field = name();
        const kind = bytes[pos++]!;
        if (kind === 0) u32(); // function: type index
        else if (kind === 1) {
          const element = bytes[pos++] === 0x6f ? "externref" : "anyfunc";
          const { initial, maximum } = limits();
          const descriptor: WebAssembly.TableDescriptor = { element, initial };
          if (maximum !== undefined) descriptor.maximum = maximum;
          found.push({ module, name: field, kind: "table", descriptor });
        } else if (kind === 2) {
          const { initial, maximum, shared } = limits();
          const descriptor: WebAssembly.MemoryDescriptor = { initial };
          if (maximum !== undefined) descriptor.maximum = maximum;
          if (shared) descriptor.shared = true;
          found.push({ module, name: field, kind: "memory", descriptor });
        } else if (kind === 3) pos += 2; // global: value type + mutability
        else if (kind === 4) {
          pos++; // tag attribute
          u32();
        }
      }
      break;
    }
  } catch {
    return found;
  }
  return found;
}
