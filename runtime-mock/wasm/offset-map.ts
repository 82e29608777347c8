// Where a rewritten module's byte offsets were in the module it was made from. Frames in a
// trap's stack carry offsets into the module V8 compiled; source maps and function layouts
// index the original. Each rewrite (the memory maximum, the cost meter) records how far it
// moved the code from each point on; reading back applies them newest first.

export class OffsetMap {
  /** Ascending offsets in the rewritten module, each with how far it lies after its original. */
  private readonly starts: number[] = [];
  private readonly deltas: number[] = [];

  /** From `rewrittenOffset` on (until the next point), the original is `delta` bytes earlier. */
  add(rewrittenOffset: number, delta: number): void {
    this.starts.push(rewrittenOffset);
    this.deltas.push(delta);
  }

  toOriginal(offset: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (this.starts[mid]! <= offset) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found < 0 ? offset : offset - this.deltas[found]!;
  }
}

/** Reads an offset back through rewrites applied in order (`maps[0]` first). */
export function originalOffset(offset: number, maps: readonly OffsetMap[] | undefined): number {
  if (!maps) return offset;
  for (let i = maps.length - 1; i >= 0; i--) offset = maps[i]!.toOriginal(offset);
  return offset;
}
