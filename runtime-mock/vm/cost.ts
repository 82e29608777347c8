// What a plugin costs (HostOptions.meterCost): the WebAssembly instructions each callback
// executed and the host calls it made, counted by an instrumented copy of the module
// (wasm/cost-meter.ts), so the figures are the same on every machine and can be asserted
// in CI ("my filter costs at most N instructions per request").

export interface CallbackCost {
  /** How many times the callback ran. */
  calls: number;
  /** WebAssembly instructions executed, in all those calls (allocator calls the host made meanwhile included). */
  instructions: number;
  /** Host functions called (proxy_* and WASI), in all those calls. */
  hostCalls: number;
}

export interface CostReport {
  instructions: number;
  hostCalls: number;
  /** By export name: `proxy_on_request_headers`, `proxy_on_log`, `malloc`, … */
  callbacks: Record<string, CallbackCost>;
}

export function emptyCost(): CostReport {
  return { instructions: 0, hostCalls: 0, callbacks: {} };
}

export function addCost(report: CostReport, callback: string, instructions: number, hostCalls: number): void {
  report.instructions += instructions;
  report.hostCalls += hostCalls;
  const entry = (report.callbacks[callback] ??= { calls: 0, instructions: 0, hostCalls: 0 });
  entry.calls++;
  entry.instructions += instructions;
  entry.hostCalls += hostCalls;
}

/**
 * The VM's costs: in all, and per live context. A context's report is handed to its stream
 * when the stream is created and dropped from here when the context is deleted, so a
 * metered host's memory stays flat over any number of streams.
 */
export class CostLedger {
  readonly total = emptyCost();
  private readonly byContext = new Map<number, CostReport>();

  /** The report of context `id` (created on first use). */
  of(id: number): CostReport {
    let report = this.byContext.get(id);
    if (!report) this.byContext.set(id, (report = emptyCost()));
    return report;
  }

  record(contextId: number, callback: string, instructions: number, hostCalls: number): void {
    addCost(this.total, callback, instructions, hostCalls);
    addCost(this.of(contextId), callback, instructions, hostCalls);
  }

  forget(contextId: number): void {
    this.byContext.delete(contextId);
  }
}
