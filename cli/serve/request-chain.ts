// One request through a chain of plugins, as Envoy's filter manager runs a filter chain:
// the request goes through the filters in order (decoders), the response back through
// them in reverse (encoders). Each plugin is a mock-host HttpStream; the chain moves
// whatever a filter has let through to the next one ("pump"), so pauses, buffering,
// local replies and resumes from callouts all work as they do in one filter.
import type { HttpMessage, HttpStream } from "../../runtime-mock/index.js";

export type Pairs = [string, string][];

/** Where the chain's output goes: the upstream (request) and the client (response). */
export interface ChainSink {
  upstreamHeaders(headers: Pairs, endOfStream: boolean): void;
  upstreamData(chunk: Uint8Array, endOfStream: boolean): void;
  upstreamTrailers(trailers: Pairs): void;
  downstreamHeaders(headers: Pairs, endOfStream: boolean): void;
  downstreamData(chunk: Uint8Array, endOfStream: boolean): void;
  downstreamTrailers(trailers: Pairs): void;
  /** A filter reset the stream (proxy_close_stream, a reply after the response started). */
  reset(reason: string): void;
}

/** How far one message of one filter has been handed on. */
class Cursor {
  headers = false;
  bodyOffset = 0;
  trailers = false;
  ended = false;
}

/** Where one filter's output goes: the next filter, or the upstream / the client. */
interface Receiver {
  headers(headers: Pairs, endOfStream: boolean): void;
  data(chunk: Uint8Array, endOfStream: boolean): void;
  trailers(trailers: Pairs): void;
}

/** Hands on what `out` let through since `cursor`; returns whether anything moved. */
function move(out: HttpMessage, cursor: Cursor, to: Receiver): boolean {
  let moved = false;
  if (out.headersForwarded && !cursor.headers) {
    cursor.headers = true;
    moved = true;
    const endsHere = out.endStreamForwarded && out.bodyLength === 0 && !out.trailersForwarded;
    if (endsHere) cursor.ended = true;
    to.headers(out.headers.pairs(), endsHere);
  }
  if (!cursor.headers || cursor.ended) return moved;
  const bodyLength = out.bodyLength;
  const endsWithBody = out.endStreamForwarded && !out.trailersForwarded;
  if (bodyLength > cursor.bodyOffset || (endsWithBody && !cursor.ended)) {
    const chunk = out.bodyFrom(cursor.bodyOffset);
    cursor.bodyOffset = bodyLength;
    if (endsWithBody) cursor.ended = true;
    moved = true;
    to.data(chunk, endsWithBody);
  }
  if (out.trailersForwarded && !cursor.trailers) {
    cursor.trailers = true;
    cursor.ended = true;
    moved = true;
    to.trailers(out.trailers?.pairs() ?? []);
  }
  return moved;
}

interface Link {
  stream: HttpStream | undefined;
  request: Cursor;
  response: Cursor;
}

export class RequestChain {
  private readonly links: Link[];
  private finished = false;
  private resetSent = false;

  /** `open(i)` creates filter i's stream the first time a request reaches it. */
  constructor(
    size: number,
    private readonly open: (index: number) => HttpStream,
    private readonly sink: ChainSink,
  ) {
    this.links = Array.from({ length: size }, () => ({ stream: undefined, request: new Cursor(), response: new Cursor() }));
  }

  /** The filter (index) that answered locally, if one did. */
  get localReplyBy(): number | undefined {
    const index = this.links.findIndex((l) => l.stream?.localResponse !== undefined);
    return index >= 0 ? index : undefined;
  }

  get done(): boolean {
    return this.finished;
  }

  /** The streams opened so far, in chain order. */
  get streams(): HttpStream[] {
    return this.links.flatMap((l) => (l.stream ? [l.stream] : []));
  }

  requestHeaders(headers: Pairs, endOfStream: boolean): void {
    if (this.links.length === 0) {
      this.sink.upstreamHeaders(headers, endOfStream);
      return;
    }
    this.stream(0).sendRequestHeaders(headers, endOfStream);
    this.pump();
  }

  requestData(chunk: Uint8Array, endOfStream: boolean): void {
    if (this.links.length === 0) return this.sink.upstreamData(chunk, endOfStream);
    const first = this.stream(0);
    if (!first.completed) first.sendRequestBody(chunk, endOfStream);
    this.pump();
  }

