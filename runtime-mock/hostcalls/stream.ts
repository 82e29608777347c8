// Stream control and local replies (ABI.md §5.3, §5.7): continue/close (stream type > 3 is
// BAD_ARGUMENT in cpp-host before Envoy looks), proxy_send_local_response (memory checks,
// then queued on the context; the current callback's result is forced to "stop"), and the
// 0.1.0 variants.
import { decodePairs } from "../wasm/pairs.js";
import { StreamType, WasmResult } from "../wasm/types.js";
import { sanitizeDetails } from "../envoy/http/local-reply.js";
import type { StreamCallHost } from "./ports.js";
import { copyOut, readBytes, text, u32, type HostFunctionTable } from "./support.js";

const MAX_GRPC_STATUS = 16;

export function streamFunctions(host: StreamCallHost): HostFunctionTable {
  return {
    proxy_continue_stream(type: number) {
      if (u32(type) > StreamType.Upstream) return WasmResult.BadArgument;
      return host.effectiveContext().continueStream(u32(type) as StreamType);
    },
    proxy_close_stream(type: number) {
      if (u32(type) > StreamType.Upstream) return WasmResult.BadArgument;
      return host.effectiveContext().closeStream(u32(type) as StreamType);
    },
    proxy_continue_request() {
      return host.effectiveContext().continueStream(StreamType.HttpRequest);
    },
    proxy_continue_response() {
      return host.effectiveContext().continueStream(StreamType.HttpResponse);
    },
    /** 0.1.0; Envoy's route cache is not modelled. */
    proxy_clear_route_cache() {
      return WasmResult.Ok;
    },
    /** 0.1.0: the plugin configuration during on_configure, else the VM configuration. */
    proxy_get_configuration(ptrPtr: number, sizePtr: number) {
      return copyOut(host, host.effectiveContext().configuration(), ptrPtr, sizePtr);
    },

    proxy_send_local_response(
      statusCode: number,
      detailsPtr: number,
      detailsSize: number,
      bodyPtr: number,
      bodySize: number,
      headersPtr: number,
      headersSize: number,
      grpcStatus: number,
    ) {
      const details = readBytes(host, detailsPtr, detailsSize);
      const body = readBytes(host, bodyPtr, bodySize);
      const headers = readBytes(host, headersPtr, headersSize);
      if (!details || !body || !headers) return WasmResult.InvalidMemoryAccess;
      host.effectiveContext().sendLocalResponse({
        statusCode: u32(statusCode),
        body,
        headers: decodePairs(headers), // malformed → no extra headers
        grpcStatus: u32(grpcStatus) <= MAX_GRPC_STATUS ? u32(grpcStatus) : undefined, // -1 = none
        details: sanitizeDetails(text(details)),
      });
      host.requestStopIteration();
      return WasmResult.Ok;
    },
  };
}
