// Cost checks for CI: the mean cost of a stream (or any scenario) over many runs, after a
// warm-up, so a regression fails a test with a figure that does not depend on the machine.
// A mean, because the SDK's collector runs every so many streams: one stream pays for the
// last few hundred.
import type { Host } from "./host.js";
import { checkCounts, DEFAULT_WARMUP_STREAMS } from "./warmup.js";

export interface CostPerRun {
  /** Mean WebAssembly instructions a run. */
  instructions: number;
  /** Mean host calls a run. */
  hostCalls: number;
  /** The most instructions one run took. */
  maxInstructions: number;
}

/**
 * Runs `scenario` `warmup` times (default 2,048: see warmup.ts), then `runs` times, and
 * reports its cost per run. Needs a host loaded with `meterCost: true`.
 */
export function measureCost(host: Host, runs: number, scenario: (host: Host, index: number) => void, options: { warmup?: number } = {}): CostPerRun {
  const warmup = options.warmup ?? DEFAULT_WARMUP_STREAMS;
  checkCounts({ runs, warmup });
  if (!host.metered) throw new Error("measureCost needs a host loaded with { meterCost: true }");
  for (let i = 0; i < warmup; i++) scenario(host, i);
  const start = { ...host.cost };
  let maxInstructions = 0;
  for (let i = 0; i < runs; i++) {
    const before = host.cost.instructions;
    scenario(host, warmup + i);
    maxInstructions = Math.max(maxInstructions, host.cost.instructions - before);
  }
  const per = (n: number) => (runs === 0 ? 0 : n / runs);
  return { instructions: per(host.cost.instructions - start.instructions), hostCalls: per(host.cost.hostCalls - start.hostCalls), maxInstructions };
}
