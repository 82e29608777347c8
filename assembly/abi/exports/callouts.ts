// HTTP and gRPC callout callbacks (ABI.md §4.6). Envoy calls them with the root context's
// id; the SDK hands each answer to the context that made the call (see callouts.ts).
import { collectIfDue, rootCallback } from "../collector";
import { CALLOUTS, markLinked } from "../linked";
import { deliverHttpCallResponse } from "../../callouts";
import { deliverGrpcClose, deliverGrpcInitialMetadata, deliverGrpcMessage, deliverGrpcTrailingMetadata } from "../../grpc";

markLinked(CALLOUTS);

export function proxy_on_http_call_response(rootContextId: u32, token: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {
  rootCallback();
  collectIfDue();
  deliverHttpCallResponse(rootContextId, token, headerCount, bodySize, trailerCount);
}

export function proxy_on_grpc_receive_initial_metadata(rootContextId: u32, token: u32, headerCount: u32): void {
  rootCallback();
  collectIfDue();
  deliverGrpcInitialMetadata(rootContextId, token, headerCount);
}

export function proxy_on_grpc_receive(rootContextId: u32, token: u32, messageSize: u32): void {
  rootCallback();
  collectIfDue();
  deliverGrpcMessage(rootContextId, token, messageSize);
}

/** Named as cpp-host looks it up (not the stale `proxy_on_grpc_trailing_metadata`, ABI.md §4.6). */
export function proxy_on_grpc_receive_trailing_metadata(rootContextId: u32, token: u32, trailerCount: u32): void {
  rootCallback();
  collectIfDue();
  deliverGrpcTrailingMetadata(rootContextId, token, trailerCount);
}

export function proxy_on_grpc_close(rootContextId: u32, token: u32, status: u32): void {
  rootCallback();
  collectIfDue();
  deliverGrpcClose(rootContextId, token, status);
}
