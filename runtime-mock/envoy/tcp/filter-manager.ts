// Envoy's network filter manager for one TCP connection with one filter in front of
// tcp_proxy (ABI.md §3.3, §3.4, §4.5, §8.3; Envoy's network FilterManagerImpl and the
// half-close handling of ConnectionImpl that tcp_proxy enables): the bytes each way, what
// Envoy holds for the filter, when tcp_proxy is reached, and how the connection closes.
// After a filter callback answers Continue (and the connection is still open), the bytes go
// on to tcp_proxy (client → upstream) or to the client socket (upstream → client).
import { FilterStatus, PeerType } from "../../wasm/types.js";
import type { PropertyTree, StreamFacts } from "../properties.js";
import { Flow } from "./flow.js";
import type { NetworkFilter, NetworkFilterCallbacks } from "./network-filter.js";

export interface ConnectionOptions {
  properties: PropertyTree;
  startTimeNs: bigint;
  connectionId: number;
  sourceAddress: string;
  destinationAddress: string;
  requestedServerName: string;
  mtls: boolean;
  /** The client connection closed (after the filter's teardown). */
  onClose?: (() => void) | undefined;
}

export class TcpFilterManager implements NetworkFilterCallbacks {
  /** The client's bytes, on their way to the upstream. */
  readonly down = new Flow();
  /** The upstream's bytes, on their way to the client. */
  readonly up = new Flow();
  readonly properties: PropertyTree;
  /** undefined: no filter on this connection (a failed VM that fails open). */
  private filter: NetworkFilter | undefined;
  proxyReached = false;
  closed = false;
  closeType: PeerType | undefined;
  closeDetails: string | undefined;

  constructor(private readonly options: ConnectionOptions) {
    this.properties = options.properties;
  }

  attachFilter(filter: NetworkFilter): void {
    this.filter = filter;
  }

  /** The connection was accepted: the filter's onNewConnection, then tcp_proxy if it continued. */
  accept(): FilterStatus {
    const status = this.filter ? this.filter.newConnection() : FilterStatus.Continue;
    if (status === FilterStatus.Continue && !this.closed) this.reachProxy();
    return status;
  }

  receiveDownstream(bytes: Uint8Array, endOfStream: boolean): FilterStatus {
    this.receive(this.down, bytes, endOfStream);
    const status = this.filter ? this.filter.downstreamData(this.down) : FilterStatus.Continue;
    if (status === FilterStatus.Continue && !this.closed) this.reachProxy();
    this.closeIfBothHalvesClosed(PeerType.Remote);
    return status;
  }

  receiveUpstream(bytes: Uint8Array, endOfStream: boolean): FilterStatus {
    this.receive(this.up, bytes, endOfStream);
    const status = this.filter ? this.filter.upstreamData(this.up, endOfStream) : FilterStatus.Continue;
    if (status === FilterStatus.Continue && !this.closed) this.up.passPending();
    this.closeIfBothHalvesClosed(PeerType.Local);
    return status;
  }

  /**
   * The client connection's close event: the filter hears of it, then the connection's
   * buffers go with it, and tcp_proxy closes the upstream.
   */
  closeConnection(peer: PeerType, details?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeType = peer;
    this.closeDetails = details;
    this.filter?.connectionClosed(peer);
    this.down.pending.take();
    this.up.pending.take();
    this.options.onClose?.();
  }

  // --- the filter's callbacks -----------------------------------------------------------

  /** Deferred continueReading: the filter manager resumes at the filter after this one (tcp_proxy). */
  continueReading(): void {
    if (this.closed) return;
    this.reachProxy();
    this.closeIfBothHalvesClosed(PeerType.Local);
  }

  close(details: string): void {
    this.closeConnection(PeerType.Local, details);
  }

  failConnection(): void {
    this.closeConnection(PeerType.Local);
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

  /**
   * tcp_proxy enables half-close on both connections. The client connection closes once its
   * read half (the client's end of stream) and its write half (the upstream's end of stream
   * written to the client) are both closed: REMOTE if the read half closed last, LOCAL if the
   * write half did. The upstream connection closes the same way, and tcp_proxy then closes
   * the client connection (LOCAL).
   */
  private closeIfBothHalvesClosed(lastHalf: PeerType): void {
    if (this.closed) return;
    if (this.down.endStreamReceived && this.up.endStreamForwarded) this.closeConnection(lastHalf);
    else if (this.up.endStreamReceived && this.down.endStreamForwarded) this.closeConnection(PeerType.Local);
  }

  /** The connection's StreamInfo as Envoy's attributes see it (source, destination, connection.*). */
  streamFacts(): StreamFacts {
    const options = this.options;
    return {
      protocol: "",
      startTimeNs: options.startTimeNs,
      requestBodyBytes: this.down.receivedBytes,
      responseBodyBytes: this.up.forwarded.length,
      connectionId: options.connectionId,
      sourceAddress: options.sourceAddress,
      destinationAddress: options.destinationAddress,
      mtls: options.mtls,
      requestedServerName: options.requestedServerName,
      requestComplete: false,
    };
  }
}
