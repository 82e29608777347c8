// What a callout's answer looks like to the context that made the call: the HTTP response
// and the unary gRPC response, and the host buffers readable while they are delivered.
import { Body, httpCallResponseBody } from "./body";
import { Headers, httpCallResponseHeaders, httpCallResponseTrailers } from "./headers";
import { BufferType, GrpcStatus, MapType, WasmResult } from "./types";

/**
 * The answer to an HTTP callout, handed to the dispatching context's `onHttpCallResponse`.
 * Headers, body and trailers are readable only during that call.
 */
export class HttpCallResponse {
  /** Why the call failed, as the host reports it: BrokenConnection ("reset") in Envoy; Ok on success. */
  failureStatus: WasmResult = WasmResult.Ok;
  failureMessage: string = "";
  private statusCache: i32 = -1;

  constructor(
    public readonly token: u32,
    public readonly headerCount: u32,
    public readonly bodySize: u32,
    public readonly trailerCount: u32,
  ) {}

  /**
   * The call failed: reset, or the response exceeded Envoy's buffer limit (no headers, no
   * body). A timeout is not a failure: it arrives as Envoy's own 504 response.
   */
  get failed(): bool {
    return this.headerCount == 0;
  }

  /** The response's :status (e.g. 200; 504 when Envoy's timeout fired); 0 when failed. */
  get statusCode(): u32 {
    if (this.statusCache < 0) {
      let code: i32 = 0;
      if (!this.failed) {
        const value = httpCallResponseHeaders.get(":status");
        if (value !== null) code = I32.parseInt(value);
      }
      this.statusCache = code > 0 ? code : 0;
    }
    return <u32>this.statusCache;
  }

  get headers(): Headers {
    return httpCallResponseHeaders;
  }

  get body(): Body {
    return httpCallResponseBody;
  }

  get trailers(): Headers {
    return httpCallResponseTrailers;
  }
}

/** The gRPC message being delivered (buffer 5): during onGrpcCallResponse and onGrpcStreamMessage. */
// @ts-ignore: decorator
@lazy export const grpcMessage = new Body(BufferType.GrpcReceiveBuffer);
/** A stream's initial metadata (the response headers): during onGrpcStreamInitialMetadata. */
// @ts-ignore: decorator
@lazy export const grpcInitialMetadata = new Headers(MapType.GrpcReceiveInitialMetadata);
/** A stream's trailing metadata (grpc-status, grpc-message, …): during onGrpcStreamTrailingMetadata. */
// @ts-ignore: decorator
@lazy export const grpcTrailingMetadata = new Headers(MapType.GrpcReceiveTrailingMetadata);

/** The answer to a unary gRPC call, handed to the calling context's `onGrpcCallResponse`. */
export class GrpcCallResponse {
  constructor(
    public readonly token: u32,
    /** Ok with a message, or why the call failed (e.g. Unavailable, "upstream request timeout"). */
    public readonly status: GrpcStatus,
    public readonly statusMessage: string,
    /** Size of the response message; 0 when failed. */
    public readonly messageSize: u32,
  ) {}

  get failed(): bool {
    return this.status != GrpcStatus.Ok;
  }

  /** The response message (serialized protobuf), readable during the callback. */
  get message(): Body {
    return grpcMessage;
  }
}
