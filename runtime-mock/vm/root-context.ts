// A plugin's root context (ABI.md §4.3, §8.1, §8.5): receives the start-up callbacks, ticks
// and callout results; holds the tick period, the sticky callout status and the data of the
// callout callback in progress.
import { invokeExport, wasCalled } from "../wasm/callbacks.js";
import { HostContext, type CalloutResponse, type ContextRoot } from "./context.js";
import { rootLogPrefix } from "../envoy/logs.js";
import type { PropertyContext } from "../envoy/properties.js";
import type { TimerHandle } from "../envoy/scheduler.js";

export class RootContext extends HostContext implements ContextRoot {
  readonly kind = "root";
  /** proxy_set_tick_period_milliseconds; 0 = no ticks. */
  tickPeriodMs = 0;
  /** Envoy's per-root dispatcher timer for ticks. */
  private tickTimer: TimerHandle | undefined;
  /** proxy_get_status: the last callout status; the code is sticky, Envoy clears only the message. */
  status: { code: number; message: string } = { code: 0, message: "" };
  calloutResponse: CalloutResponse | undefined;
  /** on_context_create has been delivered (on_delete is only sent then). */
  created = false;
  /** Returned false from proxy_on_done at shutdown: waiting for proxy_done. */
  pendingDone = false;
  deleted = false;

  get root(): RootContext {
    return this;
  }

  /** §8.1 step 4: on_context_create(root, 0), with the plugin configuration readable. */
  create(): void {
    this.pluginConfigurationInScope = true;
    try {
      this.vm.callback(() => this.vm.callbacks.contextCreate(this.id, 0));
    } finally {
      this.pluginConfigurationInScope = false;
    }
    this.created = true;
  }

  /** §8.1 step 5. A missing export counts as success; false if it answered 0 or trapped. */
  vmStart(): boolean {
    const outcome = this.vm.callback(() => this.vm.callbacks.vmStart(this.id, this.vm.settings.vmConfig.length));
    return outcome.kind === "missing" || (outcome.kind === "ok" && outcome.value !== 0);
  }

  /** §8.1 step 6, plugin configuration readable. cpp-host reports success without calling a failed VM. */
  configure(): boolean {
    if (this.vm.failed) return true;
    this.pluginConfigurationInScope = true;
    let outcome;
    try {
      outcome = this.vm.callbacks.configure(this.id, this.vm.settings.pluginConfig.length);
    } finally {
      this.pluginConfigurationInScope = false;
    }
    // The deferred actions run after temp_plugin_ is reset (DeferAfterCallActions is declared first).
    if (wasCalled(outcome)) this.vm.runDeferredActions();
    return outcome.kind === "missing" || (outcome.kind === "ok" && outcome.value !== 0);
  }

  /**
   * A host extension calls the plugin: proxy_on_foreign_function(root, functionId, size) with
   * the arguments as the root's CallData buffer. Only 0.2.x modules have the callback
   * (cpp-host does not look it up for 0.1.0). Returns whether the plugin was called.
   */
  foreignFunction(functionId: number, args: Uint8Array): boolean {
    if (this.vm.abiVersion === "0.1.0") return false;
    this.setCallData(args);
    const outcome = this.vm.callback(() => invokeExport(this.vm, this.id, "proxy_on_foreign_function", [this.id, functionId >>> 0, args.length]));
    return outcome.kind === "ok" || outcome.kind === "trapped";
  }

  /**
   * The posted work of a shared-queue notification: ContextBase::onQueueReady calls the export
   * only once on_context_create was delivered; a failed VM is never called.
   */
  queueReady(token: number): void {
    if (!this.created || this.deleted) return;
    this.vm.callback(() => invokeExport(this.vm, this.id, "proxy_on_queue_ready", [this.id, token]));
  }

  /** proxy_on_tick(root). */
  tick(): void {
    this.vm.callback(() => this.vm.callbacks.tick(this.id));
  }

  /**
   * Envoy `Wasm::setTimerPeriod`: the running timer is dropped; a period > 0 arms a new one
   * from now (so a repeated call restarts the period), 0 leaves none.
   */
  setTickPeriod(periodMs: number): void {
    this.tickPeriodMs = periodMs;
    if (this.tickTimer) this.vm.scheduler.cancel(this.tickTimer);
    this.tickTimer = periodMs > 0 ? this.vm.scheduler.schedule(periodMs, () => this.fireTick()) : undefined;
  }

  /**
   * Envoy `Wasm::tickHandler`: nothing (and no re-arming) without a proxy_on_tick export;
   * otherwise the tick, then the timer re-armed with the period as it is after the tick.
   */
  fireTick(): void {
    if (this.tickTimer) this.vm.scheduler.cancel(this.tickTimer);
    this.tickTimer = undefined;
    if (!this.vm.exportedFunction("proxy_on_tick") || this.deleted || this.vm.failed) return;
    this.tick();
    if (this.tickPeriodMs > 0 && !this.deleted) {
      if (this.tickTimer) this.vm.scheduler.cancel(this.tickTimer);
      this.tickTimer = this.vm.scheduler.schedule(this.tickPeriodMs, () => this.fireTick());
    }
  }

  /** §8.5: on_done; non-zero (or no export, or a failed VM) → on_delete now, else wait for proxy_done. */
  shutdown(): void {
    if (this.deleted || this.pendingDone) return;
    const outcome = this.vm.callback(() => this.vm.callbacks.done(this.id));
    if (outcome.kind === "ok" && outcome.value === 0) this.pendingDone = true;
    else this.finishShutdown();
  }

  /** on_delete (only if on_context_create was delivered and the VM is alive), then the context is gone. */
  finishShutdown(): void {
    if (this.deleted) return;
    this.deleted = true;
    this.pendingDone = false;
    if (this.created) this.vm.callback(() => this.vm.callbacks.delete(this.id));
    // Envoy ~Context (after on_delete): outstanding callouts are cancelled; the tick timer finds no context any more.
    if (this.tickTimer) this.vm.scheduler.cancel(this.tickTimer);
    this.tickTimer = undefined;
    this.vm.cancelCallouts(this);
    this.vm.unregisterContext(this);
  }

  logPrefix(): string {
    return rootLogPrefix(this.vm.settings.plugin);
  }

  propertyContext(): PropertyContext {
    return {
      kind: "root",
      plugin: this.vm.settings.plugin,
      overrides: this.vm.settings.properties,
      filterState: new Map(),
    };
  }
}
