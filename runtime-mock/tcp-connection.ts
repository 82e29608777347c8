// One TCP connection through Envoy with this plugin as its Wasm network filter, in front of
// tcp_proxy (ABI.md §3.3, §3.4, §4.5, §5.7, §8.3; Envoy's network FilterManagerImpl, the
// half-close handling of ConnectionImpl that tcp_proxy enables, and the Wasm `Context`'s
// onNewConnection/onData/onWrite/onEvent/onCloseTCP). The test plays the client and the
// upstream server; the connection records what the filter let through each way and what
// Envoy holds for it.
//
// Each call from the test is one dispatcher event (posted work, e.g. callout answers, runs
// after it). Inside one filter callback, as in cpp-host + Envoy: the plugin call; its result (0 →
// Continue, anything else → StopIteration; a local reply does not force it for TCP); a VM
// failure's fail-open / fail-closed handling; the actions the plugin deferred (continue,
// close — FIFO); then, if the answer was Continue and the connection is still open, the
// bytes go on to tcp_proxy (client → upstream) or to the client socket (upstream → client).
import { emptyCost, type CostReport } from "./cost.js";
import type { CallOutcome } from "./abi/callbacks.js";
import { FilterStatus, PeerType } from "./abi/types.js";
import { mergePropertyTrees } from "./options.js";
import type { PropertyTree, StreamFacts } from "./properties.js";
import type { RootContext } from "./root-context.js";
import { TcpCallbacks, filterStatus } from "./tcp/callbacks.js";
import { TcpFilterContext, type ConnectionCallbacks } from "./tcp/filter-context.js";
import { Flow } from "./tcp/flow.js";
import type { PluginVm } from "./vm.js";

export interface TcpConnectionOptions {
  /** Property overrides for this connection, merged over the host's. */
  properties?: PropertyTree;
  /** The client's address, "ip:port" ("[ip]:port" for IPv6). Default "127.0.0.1:50000". */
  sourceAddress?: string;
  /** The address the client connected to (Envoy's listener side), "ip:port". Default "127.0.0.1:8080". */
  destinationAddress?: string;
  /** TLS SNI (`connection.requested_server_name`). Default "". */
  requestedServerName?: string;
  /** TLS with a client certificate (`connection.mtls`). Default false. */
  mtls?: boolean;
}

/** One direction as the filter has shaped it. */
export interface TcpDataFlow {
  /** Bytes the filter let through: to the upstream for `downstream`, to the client for `upstream`. */
  readonly forwarded: Uint8Array;
  readonly forwardedText: string;
  /**
   * Bytes Envoy holds because the filter answered StopIteration: presented to the filter again
   * with the next chunk, or (client bytes only) released by proxy_continue_stream(DOWNSTREAM).
   */
  readonly held: Uint8Array;
  readonly heldText: string;
  /** Bytes received from the source (the client, or the upstream). */
  readonly receivedBytes: number;
  /** The source sent its end of stream (half-closed). */
  readonly endStreamReceived: boolean;
  /** The end of stream went past the filter. */
  readonly endStreamForwarded: boolean;
}

/** How the filter exists on this connection: the plugin, Envoy's empty context of a failed VM (fail closed), or not at all (fail open). */
type FilterMode = "plugin" | "failedVm" | "absent";

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();
const toBytes = (chunk: string | Uint8Array) => (typeof chunk === "string" ? encoder.encode(chunk) : chunk.slice());

export class TcpConnection {
  readonly contextId: number;
  /** What the plugin has cost on this connection, by callback (HostOptions.meterCost; all zero without it). */
  readonly cost: CostReport;
  /** What Envoy made of proxy_on_new_connection when the connection was accepted. */
  readonly newConnectionStatus: FilterStatus;
  private readonly mode: FilterMode;
  private readonly filter: TcpFilterContext;
  private readonly tcp: TcpCallbacks;
  /** Client → upstream (Envoy's read path). */
  private readonly down = new Flow();
  /** Upstream → client (the write path). */
  private readonly up = new Flow();
  /** tcp_proxy has been reached, so it has connected the upstream. */
  private proxyReached = false;
  private closedFlag = false;
  private closeTypeValue: PeerType | undefined;
  private closeDetailsValue: string | undefined;
  // Envoy Context's connection state: failure handled once, which sides have closed, teardown done.
  private streamFailed = false;
  private downstreamClosed = false;
  private upstreamClosed = false;
  private tcpConnectionClosed = false;
  private readonly properties: PropertyTree;
  private readonly sourceAddress: string;
  private readonly destinationAddress: string;
  private readonly requestedServerName: string;
  private readonly mtls: boolean;
  private readonly startTimeNs: bigint;

