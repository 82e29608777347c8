// One TCP connection through Envoy with this plugin as its Wasm network filter, in front of
// tcp_proxy, as a test drives it: the test plays the client and the upstream server, and
// reads what the filter let through each way and what Envoy holds for it. Envoy's side is
// the network filter manager (envoy/tcp/filter-manager.ts); the plugin's is its Wasm filter
// context (vm/tcp-filter-context.ts).
//
// Each call from the test is one dispatcher event (posted work, e.g. callout answers, runs
// after it). Inside one filter callback, as in cpp-host + Envoy: the plugin call; its result (0 →
// Continue, anything else → StopIteration; a local reply does not force it for TCP); a VM
// failure's fail-open / fail-closed handling; the actions the plugin deferred (continue,
// close — FIFO); then the filter manager moves the bytes on.
import type { CostReport } from "./vm/cost.js";
import { FilterStatus, PeerType } from "./wasm/types.js";
import { mergePropertyTrees, type PropertyTree } from "./envoy/properties.js";
import { TcpFilterManager } from "./envoy/tcp/filter-manager.js";
import type { Flow } from "./envoy/tcp/flow.js";
import type { RootContext } from "./vm/root-context.js";
import { TcpFilterContext } from "./vm/tcp-filter-context.js";
import type { PluginVm } from "./vm/vm.js";
import { utf8Bytes } from "./wasm/utf8.js";

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

const utf8 = new TextDecoder("utf-8");
const toBytes = (chunk: string | Uint8Array) => (typeof chunk === "string" ? utf8Bytes(chunk) : chunk.slice());

export class TcpConnection {
  readonly contextId: number;
  /** What the plugin has cost on this connection, by callback (HostOptions.meterCost; all zero without it). */
  readonly cost: CostReport;
  /** What Envoy made of proxy_on_new_connection when the connection was accepted. */
  readonly newConnectionStatus: FilterStatus;
  private readonly manager: TcpFilterManager;

  /** @internal Created by `Host.newTcpConnection`. */
  constructor(
    private readonly vm: PluginVm,
    root: RootContext,
    connectionId: number,
    options: TcpConnectionOptions = {},
    onClose?: () => void,
  ) {
    const slot = vm.newFilterSlot();
    this.manager = new TcpFilterManager({
      properties: mergePropertyTrees(vm.settings.properties, options.properties),
      startTimeNs: vm.settings.clock.realtimeNs(),
      connectionId,
      sourceAddress: options.sourceAddress ?? "127.0.0.1:50000",
      destinationAddress: options.destinationAddress ?? "127.0.0.1:8080",
      requestedServerName: options.requestedServerName ?? "",
      mtls: options.mtls ?? false,
      onClose,
    });
    this.contextId = slot.contextId;
    this.cost = slot.cost;
    if (slot.mode !== "absent") {
      const filter = new TcpFilterContext(vm, this.contextId, root, this.manager, slot.mode === "plugin");
      this.manager.attachFilter(filter);
      if (slot.mode === "plugin") vm.registerContext(filter);
    }
    this.newConnectionStatus = vm.event(() => this.manager.accept());
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
    if (this.manager.closed) return FilterStatus.StopIteration;
    if (this.manager.down.endStreamReceived) throw new Error("the client has already sent its end of stream");
    if (bytes.length === 0 && !endOfStream) return FilterStatus.Continue;
    return this.vm.event(() => this.manager.receiveDownstream(bytes, endOfStream));
  }

  /**
   * Bytes from the upstream (proxy_on_upstream_data), on their way to the client; the same
   * rules as sendDownstreamData. With end of stream Envoy then calls
   * proxy_on_upstream_connection_close(UNKNOWN), whatever the filter answered.
   */
  sendUpstreamData(chunk: string | Uint8Array, endOfStream = false): FilterStatus {
    const bytes = toBytes(chunk);
    if (this.manager.closed) return FilterStatus.StopIteration;
    if (!this.manager.proxyReached) {
      throw new Error(
        "there is no upstream connection yet: tcp_proxy connects when the filter first lets the connection through " +
          "(Continue from onNewConnection or from client data, or a continue of the downstream)",
      );
    }
    if (this.manager.up.endStreamReceived) throw new Error("the upstream has already sent its end of stream");
    if (bytes.length === 0 && !endOfStream) return FilterStatus.Continue;
    return this.vm.event(() => this.manager.receiveUpstream(bytes, endOfStream));
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
    this.vm.event(() => this.manager.closeConnection(peer));
  }

  /**
   * The upstream connection closes (reset, or closed after its end of stream): tcp_proxy
   * closes the client connection, so the filter sees a LOCAL downstream close and the
   * teardown. proxy_on_upstream_connection_close is not called (Envoy only reports the
   * upstream's end of stream, see sendUpstreamData). No-op once closed.
   */
  closeUpstream(): void {
    if (this.manager.closed) return;
    if (!this.manager.proxyReached) throw new Error("there is no upstream connection to close: tcp_proxy has not been reached yet");
    this.vm.event(() => this.manager.closeConnection(PeerType.Local));
  }

  /** The client's bytes: what went to the upstream and what Envoy holds. */
  get downstream(): TcpDataFlow {
    return view(this.manager.down);
  }

  /** The upstream's bytes: what went to the client and what Envoy holds. */
  get upstream(): TcpDataFlow {
    return view(this.manager.up);
  }

  /** tcp_proxy has been reached and has connected the upstream (the mock's upstream connects at once). */
  get upstreamConnected(): boolean {
    return this.manager.proxyReached;
  }

  /** The client connection is closed; teardown (on_done, on_log, on_delete) has run with it. */
  get closed(): boolean {
    return this.manager.closed;
  }

  /** The peer type Envoy reported to proxy_on_downstream_connection_close (also when the VM had failed and nothing was called). */
  get closeType(): PeerType | undefined {
    return this.manager.closeType;
  }

  /** Envoy's termination details when the plugin closed the connection: "wasm_downstream_close" or "wasm_upstream_close". */
  get closeDetails(): string | undefined {
    return this.manager.closeDetails;
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
