// What one Envoy process shares between its Wasm VMs (ABI.md §5.10–§5.12, §5.14, §8.1 step 7):
// the shared-data store and the shared-queue registry (partitioned by vm_id, cleared when
// the last VM of a vm_id goes away), the stats (by name), the foreign functions, and the
// worker's dispatcher that runs posted work (queue notifications) and timers. Every VM
// belongs to one; `Host.load` gives a VM a private one, `MockEnvoy` shares one between the
// plugins it loads.
import { ForeignFunctionRegistry, type ForeignFunction } from "./foreign-functions.js";
import { StatsStore } from "./metrics.js";
import { Scheduler, VirtualClock, type Clock } from "./scheduler.js";
import { SharedDataStore } from "./shared-data.js";
import { SharedQueueRegistry } from "./shared-queues.js";

/** The part of a VM the process tracks: its vm_id, for the lifetime of shared data and queues. */
export interface VmIdHolder {
  readonly settings: { readonly plugin: { readonly vmId: string } };
}

export interface ProxyProcessOptions {
  /**
   * The clock every VM of the process runs on (and the dispatcher's timers). Default: a
   * VirtualClock that moves only with `advanceTime`, as for a Host of its own.
   */
  clock?: Clock;
  /** Where the default virtual clock starts: a Date or ns since the Unix epoch. Default: now. */
  startTime?: Date | bigint;
}

export class ProxyProcess {
  readonly clock: Clock;
  /** The worker's dispatcher (Envoy's event loop): posted work and timers of every VM of the process. */
  readonly scheduler: Scheduler;
  readonly sharedData = new SharedDataStore();
  readonly sharedQueues = new SharedQueueRegistry();
  /** Plugin-defined stats by name ("wasmcustom.<name>"), shared by VMs that define the same name. */
  readonly metrics = new StatsStore();
  /** Envoy's built-ins (compress, uncompress, clear_route_cache) plus what tests register. */
  readonly foreignFunctions = ForeignFunctionRegistry.envoyDefaults();
  private readonly vmsById = new Map<string, Set<VmIdHolder>>();

  constructor(options: ProxyProcessOptions = {}) {
    const start = options.startTime instanceof Date ? BigInt(options.startTime.getTime()) * 1_000_000n : options.startTime;
    this.clock = options.clock ?? new VirtualClock(start);
    this.scheduler = new Scheduler(this.clock);
  }

  /** Adds (or replaces) a function plugins reach with proxy_call_foreign_function, in every VM of the process. */
  registerForeignFunction(name: string, fn: ForeignFunction): void {
    this.foreignFunctions.register(name, fn);
  }

  /** Runs the posted work (queue notifications…) of every VM until none is left. */
  runPosted(): void {
    this.scheduler.runPosted();
  }

  /** Moves the process's virtual clock: every VM's ticks and callout timeouts fire in time order. */
  advanceTime(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advanceTime needs a non-negative number of milliseconds, got ${ms}`);
    this.scheduler.advance(ms);
  }

  /** @internal A VM got its first root context (cpp-host takes a VmIdHandle). */
  attachVm(vm: VmIdHolder): void {
    const vmId = vm.settings.plugin.vmId;
    let holders = this.vmsById.get(vmId);
    if (!holders) this.vmsById.set(vmId, (holders = new Set()));
    holders.add(vm);
  }

  /** @internal A VM lost its last root context: the last one of its vm_id takes the shared data and queues with it. */
  detachVm(vm: VmIdHolder): void {
    const vmId = vm.settings.plugin.vmId;
    const holders = this.vmsById.get(vmId);
    if (!holders?.delete(vm) || holders.size > 0) return;
    this.vmsById.delete(vmId);
    this.sharedData.deleteVmId(vmId);
    this.sharedQueues.deleteVmId(vmId);
  }

  /** vm_ids with a live VM. */
  get liveVmIds(): string[] {
    return [...this.vmsById.keys()];
  }
}
