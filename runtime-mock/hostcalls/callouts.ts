// HTTP and gRPC callouts and DNS (ABI.md §5.8, §5.9, §5.15) as cpp-host's exports run them:
// the memory checks, then the call on the caller's root context (whatever the effective
// context), whose Envoy logic — checks, statuses, tokens, delivery — is in vm/callouts.ts.
import { decodePairs } from "../wasm/pairs.js";
import { WasmResult } from "../wasm/types.js";
import type { CallRoot, CalloutCallHost } from "./ports.js";
import { readBytes, text, u32, writeU32, type HostFunctionTable } from "./support.js";

export function calloutFunctions(host: CalloutCallHost): HostFunctionTable {
  const rootId = () => {
    const context = host.effectiveContext();
    return context.root?.id ?? context.id;
  };
  /** `contextOrEffectiveContext()->root_context()`; only the VM context (restricted phases) has none. */
  const root = (): CallRoot | undefined => host.effectiveContext().root;

  /** proxy_grpc_call / proxy_grpc_stream after their memory checks; the token is written only on success. */
  const grpcStart = (kind: "call" | "stream", args: (Uint8Array | undefined)[], timeoutMs: number, tokenPtr: number): WasmResult => {
    const [service, serviceName, methodName, metadata, message] = args;
    if (!service || !serviceName || !methodName || !metadata || (kind === "call" && !message)) return WasmResult.InvalidMemoryAccess;
    const caller = root();
    if (!caller) return WasmResult.InternalFailure;
    const { status, token } = host.callouts.grpcStart(caller, kind, service, text(serviceName), text(methodName), decodePairs(metadata), message, u32(timeoutMs));
    if (status !== WasmResult.Ok) return status;
    return writeU32(host, tokenPtr, token!) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
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
      const upstream = readBytes(host, upstreamPtr, upstreamSize);
      const body = readBytes(host, bodyPtr, bodySize);
      const headerBytes = readBytes(host, headersPtr, headersSize);
      const trailerBytes = readBytes(host, trailersPtr, trailersSize);
      if (!upstream || !body || !headerBytes || !trailerBytes) return WasmResult.InvalidMemoryAccess;
      // cpp-host writes 0 to the token slot first, so a bad pointer fails before anything is sent.
      if (!writeU32(host, tokenPtr, 0)) return WasmResult.InvalidMemoryAccess;
      const caller = root();
      if (!caller) return WasmResult.InternalFailure;
      const { status, token } = host.callouts.httpCall(caller, text(upstream), decodePairs(headerBytes), body, decodePairs(trailerBytes), timeoutMs);
      writeU32(host, tokenPtr, token ?? 0);
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
      const args = [
        readBytes(host, servicePtr, serviceSize),
        readBytes(host, serviceNamePtr, serviceNameSize),
        readBytes(host, methodNamePtr, methodNameSize),
        readBytes(host, metadataPtr, metadataSize),
        readBytes(host, messagePtr, messageSize),
      ];
      return grpcStart("call", args, timeoutMs, tokenPtr);
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
      const args = [
        readBytes(host, servicePtr, serviceSize),
        readBytes(host, serviceNamePtr, serviceNameSize),
        readBytes(host, methodNamePtr, methodNameSize),
        readBytes(host, metadataPtr, metadataSize),
      ];
      return grpcStart("stream", args, 0, tokenPtr);
    },

    proxy_grpc_send(token: number, messagePtr: number, messageSize: number, endStream: number) {
      const message = readBytes(host, messagePtr, messageSize);
      if (message === undefined) return WasmResult.InvalidMemoryAccess;
      const caller = root();
      return caller ? host.callouts.grpcSend(caller, u32(token), message, u32(endStream) !== 0) : WasmResult.NotFound;
    },
    proxy_grpc_cancel(token: number) {
      const caller = root();
      return caller ? host.callouts.grpcCancel(caller, u32(token)) : WasmResult.NotFound;
    },
    proxy_grpc_close(token: number) {
      const caller = root();
      return caller ? host.callouts.grpcClose(caller, u32(token)) : WasmResult.NotFound;
    },

    /** Envoy resolves asynchronously; the answer (envoy_on_resolve_dns) is owed to the root context. */
    envoy_resolve_dns(addressPtr: number, addressSize: number, tokenPtr: number) {
      const address = readBytes(host, addressPtr, addressSize);
      if (address === undefined) return WasmResult.InvalidMemoryAccess;
      const token = host.calloutTokens.nextDns();
      if (!writeU32(host, tokenPtr, token)) return WasmResult.InvalidMemoryAccess;
      host.pendingDnsQueries.push({ token, address: text(address), rootContextId: rootId() });
      return WasmResult.Ok;
    },
  };
}
