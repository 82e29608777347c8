// Envoy's filter manager for one HTTP stream with one filter, between the downstream client
// and the upstream (ABI.md §3.3, §5.5–§5.7, §8.2): per direction, the frames into the
// filter, the iteration state its answers leave, resuming (commonContinue) and forwarding;
// the stream's end (access log, then the filter's onDestroy). Local replies and buffering
// for the filter are in local-replies.ts; the filter is a `StreamFilter` (stream-filter.ts),
// in the mock host the Wasm filter of vm/http-filter-context.ts.
//
// Order of events inside one filter callback, as in cpp-host + Envoy: the plugin call; the
// result conversion (a local reply forces "stop"); a VM failure's fail-open/fail-closed
// handling; the actions the plugin deferred (continue, close, local reply — FIFO); and only
// then the filter manager applies the returned status (here).
import { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus } from "../../wasm/types.js";
import { BodyBuffer } from "../buffers.js";
import { HeaderMap } from "../headers.js";
import type { PropertyTree, StreamFacts } from "../properties.js";
import type { Clock } from "../scheduler.js";
import { Direction, type Side } from "./direction.js";
import { LocalReplies, type ReplyChain } from "./local-replies.js";
import type { LocalReplyRequest } from "./local-reply.js";
import type { StreamFilter, StreamFilterCallbacks } from "./stream-filter.js";

export interface FilterManagerOptions {
  bufferLimitBytes: number;
  clock: Clock;
  properties: PropertyTree;
  protocol: string;
  sourceAddress: string;
  destinationAddress: string;
  connectionId: number;
  retainForwardedBody?: boolean | undefined;
  /** The stream ended (before the filter's access log and onDestroy run). */
  onComplete?: (() => void) | undefined;
}

export class HttpFilterManager implements ReplyChain, StreamFilterCallbacks {
  readonly request: Direction;
  readonly response: Direction;
  readonly replies: LocalReplies;
  readonly properties: PropertyTree;
  /** undefined: no filter on this stream (a failed VM that fails open). */
  private filter: StreamFilter | undefined;
  /** Which direction is being processed (filter_call_state_), innermost last. */
  private readonly phases: Side[] = [];
  private details: string | undefined;
  resetReason: string | undefined;
  private completedFlag = false;
  private readonly startTimeNs: bigint;
  private readonly startMonotonicNs: bigint;
  private endMonotonicNs: bigint | undefined;

  constructor(private readonly options: FilterManagerOptions) {
    this.request = new Direction("request", options.retainForwardedBody);
    this.response = new Direction("response", options.retainForwardedBody);
    this.replies = new LocalReplies(this, options.bufferLimitBytes);
    this.properties = options.properties;
    this.startTimeNs = options.clock.realtimeNs();
    this.startMonotonicNs = options.clock.monotonicNs();
  }

  attachFilter(filter: StreamFilter): void {
    this.filter = filter;
  }

  get completed(): boolean {
    return this.completedFlag;
  }

  responseCodeDetails(): string | undefined {
    return this.details;
  }

  setResponseCodeDetails(details: string): void {
    this.details = details;
  }

  currentPhase(): Side | undefined {
    return this.phases[this.phases.length - 1];
  }

  // --- frames from the codec ------------------------------------------------------------

  /** Headers from the source of `side`; the response's mark the details "via_upstream" unless set. */
  receiveHeaders(side: Side, headers: HeaderMap, endOfStream: boolean): FilterHeadersStatus {
    const dir = side === "request" ? this.request : this.response;
    dir.headers = headers;
    dir.headersReceived = true;
    dir.endStreamReceived = endOfStream;
    if (side === "response") this.details ??= "via_upstream";
    return this.processHeaders(dir, endOfStream);
  }

  processHeaders(dir: Direction, endOfStream: boolean): FilterHeadersStatus {
    if (this.completedFlag) return FilterHeadersStatus.StopAllIterationAndWatermark;
    const filter = this.filter;
    if (!filter) {
      this.forwardHeaders(dir, endOfStream);
      return FilterHeadersStatus.Continue;
    }
    return this.within(dir.side, () => {
      const status = filter.headers(dir, endOfStream);
      if (this.filterGone(dir)) return status;
      switch (status) {
        case FilterHeadersStatus.StopIteration:
          dir.iteration = "stopSingle";
          break;
        case FilterHeadersStatus.StopAllIterationAndBuffer:
          dir.iteration = "stopAllBuffer";
          break;
        case FilterHeadersStatus.StopAllIterationAndWatermark:
          dir.iteration = "stopAllWatermark";
          break;
        default:
          dir.headersContinued = true;
          this.forwardHeaders(dir, endOfStream);
      }
      return status;
    });
  }

