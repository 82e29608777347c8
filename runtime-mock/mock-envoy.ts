// One mock Envoy process running several plugins, each in its own Wasm VM (as on separate
// worker threads, or with different code), sharing what Envoy shares between VMs: shared
// data and queues partitioned by vm_id, stats by name, foreign functions, and one
// dispatcher. Plugins with the same vm_id see the same shared data and queues; a plugin
// of another vm_id reaches a queue through proxy_resolve_shared_queue with that vm_id.
//
//   const envoy = new MockEnvoy();
//   const producer = await envoy.load("producer.wasm", { vmId: "metrics", rootId: "producer" });
//   const consumer = await envoy.load("consumer.wasm", { vmId: "metrics", rootId: "consumer" });
//   producer.start(); consumer.start();
//   envoy.sharedData.text("metrics", "key"); envoy.metrics.value("requests");
import { Host, type ModuleSource } from "./host.js";
import type { HostOptions } from "./vm/options.js";
import { ProxyProcess, type ProxyProcessOptions } from "./envoy/process.js";

export class MockEnvoy extends ProxyProcess {
  private readonly loaded: Host[] = [];

  constructor(options: ProxyProcessOptions = {}) {
    super(options);
  }

  /** Loads a plugin into a new VM of this process (`Host.load` checks and errors). All VMs run on the process's clock. */
  async load(source: ModuleSource, options: HostOptions = {}): Promise<Host> {
    if ((options.clock !== undefined && options.clock !== this.clock) || options.startTime !== undefined) {
      throw new Error("every plugin of a MockEnvoy runs on its clock: pass clock or startTime to new MockEnvoy({ ... }), not to load()");
    }
    const host = await Host.load(source, { ...options, clock: this.clock }, this);
    this.loaded.push(host);
    return host;
  }

  /** The plugins loaded so far, in load order. */
  get hosts(): readonly Host[] {
    return this.loaded;
  }

  /** §8.5 for every plugin, in load order. */
  shutdown(): void {
    for (const host of this.loaded) host.shutdown();
  }
}
