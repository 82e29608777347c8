// Calling the plugin's exports (ABI.md §2, §3.3, §4): each host→plugin call makes its
// context current with no effective context (cpp-host SaveRestoreContext), any exception
// out of the instance is a VM failure (recorded once; the VM is never called again), and
// return values are converted the way cpp-host + Envoy convert them.
import { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, type AbiVersion } from "./types.js";

/** What the call machinery needs from the VM. */
export interface CallTarget {
  readonly failed: boolean;
  readonly abiVersion: AbiVersion | undefined;
  exportedFunction(name: string): ((...args: number[]) => unknown) | undefined;
  /** Makes `contextId` current with no effective context; returns the restore function. */
  enterCall(contextId: number, callback?: string): void;
  leaveCall(): void;
  /** Records a trap (or any exception) as the VM's failure. */
  recordFailure(functionName: string, error: unknown): void;
  /** Reads and clears the "a local reply was requested" flag (cpp-host `stopNextIteration`). */
  takeStopIteration(): boolean;
  /** HostOptions.maxMemoryBytes after a call returned: false (and the VM failed) when memory grew past it. */
  checkMemoryLimit(functionName: string): boolean;
}

/**
 * ok: returned; trapped: failed during this call; missing: not exported; vmFailed: not
 * called because the VM had already failed. Only "ok" and "trapped" were real calls, after
 * which cpp-host runs the deferred actions (DeferAfterCallActions).
 */
export type CallOutcome =
  | { kind: "ok"; value: number; stopIteration: boolean }
  | { kind: "trapped" }
  | { kind: "missing" }
  | { kind: "vmFailed" };

export const wasCalled = (outcome: CallOutcome): boolean => outcome.kind === "ok" || outcome.kind === "trapped";

// The outcomes that carry no value are shared: one is made per plugin call otherwise.
const TRAPPED: CallOutcome = Object.freeze({ kind: "trapped" });
const MISSING: CallOutcome = Object.freeze({ kind: "missing" });
const VM_FAILED: CallOutcome = Object.freeze({ kind: "vmFailed" });

/** Calls an export on behalf of a context; never throws. */
export function invokeExport(target: CallTarget, contextId: number, name: string, args: number[]): CallOutcome {
  if (target.failed) return VM_FAILED;
  const fn = target.exportedFunction(name);
  if (!fn) return MISSING;
  target.enterCall(contextId, name);
  try {
    const result = fn(...args);
    const stopIteration = target.takeStopIteration();
    // Memory past the configured limit fails the VM as a trap in this call would.
    if (!target.checkMemoryLimit(name)) return TRAPPED;
    return { kind: "ok", value: typeof result === "number" ? result >>> 0 : 0, stopIteration };
  } catch (error) {
    target.takeStopIteration();
    target.recordFailure(name, error);
    return TRAPPED;
  } finally {
    target.leaveCall();
  }
}

/** The callbacks the host makes, with each version's argument shapes. */
export class PluginCallbacks {
  constructor(private readonly target: CallTarget) {}

  has(name: string): boolean {
    return this.target.exportedFunction(name) !== undefined;
  }

  private call(contextId: number, name: string, ...args: number[]): CallOutcome {
    return invokeExport(this.target, contextId, name, args);
  }

  contextCreate(contextId: number, parentId: number): CallOutcome {
    return this.call(contextId, "proxy_on_context_create", contextId, parentId);
  }
  vmStart(rootId: number, vmConfigurationSize: number): CallOutcome {
    return this.call(rootId, "proxy_on_vm_start", rootId, vmConfigurationSize);
  }
  configure(rootId: number, pluginConfigurationSize: number): CallOutcome {
    return this.call(rootId, "proxy_on_configure", rootId, pluginConfigurationSize);
  }
  tick(rootId: number): CallOutcome {
    return this.call(rootId, "proxy_on_tick", rootId);
  }
  done(contextId: number): CallOutcome {
    return this.call(contextId, "proxy_on_done", contextId);
  }
  log(contextId: number): CallOutcome {
    return this.call(contextId, "proxy_on_log", contextId);
  }
  delete(contextId: number): CallOutcome {
    return this.call(contextId, "proxy_on_delete", contextId);
  }

  /** 0.1.0 passes no end_of_stream to the header callbacks. */
  headers(side: "request" | "response", contextId: number, count: number, endOfStream: boolean): CallOutcome {
    const name = side === "request" ? "proxy_on_request_headers" : "proxy_on_response_headers";
    return this.target.abiVersion === "0.1.0"
      ? this.call(contextId, name, contextId, count)
      : this.call(contextId, name, contextId, count, endOfStream ? 1 : 0);
  }
  body(side: "request" | "response", contextId: number, size: number, endOfStream: boolean): CallOutcome {
    const name = side === "request" ? "proxy_on_request_body" : "proxy_on_response_body";
    return this.call(contextId, name, contextId, size, endOfStream ? 1 : 0);
  }
  trailers(side: "request" | "response", contextId: number, count: number): CallOutcome {
    const name = side === "request" ? "proxy_on_request_trailers" : "proxy_on_response_trailers";
    return this.call(contextId, name, contextId, count);
  }
}

/**
 * A headers callback's result as Envoy's filter manager gets it: cpp-host forces
 * StopAllIterationAndWatermark after a local reply and above 4, turns 1 (pause) into it
 * unless allow_on_headers_stop_iteration; Envoy then maps ContinueAndEndStream (2) to Continue.
 */
export function headersStatus(raw: number, stopIteration: boolean, allowStopIteration: boolean): FilterHeadersStatus {
  if (stopIteration || raw > FilterHeadersStatus.StopAllIterationAndWatermark) return FilterHeadersStatus.StopAllIterationAndWatermark;
  if (raw === FilterHeadersStatus.StopIteration) {
    return allowStopIteration ? FilterHeadersStatus.StopIteration : FilterHeadersStatus.StopAllIterationAndWatermark;
  }
  if (raw === FilterHeadersStatus.ContinueAndEndStream) return FilterHeadersStatus.Continue;
  return raw as FilterHeadersStatus;
}

/** Body callbacks: above 3 or after a local reply → StopIterationNoBuffer. */
export function dataStatus(raw: number, stopIteration: boolean): FilterDataStatus {
  if (stopIteration || raw > FilterDataStatus.StopIterationNoBuffer) return FilterDataStatus.StopIterationNoBuffer;
  return raw as FilterDataStatus;
}

/** Trailers callbacks: anything but 0, or a local reply → StopIteration. */
export function trailersStatus(raw: number, stopIteration: boolean): FilterTrailersStatus {
  return stopIteration || raw !== 0 ? FilterTrailersStatus.StopIteration : FilterTrailersStatus.Continue;
}

/** A trap or exception as V8 reports it in cpp-host's failure message. */
export function describeFailure(functionName: string, error: unknown): string {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `Function: ${functionName} failed: Uncaught ${what}`;
}