  receiveData(dir: Direction, bytes: Uint8Array, endOfStream: boolean): FilterDataStatus {
    dir.receivedBytes += bytes.length;
    if (endOfStream) dir.endStreamReceived = true;
    if (this.completedFlag || dir.aborted) return FilterDataStatus.StopIterationNoBuffer; // nobody processes it any more
    if (!this.filter) {
      this.forwardData(dir, bytes, endOfStream);
      return FilterDataStatus.Continue;
    }
    return this.within(dir.side, () => {
      if (dir.stoppedAll) {
        // handleDataIfStopAll: Envoy buffers on the filter's behalf; the plugin sees it after the continue.
        const watermark = dir.iteration === "stopAllWatermark";
        this.replies.bufferInto(dir, bytes, watermark);
        return watermark ? FilterDataStatus.StopIterationAndWatermark : FilterDataStatus.StopIterationAndBuffer;
      }
      return this.deliverData(dir, new BodyBuffer(bytes), endOfStream, false);
    });
  }

  receiveTrailers(dir: Direction, trailers: HeaderMap): FilterTrailersStatus {
    dir.trailers = trailers;
    dir.endStreamReceived = true;
    if (this.completedFlag || dir.aborted) return FilterTrailersStatus.StopIteration;
    if (!this.filter) {
      this.forwardTrailers(dir);
      return FilterTrailersStatus.Continue;
    }
    return this.within(dir.side, () => {
      if (dir.stoppedAll) {
        dir.trailersAwaitPlugin = true;
        return FilterTrailersStatus.StopIteration;
      }
      return this.deliverTrailers(dir);
    });
  }

  /** A body frame for the filter, then the filter manager's commonHandleAfterDataCallback. */
  private deliverData(dir: Direction, data: BodyBuffer, endOfStream: boolean, isBuffered: boolean): FilterDataStatus {
    const trailersAtStart = dir.trailers !== undefined;
    const status = this.filter!.data(dir, data, endOfStream, isBuffered);
    // Trailers the plugin added during this (last) frame: the data goes on without end of stream.
    const trailersAdded = !trailersAtStart && dir.trailers !== undefined;
    if (!this.filterGone(dir)) this.afterData(dir, data, endOfStream && !trailersAdded, status, isBuffered, trailersAdded);
    if (!isBuffered) data.take(); // the codec drains whatever was neither forwarded nor buffered
    return status;
  }

  /** The filter manager's handling of a data callback's status. */
  private afterData(dir: Direction, data: BodyBuffer, endOfStream: boolean, status: FilterDataStatus, isBuffered: boolean, trailersAdded: boolean): void {
    if (status === FilterDataStatus.Continue) {
      if (dir.iteration === "stopSingle") {
        if (!isBuffered) this.replies.bufferInto(dir, data.take(), dir.streaming);
        this.commonContinue(dir);
        return;
      }
      this.forwardData(dir, data.take(), endOfStream);
      if (trailersAdded && !this.completedFlag) this.forwardTrailers(dir); // added trailers go on from the next filter
      return;
    }
    dir.iteration = "stopSingle";
    if (status === FilterDataStatus.StopIterationAndBuffer || status === FilterDataStatus.StopIterationAndWatermark) {
      if (!isBuffered) this.replies.bufferInto(dir, data.take(), status === FilterDataStatus.StopIterationAndWatermark);
    } else if (dir.endStreamReceived && !dir.trailers && !dir.buffered) {
      // StopIterationNoBuffer on the last frame: an empty buffer so a later continue ends the stream.
      dir.buffered = new BodyBuffer();
    }
  }

  /** The trailers for the filter, then commonHandleAfterTrailersCallback. */
  private deliverTrailers(dir: Direction): FilterTrailersStatus {
    dir.trailersAwaitPlugin = false;
    const status = this.filter!.trailers(dir);
    if (this.filterGone(dir)) return status;
    if (status === FilterTrailersStatus.Continue) {
      if (dir.iteration === "stopSingle") this.commonContinue(dir);
      else this.forwardTrailers(dir);
    } else {
      dir.iteration = "stopSingle";
    }
    return status;
  }

  // --- the filter's callbacks -----------------------------------------------------------

  /** Deferred continueDecoding/continueEncoding. */
  continueDirection(side: Side): void {
    const dir = side === "request" ? this.request : this.response;
    if (!this.canContinue(dir)) return;
    this.within(side, () => this.commonContinue(dir));
  }

