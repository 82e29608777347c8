// What every context can receive from callouts, with do-nothing defaults. The token table
// (callouts.ts) keeps receivers, not contexts, so it sits below the context classes that
// dispatch calls (context.ts) and no import runs back up.
import { GrpcCallResponse, HttpCallResponse } from "./callout-responses";
import { GrpcStatus } from "./types";

export class CalloutReceiver {
  constructor(public readonly contextId: u32) {}

  /** The answer to an HTTP call this context made: `response.failed` (reset), else `statusCode`, `headers`, `body`, `trailers`. */
  onHttpCallResponse(response: HttpCallResponse): void {}

  /** The answer to a unary gRPC call: `response.message` on Ok, else `status` and `statusMessage`. */
  onGrpcCallResponse(response: GrpcCallResponse): void {}

  /** A stream's response headers; read them from `grpcInitialMetadata`. */
  onGrpcStreamInitialMetadata(token: u32, headerCount: u32): void {}

  /** A message on a stream; read it from `grpcMessage`. */
  onGrpcStreamMessage(token: u32, messageSize: u32): void {}

  /** A stream's trailers (always just before its close); read them from `grpcTrailingMetadata`. */
  onGrpcStreamTrailingMetadata(token: u32, trailerCount: u32): void {}

  /** The server closed the stream (or it failed): its status and message. */
  onGrpcStreamClose(token: u32, status: GrpcStatus, message: string): void {}
}
