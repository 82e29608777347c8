// HTTP and gRPC callouts and DNS (ABI.md §5.8, §5.9, §5.15) as cpp-host's exports run them:
// the memory checks, then the call on the caller's root context (whatever the effective
// context), whose Envoy logic — checks, statuses, tokens, delivery — is in callouts.ts.
import { decodePairs } from "../pairs.js";
import { WasmResult } from "../types.js";
import type { RootContext } from "../../root-context.js";
import type { PluginVm } from "../../vm.js";
import { readBytes, text, u32, writeU32, type HostFunctionTable } from "./support.js";

export function calloutFunctions(vm: PluginVm): HostFunctionTable {
  const rootId = () => {
    const context = vm.effectiveContext();
    return context.root?.id ?? context.id;
  };
  /** `contextOrEffectiveContext()->root_context()`; only the VM context (restricted phases) has none. */
  const root = (): RootContext | undefined => vm.effectiveContext().root;

  /** proxy_grpc_call / proxy_grpc_stream after their memory checks; the token is written only on success. */
  const grpcStart = (kind: "call" | "stream", args: (Uint8Array | undefined)[], timeoutMs: number, tokenPtr: number): WasmResult => {
    const [service, serviceName, methodName, metadata, message] = args;
    if (!service || !serviceName || !methodName || !metadata || (kind === "call" && !message)) return WasmResult.InvalidMemoryAccess;
    const caller = root();
    if (!caller) return WasmResult.InternalFailure;
    const { status, token } = vm.callouts.grpcStart(caller, kind, service, text(serviceName), text(methodName), decodePairs(metadata), message, u32(timeoutMs));
    if (status !== WasmResult.Ok) return status;
    return writeU32(vm, tokenPtr, token!) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
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
      const caller = root();
      if (!caller) return WasmResult.InternalFailure;
      const { status, token } = vm.callouts.httpCall(caller, text(upstream), decodePairs(headerBytes), body, decodePairs(trailerBytes), timeoutMs);
      writeU32(vm, tokenPtr, token ?? 0);
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
        readBytes(vm, servicePtr, serviceSize),
        readBytes(vm, serviceNamePtr, serviceNameSize),
        readBytes(vm, methodNamePtr, methodNameSize),
        readBytes(vm, metadataPtr, metadataSize),
        readBytes(vm, messagePtr, messageSize),
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
        readBytes(vm, servicePtr, serviceSize),
        readBytes(vm, serviceNamePtr, serviceNameSize),
        readBytes(vm, methodNamePtr, methodNameSize),
        readBytes(vm, metadataPtr, metadataSize),
      ];
      return grpcStart("stream", args, 0, tokenPtr);
    },

    proxy_grpc_send(token: number, messagePtr: number, messageSize: number, endStream: number) {
      const message = readBytes(vm, messagePtr, messageSize);
      if (message === undefined) return WasmResult.InvalidMemoryAccess;
      const caller = root();
      return caller ? vm.callouts.grpcSend(caller, u32(token), message, u32(endStream) !== 0) : WasmResult.NotFound;
    },
    proxy_grpc_cancel(token: number) {
      const caller = root();
      return caller ? vm.callouts.grpcCancel(caller, u32(token)) : WasmResult.NotFound;
    },
    proxy_grpc_close(token: number) {
      const caller = root();
      return caller ? vm.callouts.grpcClose(caller, u32(token)) : WasmResult.NotFound;
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
