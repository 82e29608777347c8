// One request through a chain of plugins, as Envoy's filter manager runs a filter chain:
// the request goes through the filters in order (decoders), the response back through
// them in reverse (encoders). Each plugin is a mock-host HttpStream; the chain moves
// whatever a filter has let through to the next one ("pump"), so pauses, buffering,
// local replies and resumes from callouts all work as they do in one filter.
import { HeaderMap, type HttpMessage, type HttpStream } from "../../runtime-mock/index.js";
import { codecProblem } from "./codec-checks.js";
import { plainTextReply } from "./http-mapping.js";

/** Where the chain's output goes: the upstream (request) and the client (response). */
export interface ChainSink {
  upstreamHeaders(headers: HeaderMap, endOfStream: boolean): void;
  upstreamData(chunk: Uint8Array, endOfStream: boolean): void;
  upstreamTrailers(trailers: HeaderMap): void;
  downstreamHeaders(headers: HeaderMap, endOfStream: boolean): void;
  downstreamData(chunk: Uint8Array, endOfStream: boolean): void;
  downstreamTrailers(trailers: HeaderMap): void;
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

interface Link {
  stream: HttpStream | undefined;
  request: Cursor;
  response: Cursor;
}

/** The request flows towards the upstream (filter i → i+1), the response towards the client (i → i-1). */
type Way = "request" | "response";

export class RequestChain {
  private readonly links: Link[] = [];
  private finished = false;
  private resetSent = false;
  /** The filter whose headers the codec refused, if that is how the stream ended. */
  refusedFrom: number | undefined;

  /** `open(i)` creates filter i's stream the first time a request reaches it. */
  constructor(
    size: number,
    private readonly open: (index: number) => HttpStream,
    private readonly sink: ChainSink,
  ) {
    for (let i = 0; i < size; i++) this.links.push({ stream: undefined, request: new Cursor(), response: new Cursor() });
  }

  /** The filter (index) that answered locally, if one did. */
  get localReplyBy(): number | undefined {
    for (let i = 0; i < this.links.length; i++) if (this.links[i].stream?.localResponse !== undefined) return i;
    return undefined;
  }

  get done(): boolean {
    return this.finished;
  }

  /** The streams opened so far, in chain order. */
  get streams(): HttpStream[] {
    return this.links.flatMap((l) => (l.stream ? [l.stream] : []));
  }

  requestHeaders(headers: HeaderMap, endOfStream: boolean): void {
    this.deliverHeaders("request", 0, headers, endOfStream);
    this.pump();
  }

  requestData(chunk: Uint8Array, endOfStream: boolean): void {
    this.deliverData("request", 0, chunk, endOfStream);
    this.pump();
  }

  requestTrailers(trailers: HeaderMap): void {
    this.deliverTrailers("request", 0, trailers);
    this.pump();
  }

  responseHeaders(headers: HeaderMap, endOfStream: boolean): void {
    this.deliverHeaders("response", this.links.length - 1, headers, endOfStream);
    this.pump();
  }

  responseData(chunk: Uint8Array, endOfStream: boolean): void {
    this.deliverData("response", this.links.length - 1, chunk, endOfStream);
    this.pump();
  }

  responseTrailers(trailers: HeaderMap): void {
    this.deliverTrailers("response", this.links.length - 1, trailers);
    this.pump();
  }

  /**
   * A reply Envoy itself generates (upstream unreachable, a timeout): encoded back through
   * every filter the request reached, from the furthest one, as the filter manager does.
   */
  envoyReply(status: number, body: string): void {
    if (this.finished) return;
    const reply = plainTextReply(status, body);
    let from = this.links.length - 1;
    while (from >= 0 && !this.links[from].stream) from--;
    this.deliverHeaders("response", from, reply.headers, false);
    this.deliverData("response", from, reply.body, true);
    this.pump();
  }

  /** Hands on whatever any filter has let through since the last pump, until nothing moves. */
  pump(): void {
    if (this.finished) return;
    const links = this.links;
    for (let moved = true; moved && !this.finished; ) {
      moved = false;
      for (let i = 0; i < links.length; i++) {
        const stream = links[i].stream;
        if (stream) moved = this.move(stream.request, links[i].request, "request", i + 1) || moved;
      }
      for (let i = links.length - 1; i >= 0; i--) {
        const stream = links[i].stream;
        if (stream) moved = this.move(stream.response, links[i].response, "response", i - 1) || moved;
        // Once the response's end reached the client, the streams that never saw it end too.
        if (!this.finished && links[0].response.ended) this.end();
      }
    }
    for (let i = 0; i < links.length && !this.resetSent; i++) {
      const reason = links[i].stream?.resetReason;
      if (reason === undefined) continue;
      this.resetSent = true;
      this.sink.reset(reason);
      this.end();
    }
  }