  /** @internal Created (and accepted) by `Host.newTcpConnection`. */
  constructor(
    private readonly vm: PluginVm,
    root: RootContext,
    private readonly connectionId: number,
    options: TcpConnectionOptions = {},
    private readonly onClose?: () => void,
  ) {
    this.mode = vm.failed ? (vm.settings.failOpen ? "absent" : "failedVm") : "plugin";
    this.properties = mergePropertyTrees(vm.settings.properties, options.properties);
    this.sourceAddress = options.sourceAddress ?? "127.0.0.1:50000";
    this.destinationAddress = options.destinationAddress ?? "127.0.0.1:8080";
    this.requestedServerName = options.requestedServerName ?? "";
    this.mtls = options.mtls ?? false;
    this.startTimeNs = vm.settings.clock.realtimeNs();
    this.tcp = new TcpCallbacks(vm);
    // A failed VM gives the connection an empty context that is never registered (Envoy: wasm == nullptr, id 0).
    this.contextId = this.mode === "plugin" ? vm.allocateContextId() : 0;
    this.cost = this.mode === "plugin" ? vm.costs.of(this.contextId) : emptyCost();
    this.filter = new TcpFilterContext(vm, this.contextId, root, this.connectionCallbacks());
    if (this.mode === "plugin") vm.registerContext(this.filter);
    this.newConnectionStatus = vm.event(() => this.accept());
  }

  // --- the test's side ------------------------------------------------------------------

  /**
   * Bytes from the client (proxy_on_downstream_data). Returns the filter's answer. With
   * Continue the bytes (and the end of stream) go on to the upstream; with StopIteration
   * Envoy keeps them and presents them again with the next chunk. An empty chunk without
   * end of stream is no read event: nothing is called. After the close the bytes are dropped.
   */
  sendDownstreamData(chunk: string | Uint8Array, endOfStream = false): FilterStatus {
    const bytes = toBytes(chunk);
    if (this.closedFlag) return FilterStatus.StopIteration;
    if (this.down.endStreamReceived) throw new Error("the client has already sent its end of stream");
    if (bytes.length === 0 && !endOfStream) return FilterStatus.Continue;
    return this.vm.event(() => {
      this.receive(this.down, bytes, endOfStream);
      const status = this.mode === "absent" ? FilterStatus.Continue : this.onData();
      if (status === FilterStatus.Continue && !this.closedFlag) this.reachProxy();
      this.closeIfBothHalvesClosed(PeerType.Remote);
      return status;
    });
  }

  /**
   * Bytes from the upstream (proxy_on_upstream_data), on their way to the client; the same
   * rules as sendDownstreamData. With end of stream Envoy then calls
   * proxy_on_upstream_connection_close(UNKNOWN), whatever the filter answered.
   */
  sendUpstreamData(chunk: string | Uint8Array, endOfStream = false): FilterStatus {
    const bytes = toBytes(chunk);
    if (this.closedFlag) return FilterStatus.StopIteration;
    if (!this.proxyReached) {
      throw new Error(
        "there is no upstream connection yet: tcp_proxy connects when the filter first lets the connection through " +
          "(Continue from onNewConnection or from client data, or a continue of the downstream)",
      );
    }
    if (this.up.endStreamReceived) throw new Error("the upstream has already sent its end of stream");
    if (bytes.length === 0 && !endOfStream) return FilterStatus.Continue;
    return this.vm.event(() => {
      this.receive(this.up, bytes, endOfStream);
      const status = this.mode === "absent" ? FilterStatus.Continue : this.onWrite(endOfStream);
      if (status === FilterStatus.Continue && !this.closedFlag) this.up.passPending();
      this.closeIfBothHalvesClosed(PeerType.Local);
      return status;
    });
  }

