// Envoy's per-worker dispatcher, for the mock host: work posted to run "soon" (queue
// notifications, deferred deliveries) and timers (ticks, callout timeouts) on a virtual
// clock that a test advances. Nothing runs re-entrantly inside a plugin call: posted
// work runs when the host's current API call has finished its plugin calls.
import type { Clock } from "./options.js";

const NS_PER_MS = 1_000_000n;

/** A clock that stands still until the test moves it (`advance`). */
export class VirtualClock implements Clock {
  private wallNs: bigint;
  private monoNs = 0n;

  constructor(startWallNs: bigint = BigInt(Date.now()) * NS_PER_MS) {
    this.wallNs = startWallNs;
  }

  realtimeNs(): bigint {
    return this.wallNs;
  }

  monotonicNs(): bigint {
    return this.monoNs;
  }

  /** Moves both clocks forward. */
  advanceNs(ns: bigint): void {
    if (ns < 0n) throw new RangeError("time cannot go backwards");
    this.wallNs += ns;
    this.monoNs += ns;
  }
}

export interface TimerHandle {
  readonly dueNs: bigint;
  cancelled: boolean;
}

interface Timer extends TimerHandle {
  readonly sequence: number;
  readonly task: () => void;
}

export class Scheduler {
  private readonly posted: (() => void)[] = [];
  private timers: Timer[] = [];
  private sequence = 0;
  private running = false;

  constructor(readonly clock: Clock & { advanceNs?(ns: bigint): void }) {}

  /** Runs `task` on the next dispatcher iteration, after what was posted before it. */
  post(task: () => void): void {
    this.posted.push(task);
  }

  /** Runs `task` once the monotonic clock reaches now + `delayMs`. */
  schedule(delayMs: number, task: () => void): TimerHandle {
    const timer: Timer = { dueNs: this.clock.monotonicNs() + BigInt(Math.round(delayMs * 1e6)), cancelled: false, sequence: this.sequence++, task };
    this.timers.push(timer);
    return timer;
  }

  cancel(handle: TimerHandle): void {
    handle.cancelled = true;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  /** Work waiting to run: posted tasks, and timers not yet due. */
  get pendingPosted(): number {
    return this.posted.length;
  }

  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Runs posted work until none is left (tasks may post more). Safe to call re-entrantly: nested calls return at once. */
  runPosted(): void {
    if (this.running) return;
    this.running = true;
    try {
      for (let task = this.posted.shift(); task; task = this.posted.shift()) task();
    } finally {
      this.running = false;
    }
  }

  /**
   * Moves virtual time forward by `ms`, firing due timers in time order (ties in the
   * order they were scheduled) with posted work run after each. Needs a VirtualClock.
   */
  advance(ms: number): void {
    if (!this.clock.advanceNs) throw new Error("advance() needs the host's virtual clock (the host was given a real clock)");
    const targetNs = this.clock.monotonicNs() + BigInt(Math.round(ms * 1e6));
    this.runPosted();
    for (;;) {
      const next = this.timers.filter((t) => !t.cancelled && t.dueNs <= targetNs).sort((a, b) => (a.dueNs === b.dueNs ? a.sequence - b.sequence : a.dueNs < b.dueNs ? -1 : 1))[0];
      if (!next) break;
      this.clock.advanceNs(next.dueNs - this.clock.monotonicNs());
      this.timers = this.timers.filter((t) => t !== next);
      next.task();
      this.runPosted();
    }
    this.clock.advanceNs(targetNs - this.clock.monotonicNs());
  }
}