  /** The client went away, or the exchange is over: every opened filter logs and is destroyed. */
  end(): void {
    this.finished = true;
    for (const link of this.links) if (link.stream && !link.stream.completed) link.stream.end();
  }

  /** Hands on what `out` let through since `cursor` to filter `to` (or past the chain's end); returns whether anything moved. */
  private move(out: HttpMessage, cursor: Cursor, way: Way, to: number): boolean {
    let moved = false;
    if (out.headersForwarded && !cursor.headers) {
      cursor.headers = true;
      moved = true;
      const endsHere = out.endStreamForwarded && out.bodyLength === 0 && !out.trailersForwarded;
      if (endsHere) cursor.ended = true;
      this.deliverHeaders(way, to, out.headers, endsHere);
    }
    if (!cursor.headers || cursor.ended) return moved;
    const bodyLength = out.bodyLength;
    const endsWithBody = out.endStreamForwarded && !out.trailersForwarded;
    if (bodyLength > cursor.bodyOffset || (endsWithBody && !cursor.ended)) {
      const chunk = out.bodyFrom(cursor.bodyOffset);
      cursor.bodyOffset = bodyLength;
      if (endsWithBody) cursor.ended = true;
      moved = true;
      this.deliverData(way, to, chunk, endsWithBody);
    }
    if (out.trailersForwarded && !cursor.trailers) {
      cursor.trailers = true;
      cursor.ended = true;
      moved = true;
      this.deliverTrailers(way, to, out.trailers ?? new HeaderMap(way === "request" ? "requestTrailers" : "responseTrailers"));
    }
    return moved;
  }

  // Delivery into filter `to`, or to the upstream (request past the last filter) or the
  // client (response past the first). A filter whose stream is over takes nothing more;
  // only request headers open a filter's stream.

  private deliverHeaders(way: Way, to: number, headers: HeaderMap, endOfStream: boolean): void {
    if (way === "request") {
      if (to === this.links.length) {
        if (!this.refused(way, headers, way)) this.sink.upstreamHeaders(headers, endOfStream);
      } else this.stream(to).sendRequestHeaders(headers, endOfStream);
    } else if (to < 0) {
      if (!this.refused(way, headers, way)) this.sink.downstreamHeaders(headers, endOfStream);
    } else {
      this.responseTarget(to)?.sendResponseHeaders(headers, endOfStream);
    }
  }

  private deliverData(way: Way, to: number, chunk: Uint8Array, endOfStream: boolean): void {
    if (way === "request") {
      if (to === this.links.length) this.sink.upstreamData(chunk, endOfStream);
      else this.requestTarget(to)?.sendRequestBody(chunk, endOfStream);
    } else if (to < 0) {
      this.sink.downstreamData(chunk, endOfStream);
    } else {
      this.responseTarget(to)?.sendResponseBody(chunk, endOfStream);
    }
  }

  private deliverTrailers(way: Way, to: number, trailers: HeaderMap): void {
    if (way === "request") {
      if (to === this.links.length) {
        if (!this.refused(way, trailers, "trailers")) this.sink.upstreamTrailers(trailers);
      } else this.requestTarget(to)?.sendRequestTrailers(trailers);
    } else if (to < 0) {
      if (!this.refused(way, trailers, "trailers")) this.sink.downstreamTrailers(trailers);
    } else {
      this.responseTarget(to)?.sendResponseTrailers(trailers);
    }
  }

  /**
   * Envoy's codec will not write a map a filter made invalid (see codec-checks.ts): the
   * stream is reset. Blamed on the first filter, in flow order, whose output is invalid.
   */
  private refused(way: Way, map: HeaderMap, kind: "request" | "response" | "trailers"): boolean {
    const problem = codecProblem(map, kind);
    if (problem === undefined) return false;
    const order = this.links.map((_, i) => i);
    if (way === "response") order.reverse();
    for (const i of order) {
      const out = this.links[i].stream?.[way];
      const shaped = kind === "trailers" ? out?.trailers : out?.headers;
      if (shaped && codecProblem(shaped, kind) !== undefined) {
        this.refusedFrom = i;
        break;
      }
    }
    this.resetSent = true;
    this.sink.reset(`codec refused the ${way} ${kind === "trailers" ? "trailers" : "headers"}: ${problem}`);
    this.end();
    return true;
  }

  private stream(index: number): HttpStream {
    const link = this.links[index];
    link.stream ??= this.open(index);
    return link.stream;
  }

  /** Filter `index` for more of the request: opened if need be, unless its stream is over. */
  private requestTarget(index: number): HttpStream | undefined {
    const stream = this.stream(index);
    return stream.completed ? undefined : stream;
  }

  /** Filter `index` for the response: only one the request reached, whose stream is still on and not answered locally. */
  private responseTarget(index: number): HttpStream | undefined {
    const stream = this.links[index].stream;
    return stream && !stream.completed && !stream.localResponse ? stream : undefined;
  }
}
