// The context of a TCP connection through a network filter (ABI.md §4.5, §8.3): one per
// downstream connection, shared by both directions. "Downstream data" is what the client
// sends towards the upstream; "upstream data" is what the upstream sends back.
import { proxy_close_stream, proxy_continue_stream } from "./abi/imports";
import { requireLinked, TCP } from "./abi/linked";
import { record } from "./abi/status";
import { Body } from "./body";
import { BaseContext, RootContext } from "./context";
import { BufferType, FilterStatus, PeerType, StreamType, WasmResult } from "./types";

/**
 * The client's bytes on their way upstream (buffer 2). Readable and writable during
 * onDownstreamData and for as long as the filter holds them after StopIteration; elsewhere
 * empty (size 0, writes BadArgument).
 */
export const downstreamData = new Body(BufferType.DownstreamData);

/** The upstream's bytes on their way to the client (buffer 3); the same rules as `downstreamData`. */
export const upstreamData = new Body(BufferType.UpstreamData);

/** One per TCP connection. Every callback has a default that lets the data through. */
export class TcpContext extends BaseContext {
  constructor(contextId: u32, public readonly root: RootContext) {
    super(contextId);
    // Only the TCP exports create these contexts; one made by hand in a module without them never gets a callback.
    requireLinked(TCP, "TcpContext");
  }

  /**
   * The client connected; the upstream connection does not exist yet. StopIteration keeps
   * Envoy from going on to the next filters (tcp_proxy connects the upstream) until data
   * arrives or `continueDownstream()`.
   */
  onNewConnection(): FilterStatus { return FilterStatus.Continue; }

  /**
   * Bytes from the client. `dataSize` is what `downstreamData` holds now: after an earlier
   * StopIteration, Envoy presents the held bytes again together with the new ones.
   * `endOfStream`: the client half-closed. StopIteration holds the bytes in Envoy.
   */
  onDownstreamData(dataSize: u32, endOfStream: bool): FilterStatus { return FilterStatus.Continue; }

  /**
   * Bytes from the upstream on their way to the client; the same rules as onDownstreamData.
   * Held upstream bytes can only be released by a later chunk (Envoy cannot resume the
   * write path: `continueUpstream()` is Unimplemented).
   */
  onUpstreamData(dataSize: u32, endOfStream: bool): FilterStatus { return FilterStatus.Continue; }

  /** The client connection closed: Remote (the client) or Local (Envoy, the plugin, the upstream's close). onDone, onLog and onDelete follow. */
  onDownstreamConnectionClose(peerType: PeerType): void {}

  /** Envoy calls this when the upstream's end of stream passes the filter (after onUpstreamData), always with Unknown. */
  onUpstreamConnectionClose(peerType: PeerType): void {}

  /** After onDone (TCP order: onDone, onLog, onDelete); properties of the connection are readable. */
  onLog(): void {}

  get downstreamData(): Body { return downstreamData; }
  get upstreamData(): Body { return upstreamData; }

  /**
   * Passes the client's bytes held by StopIteration on to the upstream, once the current
   * callback returns (onDownstreamData is not called again for them).
   */
  continueDownstream(): WasmResult { return record(proxy_continue_stream(StreamType.Downstream)); }

  /** Envoy answers Unimplemented: held upstream bytes go on only with a later chunk that returns Continue. */
  continueUpstream(): WasmResult { return record(proxy_continue_stream(StreamType.Upstream)); }

  /**
   * Closes the client connection once the current callback returns (what was already
   * forwarded is flushed, held bytes are dropped): onDownstreamConnectionClose(Local), onDone,
   * onLog, onDelete follow.
   */
  closeDownstream(): WasmResult { return record(proxy_close_stream(StreamType.Downstream)); }

  /**
   * The same as closeDownstream in Envoy: its write-filter callbacks close the connection the
   * filter sits on, which is the client's; tcp_proxy then closes the upstream.
   */
  closeUpstream(): WasmResult { return record(proxy_close_stream(StreamType.Upstream)); }
}

/** The context of a connection whose root created none: every callback continues. */
export class PassThroughTcpContext extends TcpContext {}
