// One direction of an HTTP stream as Envoy's filter manager tracks it for our filter
// (`ActiveStreamFilterBase`): the message as received, how far it has been forwarded past
// the filter, the iteration state the filter's last answer left, and the body Envoy
// buffers on the filter's behalf.
import { BodyBuffer, ForwardedBody } from "../buffers.js";
import type { HeaderMap } from "../headers.js";

export type Side = "request" | "response";

/** `ActiveStreamFilterBase::IterationState`. */
export type IterationState = "continue" | "stopSingle" | "stopAllBuffer" | "stopAllWatermark";

export class Direction {
  headers: HeaderMap | undefined;
  trailers: HeaderMap | undefined;
  headersReceived = false;
  /** End of stream received from the source (downstream for the request, upstream or a local reply for the response). */
  endStreamReceived = false;
  /** Trailers arrived while the filter was stopped for all frames: it has not seen them yet. */
  trailersAwaitPlugin = false;
  iteration: IterationState = "continue";
  /** The filter let the headers through (`headers_continued_`). */
  headersContinued = false;
  /** Envoy's `bufferedData()` for this filter; once created it stays, possibly empty. */
  buffered: BodyBuffer | undefined;
  /** Watermark (flow-control) rather than buffer mode for the last buffering. */
  streaming = false;
  /** The high watermark fired once already (`above_high_watermark_called_`). */
  overLimit = false;
  /** Over the limit in watermark mode: Envoy stopped reading from the source. */
  readDisabled = false;
  /** A local reply aborted the filter chain of this direction: the filter is not called again for it. */
  aborted = false;
  /** Body bytes received from the source. */
  receivedBytes = 0;

  readonly forwardedBody: ForwardedBody;
  headersForwarded = false;
  trailersForwarded = false;
  endStreamForwarded = false;

  constructor(
    readonly side: Side,
    retainForwardedBody = true,
  ) {
    this.forwardedBody = new ForwardedBody(retainForwardedBody);
  }

  get stoppedAll(): boolean {
    return this.iteration === "stopAllBuffer" || this.iteration === "stopAllWatermark";
  }
}
