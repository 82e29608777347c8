// HTTP and gRPC callouts and DNS (ABI.md §5.8, §5.9, §5.15), issued on the caller's root
// context. The checks run in Envoy's order with Envoy's statuses; starting a call is the
// CalloutDispatcher's job (by default no cluster exists, see callouts.ts).
import { decodePairs } from "../pairs.js";
import { WasmResult } from "../types.js";
import { isGrpcCallToken, isGrpcStreamToken } from "../../callouts.js";
import { readGrpcService } from "../../grpc-service.js";
import { HeaderMap } from "../../headers.js";
import type { PluginVm } from "../../vm.js";
import { readBytes, text, u32, written, writeU32, type HostFunctionTable } from "./support.js";

export function calloutFunctions(vm: PluginVm): HostFunctionTable {
  const rootId = () => {
    const context = vm.effectiveContext();
    return context.root?.id ?? context.id;
  };

  /** Envoy `Context::grpcCall`/`grpcStream` after cpp-host's memory checks. */
  const startGrpc = (
    service: Uint8Array,
    serviceName: Uint8Array,
    methodName: Uint8Array,
    metadata: Uint8Array,
    message: Uint8Array | undefined,
    timeoutMs: number | undefined,
    nextToken: () => number,
  ): { status: WasmResult; token?: number } => {
    const parsed = readGrpcService(service);
    let cluster: string | undefined;
    if (parsed.kind === "clusterName") {
      if (!vm.callouts.hasCluster(parsed.name)) return { status: WasmResult.ParseFailure };
      cluster = parsed.name;
    } else {
      cluster = parsed.envoyGrpcCluster;
    }
    const token = nextToken(); // consumed even when the call then fails
    if (parsed.kind === "proto" && parsed.envoyGrpcCluster === undefined && !parsed.googleGrpc) {
      return { status: WasmResult.BadArgument }; // no client can be created for it
    }
    const started = vm.callouts.startGrpc(token, rootId(), {
      cluster,
      serviceName: text(serviceName),
      methodName: text(methodName),
      initialMetadata: decodePairs(metadata),
      ...(message !== undefined ? { message } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    return started ? { status: WasmResult.Ok, token } : { status: WasmResult.InternalFailure };
  };

  return {
    proxy_http_call(
      upstreamPtr: number,
      upstreamSize: number,
      headersPtr: number,
      headersSize: number,
      bodyPtr: number,
      bodySize: number,
      trailersPtr: number,
      trailersSize: number,
      timeoutMs: number,
      tokenPtr: number,
    ) {
      const upstream = readBytes(vm, upstreamPtr, upstreamSize);
      const body = readBytes(vm, bodyPtr, bodySize);
      const headerBytes = readBytes(vm, headersPtr, headersSize);
      const trailerBytes = readBytes(vm, trailersPtr, trailersSize);
      if (!upstream || !body || !headerBytes || !trailerBytes) return WasmResult.InvalidMemoryAccess;
      // cpp-host writes 0 to the token slot first, so a bad pointer fails before anything is sent.
      if (!writeU32(vm, tokenPtr, 0)) return WasmResult.InvalidMemoryAccess;

      const { status, token } = (() => {
        if ((timeoutMs | 0) < 0) return { status: WasmResult.BadArgument }; // ≥ 2^31 arrives as a negative int
        const cluster = text(upstream);
        if (!vm.callouts.hasCluster(cluster)) return { status: WasmResult.BadArgument };
        const headers = new HeaderMap("requestHeaders", decodePairs(headerBytes)); // "host" counts as :authority
        if (!headers.has(":path") || !headers.has(":method") || !headers.has(":authority")) return { status: WasmResult.BadArgument };
        if (body.length > 0) headers.setInPlace("content-length", String(body.length));
        const trailerPairs = decodePairs(trailerBytes);
        const token = vm.calloutTokens.nextHttpCall();
        const started = vm.callouts.startHttpCall(token, rootId(), {
          cluster,
          headers,
          body,
          ...(trailerPairs.length > 0 ? { trailers: new HeaderMap("requestTrailers", trailerPairs) } : {}),
          ...(timeoutMs !== 0 ? { timeoutMs: u32(timeoutMs) } : {}),
        });
        return started ? { status: WasmResult.Ok, token } : { status: WasmResult.InternalFailure };
      })();
      if (token !== undefined) writeU32(vm, tokenPtr, token);
      return status;
    },

    proxy_grpc_call(
      servicePtr: number,
      serviceSize: number,
      serviceNamePtr: number,
      serviceNameSize: number,
      methodNamePtr: number,
      methodNameSize: number,
      metadataPtr: number,
      metadataSize: number,
      messagePtr: number,
      messageSize: number,
      timeoutMs: number,
      tokenPtr: number,
    ) {
      const service = readBytes(vm, servicePtr, serviceSize);
      const serviceName = readBytes(vm, serviceNamePtr, serviceNameSize);
      const methodName = readBytes(vm, methodNamePtr, methodNameSize);
      const metadata = readBytes(vm, metadataPtr, metadataSize);
      const message = readBytes(vm, messagePtr, messageSize);
      if (!service || !serviceName || !methodName || !metadata || !message) return WasmResult.InvalidMemoryAccess;
      const { status, token } = startGrpc(service, serviceName, methodName, metadata, message, u32(timeoutMs), () =>
        vm.calloutTokens.nextGrpcCall(),
      );
      if (status !== WasmResult.Ok) return status;
      return written(writeU32(vm, tokenPtr, token!));
    },

    proxy_grpc_stream(
      servicePtr: number,
      serviceSize: number,
      serviceNamePtr: number,
      serviceNameSize: number,
      methodNamePtr: number,
      methodNameSize: number,
      metadataPtr: number,
      metadataSize: number,
      tokenPtr: number,
    ) {
      const service = readBytes(vm, servicePtr, serviceSize);
      const serviceName = readBytes(vm, serviceNamePtr, serviceNameSize);
      const methodName = readBytes(vm, methodNamePtr, methodNameSize);
      const metadata = readBytes(vm, metadataPtr, metadataSize);
      if (!service || !serviceName || !methodName || !metadata) return WasmResult.InvalidMemoryAccess;
      const { status, token } = startGrpc(service, serviceName, methodName, metadata, undefined, undefined, () =>
        vm.calloutTokens.nextGrpcStream(),
      );
      if (status !== WasmResult.Ok) return status;
      return written(writeU32(vm, tokenPtr, token!));
    },

    proxy_grpc_send(token: number, messagePtr: number, messageSize: number, endStream: number) {
      const message = readBytes(vm, messagePtr, messageSize);
      if (message === undefined) return WasmResult.InvalidMemoryAccess;
      if (!isGrpcStreamToken(u32(token))) return WasmResult.BadArgument;
      return vm.callouts.grpcSend(u32(token), message, u32(endStream) !== 0);
    },
    proxy_grpc_cancel(token: number) {
      return isGrpcToken(u32(token)) ? vm.callouts.grpcCancel(u32(token)) : WasmResult.BadArgument;
    },
    proxy_grpc_close(token: number) {
      return isGrpcToken(u32(token)) ? vm.callouts.grpcClose(u32(token)) : WasmResult.BadArgument;
    },

    /** Envoy resolves asynchronously; the answer (envoy_on_resolve_dns) is owed to the root context. */
    envoy_resolve_dns(addressPtr: number, addressSize: number, tokenPtr: number) {
      const address = readBytes(vm, addressPtr, addressSize);
      if (address === undefined) return WasmResult.InvalidMemoryAccess;
      const token = vm.calloutTokens.nextDns();
      if (!writeU32(vm, tokenPtr, token)) return WasmResult.InvalidMemoryAccess;
      vm.pendingDnsQueries.push({ token, address: text(address), rootContextId: rootId() });
      return WasmResult.Ok;
    },
  };
}

/** grpc_close / grpc_cancel accept call and stream tokens; anything else is BAD_ARGUMENT. */
const isGrpcToken = (token: number) => isGrpcCallToken(token) || isGrpcStreamToken(token);
