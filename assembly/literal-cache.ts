// Strings a plugin writes as literals (":path", "response.code") live in the data segment,
// below __heap_base: immutable and never freed, so bytes made from one can be kept and
// found again by its address. Any other string is encoded each time, as its address may
// be reused once the collector frees it. A few entries, replaced in turn: a filter reads
// a handful of names per request.

const SLOTS = 8;

export class LiteralCache {
  private readonly at: StaticArray<usize> = new StaticArray<usize>(SLOTS);
  private readonly bytes: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(SLOTS);
  private next: i32 = 0;

  /** The bytes kept for literal `text`, or null (not a literal, or not kept yet). */
  find(text: string): ArrayBuffer | null {
    const at = changetype<usize>(text);
    if (at >= __heap_base) return null;
    for (let i = 0; i < SLOTS; i++) {
      if (unchecked(this.at[i]) == at) return unchecked(this.bytes[i]);
    }
    return null;
  }

  /** Keeps `bytes` for `text` when it is a literal; returns `bytes`. */
  keep(text: string, bytes: ArrayBuffer): ArrayBuffer {
    const at = changetype<usize>(text);
    if (at >= __heap_base) return bytes;
    const slot = this.next;
    this.next = (slot + 1) % SLOTS;
    unchecked((this.at[slot] = at));
    unchecked((this.bytes[slot] = bytes));
    return bytes;
  }
}
