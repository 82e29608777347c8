// Envoy's own answers on a stream: local replies (the plugin's proxy_send_local_response,
// the 503 after a VM failure, 413/500 at the buffer limit) and the buffering for the filter
// that can trigger them. The filter manager (filter-manager.ts) hands over the stream
// through `ReplyChain`.
import { BodyBuffer } from "../buffers.js";
import { HeaderMap } from "../headers.js";
import type { Direction, Side } from "./direction.js";
import { buildLocalReply, type LocalReplyRequest } from "./local-reply.js";
import { utf8Bytes } from "../../wasm/utf8.js";

export interface LocalResponse {
  /** The HTTP status the reply was asked for (a gRPC request gets :status 200 and grpc-status instead). */
  status: number;
  /** The body sent (empty for gRPC trailers-only replies and HEAD requests). */
  body: Uint8Array;
  bodyText: string;
  /** Headers as Envoy generated them, before any encoder callback (a copy: the same shape as `response.headers`). */
  headers: HeaderMap;
  details: string;
  /** The gRPC status asked for (0..16), if any. */
  grpcStatus?: number;
  /** "plugin": proxy_send_local_response; "envoy": 413/500 buffer limit, 503 after a VM failure. */
  generatedBy: "plugin" | "envoy";
}

/** What sending a reply needs of the filter manager. */
export interface ReplyChain {
  readonly request: Direction;
  readonly response: Direction;
  readonly completed: boolean;
  /** The direction whose filter chain is running now (innermost), if any. */
  currentPhase(): Side | undefined;
  setResponseCodeDetails(details: string): void;
  /** The response headers enter the encoder chain (this plugin's response callbacks included). */
  processHeaders(dir: Direction, endOfStream: boolean): void;
  receiveData(dir: Direction, bytes: Uint8Array, endOfStream: boolean): void;
  /** Bytes past the filter, towards the client. */
  forwardData(dir: Direction, bytes: Uint8Array, endOfStream: boolean): void;
  resetStream(): void;
  /** The filter's view of the response is dropped (the reply replaced it). */
  responseReplaced(): void;
}

const utf8 = new TextDecoder("utf-8");

const FAIL_STREAM_DETAILS = "wasm_fail_stream";
const GRPC_UNAVAILABLE = 14;

export class LocalReplies {
  /** The (last) local reply Envoy generated for this stream. */
  sent: LocalResponse | undefined;
  private failureReplySent = false;

  constructor(
    private readonly chain: ReplyChain,
    private readonly bufferLimitBytes: number,
  ) {}

  /**
   * Envoy's sendLocalReply (E-FM): (a) no response headers in the filter chain yet → encoded
   * through the encoder chain, this plugin's response callbacks included; (b) response headers
   * in the chain but not sent → straight to the client; (c) headers already sent → reset.
   */
  deliver(reply: LocalReplyRequest, generatedBy: "plugin" | "envoy", throughFilterChain: boolean): void {
    const chain = this.chain;
    if (chain.completed) return;
    const phase = chain.currentPhase();
    if (phase) (phase === "request" ? chain.request : chain.response).aborted = true; // the running chain stops here
    chain.setResponseCodeDetails(reply.details);
    const built = buildLocalReply(reply, chain.request.headers);
    const record: LocalResponse = {
      status: reply.statusCode,
      body: built.body,
      bodyText: utf8.decode(built.body),
      headers: new HeaderMap("responseHeaders", built.headers.pairs()),
      details: reply.details,
      generatedBy,
      ...(reply.grpcStatus !== undefined ? { grpcStatus: reply.grpcStatus } : {}),
    };
    const res = chain.response;
    if (!res.headersReceived && throughFilterChain) {
      this.sent = record;
      const endsWithHeaders = built.body.length === 0;
      res.headers = built.headers;
      res.headersReceived = true;
      res.endStreamReceived = endsWithHeaders;
      chain.processHeaders(res, endsWithHeaders);
      if (!endsWithHeaders && !chain.completed) chain.receiveData(res, built.body, true);
    } else if (!res.headersForwarded) {
      this.sent = record;
      this.sendDirectReply(built.headers, built.body);
    } else {
      chain.resetStream();
    }
  }

  /** Envoy `Context::failStream`: one 503 (gRPC 14), details wasm_fail_stream, bypassing the failed filter. */
  failStream(): void {
    if (this.failureReplySent) return;
    this.failureReplySent = true;
    this.deliver({ statusCode: 503, body: new Uint8Array(0), headers: [], grpcStatus: GRPC_UNAVAILABLE, details: FAIL_STREAM_DETAILS }, "envoy", false);
  }

  /** Envoy's buffering for the filter, with the buffer limit (watermark) check. */
  bufferInto(dir: Direction, bytes: Uint8Array, streaming: boolean): void {
    dir.streaming = streaming;
    dir.buffered ??= new BodyBuffer();
    dir.buffered.append(bytes);
    if (dir.overLimit || dir.buffered.length <= this.bufferLimitBytes) return;
    dir.overLimit = true;
    if (dir.streaming) {
      dir.readDisabled = true; // flow control only
    } else if (dir.side === "request") {
      this.envoyReply(413, "Payload Too Large", "request_payload_too_large");
    } else {
      this.envoyReply(500, "Internal Server Error", "response_payload_too_large");
    }
  }

  private envoyReply(statusCode: number, body: string, details: string): void {
    this.deliver({ statusCode, body: utf8Bytes(body), headers: [], grpcStatus: undefined, details }, "envoy", true);
  }

  /** Branch (b): the reply replaces whatever response was in the chain and goes out as is. */
  private sendDirectReply(headers: HeaderMap, body: Uint8Array): void {
    const res = this.chain.response;
    res.aborted = true;
    res.headers = headers;
    res.trailers = undefined;
    res.headersReceived = true;
    res.endStreamReceived = true;
    this.chain.responseReplaced();
    res.headersForwarded = true;
    this.chain.forwardData(res, body, true);
  }
}