  /**
   * The client connection closes: REMOTE (the client closed or reset it, the default) or
   * LOCAL (Envoy closed it, e.g. an idle timeout). proxy_on_downstream_connection_close(peer),
   * then proxy_on_done, proxy_on_log, proxy_on_delete. Held bytes are dropped. No-op once closed.
   */
  closeDownstream(peer: PeerType = PeerType.Remote): void {
    if (peer !== PeerType.Local && peer !== PeerType.Remote) {
      throw new RangeError("a connection closes locally (PeerType.Local) or remotely (PeerType.Remote)");
    }
    this.vm.event(() => this.close(peer));
  }

  /**
   * The upstream connection closes (reset, or closed after its end of stream): tcp_proxy
   * closes the client connection, so the filter sees a LOCAL downstream close and the
   * teardown. proxy_on_upstream_connection_close is not called (Envoy only reports the
   * upstream's end of stream, see sendUpstreamData). No-op once closed.
   */
  closeUpstream(): void {
    if (this.closedFlag) return;
    if (!this.proxyReached) throw new Error("there is no upstream connection to close: tcp_proxy has not been reached yet");
    this.vm.event(() => this.close(PeerType.Local));
  }

  /** The client's bytes: what went to the upstream and what Envoy holds. */
  get downstream(): TcpDataFlow {
    return view(this.down);
  }

  /** The upstream's bytes: what went to the client and what Envoy holds. */
  get upstream(): TcpDataFlow {
    return view(this.up);
  }

  /** tcp_proxy has been reached and has connected the upstream (the mock's upstream connects at once). */
  get upstreamConnected(): boolean {
    return this.proxyReached;
  }

  /** The client connection is closed; teardown (on_done, on_log, on_delete) has run with it. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** The peer type Envoy reported to proxy_on_downstream_connection_close (also when the VM had failed and nothing was called). */
  get closeType(): PeerType | undefined {
    return this.closeTypeValue;
  }

  /** Envoy's termination details when the plugin closed the connection: "wasm_downstream_close" or "wasm_upstream_close". */
  get closeDetails(): string | undefined {
    return this.closeDetailsValue;
  }

  // --- Envoy's Context for the connection ----------------------------------------------

  /** Context::onNewConnection: onCreate, then proxy_on_new_connection; Continue lets the filter manager go on to tcp_proxy. */
  private accept(): FilterStatus {
    if (this.mode === "absent") {
      this.reachProxy();
      return FilterStatus.Continue;
    }
    this.filter.onCreate();
    const status = this.invoke(() => this.tcp.newConnection(this.contextId));
    if (status === FilterStatus.Continue && !this.closedFlag) this.reachProxy();
    return status;
  }

  /** Context::onData: the pointer to the read buffer is dropped on Continue, kept while the filter holds the bytes. */
  private onData(): FilterStatus {
    const flow = this.down;
    this.filter.downstreamData = flow.pending;
    const status = this.invoke(() => this.tcp.downstreamData(this.contextId, flow.pending.length, flow.endStreamReceived));
    if (status === FilterStatus.Continue) this.filter.downstreamData = undefined;
    return status;
  }

  /** Context::onWrite, which reports the upstream's close on its end of stream whatever the answer. */
  private onWrite(endOfStream: boolean): FilterStatus {
    const flow = this.up;
    this.filter.upstreamData = flow.pending;
    const status = this.invoke(() => this.tcp.upstreamData(this.contextId, flow.pending.length, endOfStream));
    if (status === FilterStatus.Continue) this.filter.upstreamData = undefined;
    if (endOfStream) this.onUpstreamConnectionClose();
    return status;
  }

  /**
   * Context::onUpstreamConnectionClose. Envoy calls the plugin even if the connection was torn
   * down meanwhile (the plugin closed it from proxy_on_upstream_data): the SDKs ignore the id.
   */
  private onUpstreamConnectionClose(): void {
    this.vm.callback(() => this.tcp.upstreamConnectionClose(this.contextId, PeerType.Unknown));
    this.upstreamClosed = true;
    if (this.downstreamClosed) this.onCloseTCP();
  }

