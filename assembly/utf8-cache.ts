// The UTF-8 of the strings a filter passes again and again: header names written as
// literals (":path", "authorization"), a cluster name from the configuration; or other bytes
// made from such a string (a cluster's GrpcService message). A string is immutable, and the
// cache holds a reference to each one it keeps, so the collector cannot free it and hand
// its address to another string: the address identifies the text. A few entries, replaced
// in turn: a filter names a handful of these per request. A string made per request just
// takes a slot for a while.

const SLOTS = 8;

export class Utf8Cache {
  private readonly texts: StaticArray<string | null> = new StaticArray<string | null>(SLOTS);
  private readonly bytes: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(SLOTS);
  private next: i32 = 0;

  /** The bytes kept for this very string (not an equal one), or null. */
  find(text: string): ArrayBuffer | null {
    // Raw loads: the size-optimized build does not inline StaticArray's accessors, and this
    // runs for every header named by a string.
    const at = changetype<usize>(text);
    const texts = changetype<usize>(this.texts);
    for (let i: usize = 0; i < <usize>SLOTS; i++) {
      if (load<usize>(texts + (i << alignof<usize>())) == at) return changetype<ArrayBuffer | null>(load<usize>(changetype<usize>(this.bytes) + (i << alignof<usize>())));
    }
    return null;
  }

  /** Keeps `bytes` for `text`, in the oldest slot; returns `bytes`. */
  keep(text: string, bytes: ArrayBuffer): ArrayBuffer {
    const slot = this.next;
    this.next = (slot + 1) % SLOTS;
    unchecked((this.texts[slot] = text));
    unchecked((this.bytes[slot] = bytes));
    return bytes;
  }
}

const cache = new Utf8Cache();

/** The UTF-8 of `text`, encoded once while it is among the last few strings asked for. */
export function utf8Bytes(text: string): ArrayBuffer {
  const known = cache.find(text);
  return known !== null ? known : cache.keep(text, String.UTF8.encode(text, false));
}
