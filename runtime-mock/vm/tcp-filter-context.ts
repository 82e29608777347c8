// Envoy's Wasm network-filter context (E-CTX `Context` for a connection), which is also the
// connection's network filter: each callback of the filter manager becomes the plugin's, run
// as cpp-host runs it. The pointers it keeps to the data in flight decide what buffers 2
// and 3 reach (ABI.md §3.4), and
// stream control for DOWNSTREAM/UPSTREAM (§5.7). A pointer is set when a data callback
// receives the bytes and dropped when it answers Continue. After StopIteration it stays:
// the bytes wait in Envoy's buffer (the connection's read buffer, or the upstream's), so
// a later callback of this context (a tick or callout with set_effective_context) reaches them.
import { TcpCallbacks, filterStatus } from "../wasm/tcp-callbacks.js";
import type { CallOutcome } from "../wasm/callbacks.js";
import { BufferType, FilterStatus, PeerType, StreamType, WasmResult } from "../wasm/types.js";
import { MutableBuffer, NO_BUFFER, type BodyBuffer, type BufferView } from "../envoy/buffers.js";
import { HostContext, type ContextVm } from "./context.js";
import { streamLogPrefix } from "../envoy/logs.js";
import type { PropertyContext } from "../envoy/properties.js";
import type { Flow } from "../envoy/tcp/flow.js";
import type { NetworkFilter, NetworkFilterCallbacks } from "../envoy/tcp/network-filter.js";
import type { RootContext } from "./root-context.js";

export const DOWNSTREAM_CLOSE_DETAILS = "wasm_downstream_close";
export const UPSTREAM_CLOSE_DETAILS = "wasm_upstream_close";

export class TcpFilterContext extends HostContext implements NetworkFilter {
  readonly kind = "tcp";
  /** `in_vm_context_created_` */
  created = false;
  /** `network_downstream_data_buffer_`: the client connection's read buffer. */
  downstreamBuffer: BodyBuffer | undefined;
  /** `network_upstream_data_buffer_`: the upstream connection's read buffer tcp_proxy writes from. */
  upstreamBuffer: BodyBuffer | undefined;

  /** `wasm.*` filter state written by proxy_set_property (made on first use: most connections never touch it). */
  private filterState: Map<string, Uint8Array> | undefined;

  constructor(
    vm: ContextVm,
    id: number,
    private readonly rootContext: RootContext,
    private readonly connection: NetworkFilterCallbacks,
    /** false: Envoy's empty context of a failed VM (fail closed): never called, never registered. */
    private readonly live = true,
  ) {
    super(vm, id);
    this.tcp = new TcpCallbacks(vm);
  }

  private readonly tcp: TcpCallbacks;
  private streamFailed = false;
  private downstreamClosed = false;
  private upstreamClosed = false;
  private tcpConnectionClosed = false;

  // --- the filter (what the connection's filter manager calls) ----------------------------

  /** Context::onNewConnection: onCreate, then proxy_on_new_connection. */
  newConnection(): FilterStatus {
    this.onCreate();
    return this.invoke(() => this.tcp.newConnection(this.id));
  }

  /** Context::onData: the pointer to the read buffer is dropped on Continue, kept while the filter holds the bytes. */
  downstreamData(flow: Flow): FilterStatus {
    this.downstreamBuffer = flow.pending;
    const status = this.invoke(() => this.tcp.downstreamData(this.id, flow.pending.length, flow.endStreamReceived));
    if (status === FilterStatus.Continue) this.downstreamBuffer = undefined;
    return status;
  }

  /** Context::onWrite, which reports the upstream's close on its end of stream whatever the answer. */
  upstreamData(flow: Flow, endOfStream: boolean): FilterStatus {
    this.upstreamBuffer = flow.pending;
    const status = this.invoke(() => this.tcp.upstreamData(this.id, flow.pending.length, endOfStream));
    if (status === FilterStatus.Continue) this.upstreamBuffer = undefined;
    if (endOfStream) this.onUpstreamConnectionClose();
    return status;
  }

  /**
   * Context::onEvent → onDownstreamConnectionClose: the plugin hears of it if its context was
   * created, then the teardown; the context goes with the connection.
   */
  connectionClosed(peer: PeerType): void {
    if (this.live && this.created) {
      this.vm.callback(() => this.tcp.downstreamConnectionClose(this.id, peer));
      this.downstreamClosed = true;
      this.onCloseTCP();
    }
    this.vm.unregisterContext(this);
  }

  /**
   * Context::onUpstreamConnectionClose. Envoy calls the plugin even if the connection was torn
   * down meanwhile (the plugin closed it from proxy_on_upstream_data): the SDKs ignore the id.
   */
  private onUpstreamConnectionClose(): void {
    this.vm.callback(() => this.tcp.upstreamConnectionClose(this.id, PeerType.Unknown));
    this.upstreamClosed = true;
    if (this.downstreamClosed) this.onCloseTCP();
  }

  /** Context::onCloseTCP: the TCP order, on_done → on_log → on_delete, once. Never into a failed VM. */
  private onCloseTCP(): void {
    if (this.tcpConnectionClosed || !this.created) return;
    this.tcpConnectionClosed = true;
    const id = this.id;
    this.vm.callback(() => this.vm.callbacks.done(id));
    this.vm.callback(() => this.vm.callbacks.log(id));
    this.vm.callback(() => this.vm.callbacks.delete(id));
  }

  /**
   * One plugin callback the way cpp-host's `ContextBase::onNetwork*`/`on*Data` runs it:
   * CHECK_FAIL before and after (fail open → Continue; fail closed → StopIteration and the
   * connection closed once), a missing export → Continue, then the deferred actions.
   */
  private invoke(call: () => CallOutcome): FilterStatus {
    if (this.vmFailed) return this.whenFailed();
    const outcome = call();
    if (outcome.kind === "missing") return FilterStatus.Continue;
    const status = outcome.kind === "ok" && !this.vmFailed ? filterStatus(outcome.value) : this.whenFailed();
    this.vm.runDeferredActions();
    return status;
  }

  private get vmFailed(): boolean {
    return !this.live || this.vm.failed;
  }

  /** Envoy `failStream(Downstream)` and `(Upstream)`: both close the client connection (FlushWrite), at once. */
  private whenFailed(): FilterStatus {
    if (this.vm.settings.failOpen) return FilterStatus.Continue;
    if (!this.streamFailed) {
      this.streamFailed = true;
      this.connection.failConnection();
    }
    return FilterStatus.StopIteration;
  }

  // --- the host context (what host calls reach) ------------------------------------------

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
    const data = type === BufferType.DownstreamData ? this.downstreamBuffer : type === BufferType.UpstreamData ? this.upstreamBuffer : undefined;
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
