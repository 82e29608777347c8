// Envoy's per-worker dispatcher, for the mock host: work posted to run "soon" (queue
// notifications, deferred deliveries) and timers (ticks, callout timeouts) on a virtual
// clock that a test advances. Nothing runs re-entrantly inside a plugin call: posted
// work runs when the host's current API call has finished its plugin calls.

export interface Clock {
  /** Wall clock, ns since the Unix epoch (proxy_get_current_time_nanoseconds, WASI clock 0). */
  realtimeNs(): bigint;
  /** Monotonic clock, ns (WASI clock 1). */
  monotonicNs(): bigint;
}

const originNs = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n;

/** Real time: wall clock (sub-millisecond through the monotonic clock) and process.hrtime. */
export const systemClock: Clock = {
  realtimeNs: () => originNs + BigInt(Math.round(performance.now() * 1e6)),
  monotonicNs: () => process.hrtime.bigint(),
};


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
   * Fires the timers that are due by the clock as it stands (a real clock moves by
   * itself), in time order, with posted work run after each; a dev proxy calls this from
   * its event loop. Returns how many fired.
   */
  runDue(): number {
    let fired = 0;
    this.runPosted();
    for (let next = this.nextDue(this.clock.monotonicNs()); next; next = this.nextDue(this.clock.monotonicNs())) {
      this.fire(next);
      fired++;
    }
    return fired;
  }

  /**
   * Moves virtual time forward by `ms`, firing due timers in time order (ties in the
   * order they were scheduled) with posted work run after each. Needs a VirtualClock.
   */
  advance(ms: number): void {
    if (!this.clock.advanceNs) throw new Error("advance() needs the host's virtual clock (the host was given a real clock)");
    const targetNs = this.clock.monotonicNs() + BigInt(Math.round(ms * 1e6));
    this.runPosted();
    for (let next = this.nextDue(targetNs); next; next = this.nextDue(targetNs)) {
      this.clock.advanceNs(next.dueNs - this.clock.monotonicNs());
      this.fire(next);
    }
    this.clock.advanceNs(targetNs - this.clock.monotonicNs());
  }

  /** The earliest live timer due by `byNs` (ties: the one scheduled first). */
  private nextDue(byNs: bigint): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.dueNs > byNs) continue;
      if (!best || t.dueNs < best.dueNs || (t.dueNs === best.dueNs && t.sequence < best.sequence)) best = t;
    }
    return best;
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    timer.task();
    this.runPosted();
  }
}
