// Leak checks: how much a plugin's linear memory grows while it handles many streams.
// Linear memory never shrinks, so growth after a warm-up (allocator pools, collector
// thresholds and caches reach their steady size in the first streams) means memory that
// streams keep: a leak. Used by tests; `npm run bench` measures the same at scale.
import { PluginTrapError } from "./wasm/diagnostics/trap-error.js";
import type { Host } from "./host.js";
import { checkCounts, DEFAULT_WARMUP_STREAMS } from "./warmup.js";

export interface MemoryGrowth {
  /** Streams run before `before` was taken. */
  warmupStreams: number;
  /** Streams measured. */
  streams: number;
  /** Linear memory (bytes) after the warm-up. */
  before: number;
  /** Linear memory (bytes) after the measured streams. */
  after: number;
  /** after − before: 0 for a plugin that keeps nothing per stream. */
  grewBytes: number;
}

export interface MemoryGrowthOptions {
  /**
   * Streams run before measuring; default 2,048, which covers the SDK collector's period
   * (warmup.ts). Fewer can report the heap's first peak as a leak.
   */
  warmup?: number;
}

/**
 * Runs `scenario` (one stream, start to end) `warmup` times, then `streams` times, and
 * reports the memory growth over the measured part. Throws if the VM fails meanwhile: a
 * failed VM is never called again, so its memory would look flat.
 */
export function measureMemoryGrowth(
  host: Host,
  streams: number,
  scenario: (host: Host, index: number) => void,
  options: MemoryGrowthOptions = {},
): MemoryGrowth {
  const warmupStreams = options.warmup ?? DEFAULT_WARMUP_STREAMS;
  checkCounts({ streams, warmup: warmupStreams });
  const run = (from: number, count: number) => {
    for (let i = from; i < from + count; i++) {
      try {
        scenario(host, i);
      } catch (error) {
        if (!(error instanceof PluginTrapError)) throw error;
      }
      if (host.failure) throw new Error(`the VM failed during stream ${i}, so its memory says nothing: ${host.failure.message}\n${host.failure.report}`);
    }
  };
  if (host.failure) throw new Error(`the VM has already failed: ${host.failure.message}`);
  run(0, warmupStreams);
  const before = host.memoryBytes;
  run(warmupStreams, streams);
  const after = host.memoryBytes;
  return { warmupStreams, streams, before, after, grewBytes: after - before };
}
