// One direction of a TCP connection through the filter: the client's bytes on their way to
// the upstream ("downstream" data, Envoy's read path) or the upstream's on their way to the
// client ("upstream" data, the write path). Envoy keeps bytes the filter stopped in the
// source's read buffer and presents them again, with the next bytes, at the next read.
import { BodyBuffer } from "../buffers.js";

export class Flow {
  /** Bytes received and not yet past the filter: what Envoy holds while the filter stopped iteration. */
  readonly pending = new BodyBuffer();
  /** Bytes the filter let through (to the upstream, or to the client). */
  readonly forwarded = new BodyBuffer();
  receivedBytes = 0;
  /** The source half-closed (sent its end of stream). */
  endStreamReceived = false;
  /** The end of stream went past the filter: the destination's write half is closed. */
  endStreamForwarded = false;

  /** The destination takes everything pending (tcp_proxy's onData, or the client connection's write). */
  passPending(): void {
    this.forwarded.append(this.pending.take());
    if (this.endStreamReceived) this.endStreamForwarded = true;
  }
}