  requestTrailers(trailers: Pairs): void {
    if (this.links.length === 0) return this.sink.upstreamTrailers(trailers);
    const first = this.stream(0);
    if (!first.completed) first.sendRequestTrailers(trailers);
    this.pump();
  }

  responseHeaders(headers: Pairs, endOfStream: boolean): void {
    if (this.links.length === 0) return this.sink.downstreamHeaders(headers, endOfStream);
    const last = this.links[this.links.length - 1].stream;
    if (last && !last.completed && !last.localResponse) last.sendResponseHeaders(headers, endOfStream);
    this.pump();
  }

  responseData(chunk: Uint8Array, endOfStream: boolean): void {
    if (this.links.length === 0) return this.sink.downstreamData(chunk, endOfStream);
    const last = this.links[this.links.length - 1].stream;
    if (last && !last.completed && !last.localResponse) last.sendResponseBody(chunk, endOfStream);
    this.pump();
  }

  responseTrailers(trailers: Pairs): void {
    if (this.links.length === 0) return this.sink.downstreamTrailers(trailers);
    const last = this.links[this.links.length - 1].stream;
    if (last && !last.completed && !last.localResponse) last.sendResponseTrailers(trailers);
    this.pump();
  }

  /** Hands on whatever any filter has let through since the last pump, until nothing moves. */
  pump(): void {
    if (this.finished) return;
    for (let moved = true; moved; ) {
      moved = false;
      for (let i = 0; i < this.links.length; i++) moved = this.moveRequest(i) || moved;
      for (let i = this.links.length - 1; i >= 0; i--) moved = this.moveResponse(i) || moved;
    }
    const reset = this.links.find((l) => l.stream?.resetReason !== undefined);
    if (reset && !this.resetSent) {
      this.resetSent = true;
      this.sink.reset(reset.stream!.resetReason!);
      this.end();
    }
  }

  /** The client went away, or the exchange is over: every opened filter logs and is destroyed. */
  end(): void {
    this.finished = true;
    for (const link of this.links) if (link.stream && !link.stream.completed) link.stream.end();
  }

  private stream(index: number): HttpStream {
    const link = this.links[index];
    link.stream ??= this.open(index);
    return link.stream;
  }

  /** Filter i's forwarded request goes to filter i+1, or upstream from the last filter. */
  private moveRequest(i: number): boolean {
    const stream = this.links[i].stream;
    if (!stream) return false;
    const target: Receiver =
      i === this.links.length - 1
        ? { headers: (h, e) => this.sink.upstreamHeaders(h, e), data: (c, e) => this.sink.upstreamData(c, e), trailers: (t) => this.sink.upstreamTrailers(t) }
        : {
            headers: (h, e) => this.stream(i + 1).sendRequestHeaders(h, e),
            data: (c, e) => void (this.links[i + 1].stream?.completed || this.stream(i + 1).sendRequestBody(c, e)),
            trailers: (t) => void (this.links[i + 1].stream?.completed || this.stream(i + 1).sendRequestTrailers(t)),
          };
    return move(stream.request, this.links[i].request, target);
  }

  /** Filter i's forwarded response goes to filter i-1, or to the client from the first filter. */
  private moveResponse(i: number): boolean {
    const stream = this.links[i].stream;
    if (!stream) return false;
    const previous = i === 0 ? undefined : this.links[i - 1].stream;
    const open = () => previous !== undefined && !previous.completed;
    const target: Receiver =
      i === 0
        ? { headers: (h, e) => this.sink.downstreamHeaders(h, e), data: (c, e) => this.sink.downstreamData(c, e), trailers: (t) => this.sink.downstreamTrailers(t) }
        : {
            headers: (h, e) => void (open() && previous!.sendResponseHeaders(h, e)),
            data: (c, e) => void (open() && previous!.sendResponseBody(c, e)),
            trailers: (t) => void (open() && previous!.sendResponseTrailers(t)),
          };
    return this.finishIfDone(move(stream.response, this.links[i].response, target));
  }

  /** Once the response's end reached the client, the streams that never saw it end too. */
  private finishIfDone(moved: boolean): boolean {
    if (!this.finished && this.links[0].response.ended) this.end();
    return moved;
  }
}