  /**
   * The client connection's close event (Context::onEvent → onDownstreamConnectionClose): the
   * plugin hears of it if its context was created, then the teardown. The connection's
   * buffers go with it, and tcp_proxy closes the upstream.
   */
  private close(peer: PeerType, details?: string): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.closeTypeValue = peer;
    this.closeDetailsValue = details;
    if (this.mode === "plugin" && this.filter.created) {
      this.vm.callback(() => this.tcp.downstreamConnectionClose(this.contextId, peer));
      this.downstreamClosed = true;
      this.onCloseTCP();
    }
    this.down.pending.take();
    this.up.pending.take();
    this.vm.unregisterContext(this.filter);
    this.onClose?.();
  }

  /** Context::onCloseTCP: the TCP order, on_done → on_log → on_delete, once. Never into a failed VM. */
  private onCloseTCP(): void {
    if (this.tcpConnectionClosed || !this.filter.created) return;
    this.tcpConnectionClosed = true;
    const id = this.contextId;
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
    return this.mode === "failedVm" || this.vm.failed;
  }

  /** Envoy `failStream(Downstream)` and `(Upstream)`: both close the client connection (FlushWrite), at once. */
  private whenFailed(): FilterStatus {
    if (this.vm.settings.failOpen) return FilterStatus.Continue;
    if (!this.streamFailed) {
      this.streamFailed = true;
      this.close(PeerType.Local);
    }
    return FilterStatus.StopIteration;
  }

  // --- tcp_proxy and the sockets ---------------------------------------------------------

  private receive(flow: Flow, bytes: Uint8Array, endOfStream: boolean): void {
    flow.receivedBytes += bytes.length;
    flow.pending.append(bytes);
    if (endOfStream) flow.endStreamReceived = true;
  }

  /** tcp_proxy as the next read filter: connects the upstream when first reached, then takes the read buffer. */
  private reachProxy(): void {
    this.proxyReached = true;
    if (this.down.pending.length > 0 || this.down.endStreamReceived) this.down.passPending();
  }

  /** Deferred continueReading: the filter manager resumes at the filter after this one (tcp_proxy). */
  private continueReading(): void {
    if (this.closedFlag) return;
    this.reachProxy();
    this.closeIfBothHalvesClosed(PeerType.Local);
  }

  /**
   * tcp_proxy enables half-close on both connections. The client connection closes once its
   * read half (the client's end of stream) and its write half (the upstream's end of stream
   * written to the client) are both closed: REMOTE if the read half closed last, LOCAL if the
   * write half did. The upstream connection closes the same way, and tcp_proxy then closes
   * the client connection (LOCAL).
   */
  private closeIfBothHalvesClosed(lastHalf: PeerType): void {
    if (this.closedFlag) return;
    if (this.down.endStreamReceived && this.up.endStreamForwarded) this.close(lastHalf);
    else if (this.up.endStreamReceived && this.down.endStreamForwarded) this.close(PeerType.Local);
  }

  private connectionCallbacks(): ConnectionCallbacks {
    const connection = this;
    return {
      continueReading: () => connection.continueReading(),
      close: (details) => connection.close(PeerType.Local, details),
      streamFacts: () => connection.streamFacts(),
      properties: this.properties,
    };
  }

  /** The connection's StreamInfo as Envoy's attributes see it (source, destination, connection.*). */
  private streamFacts(): StreamFacts {
    return {
      protocol: "",
      startTimeNs: this.startTimeNs,
      requestBodyBytes: this.down.receivedBytes,
      responseBodyBytes: this.up.forwarded.length,
      connectionId: this.connectionId,
      sourceAddress: this.sourceAddress,
      destinationAddress: this.destinationAddress,
      mtls: this.mtls,
      requestedServerName: this.requestedServerName,
      requestComplete: false,
    };
  }
}

function view(flow: Flow): TcpDataFlow {
  return {
    get forwarded() {
      return flow.forwarded.bytes;
    },
    get forwardedText() {
      return utf8.decode(flow.forwarded.bytes);
    },
    get held() {
      return flow.pending.bytes;
    },
    get heldText() {
      return utf8.decode(flow.pending.bytes);
    },
    get receivedBytes() {
      return flow.receivedBytes;
    },
    get endStreamReceived() {
      return flow.endStreamReceived;
    },
    get endStreamForwarded() {
      return flow.endStreamForwarded;
    },
  };
}
