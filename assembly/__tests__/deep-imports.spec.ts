// Deep imports of the SDK's files ("proxy-wasm-as/assembly/tcp", …/grpc, …/callouts) still
// find what they found before the contexts and callout answers moved (see tcp.ts).
import { downstreamData as rootDownstream, GrpcCallResponse as RootGrpcResponse, HttpCallResponse as RootHttpResponse, upstreamData as rootUpstream } from "..";
import { HttpCallResponse } from "../callouts";
import { GrpcCallResponse, grpcMessage } from "../grpc";
import { downstreamData, upstreamData } from "../tcp";
import { grpcMessage as rootGrpcMessage } from "..";

describe("deep imports", () => {
  it("../tcp, ../grpc and ../callouts re-export the SDK's own objects", () => {
    expect(changetype<usize>(downstreamData)).toBe(changetype<usize>(rootDownstream));
    expect(changetype<usize>(upstreamData)).toBe(changetype<usize>(rootUpstream));
    expect(changetype<usize>(grpcMessage)).toBe(changetype<usize>(rootGrpcMessage));
    expect(idof<HttpCallResponse>()).toBe(idof<RootHttpResponse>());
    expect(idof<GrpcCallResponse>()).toBe(idof<RootGrpcResponse>());
  });
});
