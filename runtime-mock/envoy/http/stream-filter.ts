// The two sides of the seam between Envoy's filter manager and one HTTP filter (Envoy's
// `StreamFilter` and its decoder/encoder callbacks). The filter manager (filter-manager.ts)
// drives a `StreamFilter`; the Wasm filter (vm/http-filter-context.ts) implements it and
// acts back on the stream through `StreamFilterCallbacks`.
import type { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus } from "../../wasm/types.js";
import type { BodyBuffer } from "../buffers.js";
import type { HeaderMap } from "../headers.js";
import type { PropertyTree, StreamFacts } from "../properties.js";
import type { Direction, Side } from "./direction.js";
import type { LocalReplyRequest } from "./local-reply.js";

/** What the filter manager calls on the filter. */
export interface StreamFilter {
  /** decodeHeaders / encodeHeaders. */
  headers(dir: Direction, endOfStream: boolean): FilterHeadersStatus;
  /**
   * decodeData / encodeData. `data` is Envoy's buffered body itself when the filter resumes
   * after stopping all frames (`isBuffered`).
   */
  data(dir: Direction, data: BodyBuffer, endOfStream: boolean, isBuffered: boolean): FilterDataStatus;
  /** decodeTrailers / encodeTrailers. */
  trailers(dir: Direction): FilterTrailersStatus;
  /** onDestroy has run: the filter is never called again. */
  readonly destroyed: boolean;
  /** A local reply went straight to the client: the filter's view of the response is gone. */
  responseReplaced(): void;
  /** The stream ended: the access log, then onDestroy. `requestSeen`: request headers had arrived. */
  streamComplete(requestSeen: boolean): void;
  /** The header maps Envoy's CEL activation sees through this filter. */
  activationMaps(): Pick<StreamFacts, "requestHeaders" | "responseHeaders" | "responseTrailers">;
}

/** What the filter may ask of the stream (Envoy's decoder/encoder filter callbacks). */
export interface StreamFilterCallbacks {
  readonly request: Direction;
  readonly response: Direction;
  /** The stream is over (on_log/on_done ran or are running). */
  readonly completed: boolean;
  continueDirection(side: Side): void;
  resetStream(): void;
  sendLocalReply(reply: LocalReplyRequest): void;
  /** Envoy `Context::failStream` after a VM failure: one 503 (gRPC 14) for the stream. */
  failStream(): void;
  /** `addDecodedData` / `addEncodedData`: into Envoy's buffer for the filter (may trip the buffer limit). */
  addBufferedData(dir: Direction, bytes: Uint8Array): void;
  /** Envoy `addDecodedTrailers`/`addEncodedTrailers`: an empty trailer map for the direction. */
  addTrailers(side: Side): HeaderMap;
  responseCodeDetails(): string | undefined;
  setResponseCodeDetails(details: string): void;
  streamFacts(): StreamFacts;
  readonly properties: PropertyTree;
}