  sendLocalReply(reply: LocalReplyRequest): void {
    this.replies.deliver(reply, "plugin", true);
  }

  failStream(): void {
    this.replies.failStream();
  }

  addBufferedData(dir: Direction, bytes: Uint8Array): void {
    this.replies.bufferInto(dir, bytes, false);
  }

  addTrailers(side: Side): HeaderMap {
    const dir = side === "request" ? this.request : this.response;
    dir.trailers = new HeaderMap(side === "request" ? "requestTrailers" : "responseTrailers");
    return dir.trailers;
  }

  responseReplaced(): void {
    this.filter?.responseReplaced();
  }

  resetStream(): void {
    if (this.completedFlag) return;
    this.resetReason = "local reset";
    this.complete();
  }

  // --- resuming and forwarding ----------------------------------------------------------

  private canContinue(dir: Direction): boolean {
    return !this.completedFlag && !this.filter?.destroyed && !dir.aborted && !this.response.endStreamForwarded;
  }

  /**
   * Envoy `commonContinue`: headers (if still held), then the buffered body, then trailers.
   * After "stop all" the filter itself has not seen that body and those trailers: they go to
   * its callbacks first (cumulative body, then trailers); otherwise they are forwarded.
   */
  private commonContinue(dir: Direction): void {
    const fromCurrent = dir.stoppedAll;
    dir.iteration = "continue";
    if (!dir.headersContinued) {
      dir.headersContinued = true;
      this.forwardHeaders(dir, dir.endStreamReceived && !dir.buffered && !dir.trailers);
      if (this.filterGone(dir)) return;
    }
    const hadTrailers = dir.trailers !== undefined;
    if (dir.buffered) {
      const endOfStream = dir.endStreamReceived && !hadTrailers;
      if (fromCurrent) this.deliverData(dir, dir.buffered, endOfStream, true);
      else this.forwardData(dir, dir.buffered.take(), endOfStream);
      if (this.filterGone(dir)) return;
    }
    if (hadTrailers && !dir.trailersForwarded) {
      if (dir.trailersAwaitPlugin) this.deliverTrailers(dir);
      else this.forwardTrailers(dir);
    }
  }

  private forwardHeaders(dir: Direction, endOfStream: boolean): void {
    dir.headersForwarded = true;
    if (endOfStream) this.forwardEnd(dir);
  }

  forwardData(dir: Direction, bytes: Uint8Array, endOfStream: boolean): void {
    dir.forwardedBody.append(bytes);
    if (endOfStream) this.forwardEnd(dir);
  }

  private forwardTrailers(dir: Direction): void {
    dir.trailersForwarded = true;
    this.forwardEnd(dir);
  }

  /** The response's end going downstream ends the stream (Envoy doEndStream → log, destroy filters). */
  private forwardEnd(dir: Direction): void {
    if (dir.endStreamForwarded) return;
    dir.endStreamForwarded = true;
    if (dir.side === "response") this.complete();
  }

  // --- the end of the stream ------------------------------------------------------------

  /** Stream end (Envoy doDeferredStreamDestroy): the filter's access log and onDestroy. */
  complete(): void {
    if (this.completedFlag) return;
    this.completedFlag = true;
    this.options.onComplete?.();
    this.endMonotonicNs = this.options.clock.monotonicNs();
    this.filter?.streamComplete(this.request.headersReceived);
  }

  /** The filter is not called for this direction any more, or the stream is over. */
  private filterGone(dir: Direction): boolean {
    return this.completedFlag || this.filter?.destroyed === true || dir.aborted;
  }

  private within<T>(side: Side, fn: () => T): T {
    this.phases.push(side);
    try {
      return fn();
    } finally {
      this.phases.pop();
    }
  }

  /** Envoy's StreamInfo as the attributes (properties) see it. */
  streamFacts(): StreamFacts {
    const options = this.options;
    const facts: StreamFacts = {
      ...this.filter?.activationMaps(),
      protocol: options.protocol,
      startTimeNs: this.startTimeNs,
      requestBodyBytes: this.request.receivedBytes,
      responseBodyBytes: this.response.forwardedBody.length,
      connectionId: options.connectionId,
      sourceAddress: options.sourceAddress,
      destinationAddress: options.destinationAddress,
      mtls: false,
      requestedServerName: "",
      requestComplete: this.completedFlag,
    };
    if (this.details !== undefined) facts.responseCodeDetails = this.details;
    if (this.endMonotonicNs !== undefined) facts.durationNs = this.endMonotonicNs - this.startMonotonicNs;
    return facts;
  }
}
