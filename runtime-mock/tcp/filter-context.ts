// Envoy's Wasm network-filter context (E-CTX `Context` for a connection): the pointers it
// keeps to the data in flight, which decide what buffers 2 and 3 reach (ABI.md §3.4), and
// stream control for DOWNSTREAM/UPSTREAM (§5.7). A pointer is set when a data callback
// receives the bytes and dropped when it answers Continue. After StopIteration it stays:
// the bytes wait in Envoy's buffer (the connection's read buffer, or the upstream's), so
// a later callback of this context (a tick or callout with set_effective_context) reaches them.
import { BufferType, StreamType, WasmResult } from "../abi/types.js";
import { MutableBuffer, NO_BUFFER, type BodyBuffer, type BufferView } from "../buffers.js";
import { HostContext } from "../context.js";
import { streamLogPrefix } from "../logs.js";
import type { PropertyContext, PropertyTree, StreamFacts } from "../properties.js";
import type { RootContext } from "../root-context.js";
import type { PluginVm } from "../vm.js";

/** What the filter context needs from its connection (Envoy's read/write filter callbacks). */
export interface ConnectionCallbacks {
  /** `continueReading()`: the held client bytes go on to the next filter (tcp_proxy). */
  continueReading(): void;
  /** `connection().close(FlushWrite, details)` on the client connection. */
  close(details: string): void;
  streamFacts(): StreamFacts;
  readonly properties: PropertyTree;
}

export const DOWNSTREAM_CLOSE_DETAILS = "wasm_downstream_close";
export const UPSTREAM_CLOSE_DETAILS = "wasm_upstream_close";

export class TcpFilterContext extends HostContext {
  readonly kind = "tcp";
  /** `in_vm_context_created_` */
  created = false;
  /** `network_downstream_data_buffer_`: the client connection's read buffer. */
  downstreamData: BodyBuffer | undefined;
  /** `network_upstream_data_buffer_`: the upstream connection's read buffer tcp_proxy writes from. */
  upstreamData: BodyBuffer | undefined;

  /** `wasm.*` filter state written by proxy_set_property (made on first use: most connections never touch it). */
  private filterState: Map<string, Uint8Array> | undefined;

  constructor(
    vm: PluginVm,
    id: number,
    private readonly rootContext: RootContext,
    private readonly connection: ConnectionCallbacks,
  ) {
    super(vm, id);
  }

  get root(): RootContext {
    return this.rootContext;
  }

  logPrefix(): string {
    return streamLogPrefix(this.vm.settings.plugin);
  }

  /** cpp-host `onCreate`: on_context_create(connection, root) once; a failed VM is not called but the context counts as created. */
  onCreate(): void {
    if (!this.created) this.vm.callback(() => this.vm.callbacks.contextCreate(this.id, this.rootContext.id));
    this.created = true;
  }

  protected override streamBuffer(type: BufferType): BufferView {
    const data = type === BufferType.DownstreamData ? this.downstreamData : type === BufferType.UpstreamData ? this.upstreamData : undefined;
    return data ? new MutableBuffer(data) : NO_BUFFER;
  }

  /**
   * Envoy `continueStream`: DOWNSTREAM defers continueReading; UPSTREAM is Unimplemented (the
   * write path cannot be resumed); the HTTP types find no HTTP callbacks and answer Ok.
   */
  override continueStream(type: StreamType): WasmResult {
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    if (type === StreamType.Downstream) this.vm.defer(() => this.connection.continueReading());
    return WasmResult.Ok;
  }

  /**
   * Envoy `closeStream`: DOWNSTREAM and UPSTREAM both close the client connection (the write
   * filter callbacks' connection is the client's too), deferred, with their own details.
   */
  override closeStream(type: StreamType): WasmResult {
    if (type === StreamType.Downstream) this.vm.defer(() => this.connection.close(DOWNSTREAM_CLOSE_DETAILS));
    else if (type === StreamType.Upstream) this.vm.defer(() => this.connection.close(UPSTREAM_CLOSE_DETAILS));
    return WasmResult.Ok;
  }

  propertyContext(): PropertyContext {
    return {
      kind: "tcp",
      plugin: this.vm.settings.plugin,
      overrides: this.connection.properties,
      stream: this.connection.streamFacts(),
      filterState: (this.filterState ??= new Map()),
    };
  }
}
