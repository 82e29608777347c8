// How many streams the checks run before they measure (measureCost, measureMemoryGrowth).
// The SDK's collector runs once the heap has grown by 32 KiB (or by half its live size,
// when larger) since the last collection, and every stream allocates at least its context
// object (28 bytes counted with its header), so while the live heap is under 64 KiB,
// 1,171 streams always include one. 2,048 reach the heap's steady peak and the
// allocator's steady state (blocks come back from the collector's free lists, not from
// TLSF); other SDKs' modules settle sooner. A plugin with a larger live heap (a big
// cache) needs a longer warm-up: pass `warmup`.
export const DEFAULT_WARMUP_STREAMS = 2048;

/** Throws a RangeError unless every count is a non-negative integer. */
export function checkCounts(counts: Record<string, number>): void {
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}
