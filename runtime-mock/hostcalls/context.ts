// Context control, time, tick and the small env functions (ABI.md §5.2, §5.7 get_status,
// §5.13, §5.15).
import { WasmResult } from "../wasm/types.js";
import type { ContextCallHost } from "./ports.js";
import { bytesOf, copyOut, u32, written, writeU32, writeU64, type HostFunctionTable } from "./support.js";

export function contextFunctions(host: ContextCallHost): HostFunctionTable {
  return {
    /** Any live context of this VM, including 0 (= back to the real current context). */
    proxy_set_effective_context(contextId: number) {
      return host.setEffectiveContext(u32(contextId));
    },

    /** Finishes this plugin's root context that answered false to proxy_on_done; on_delete follows after the call. */
    proxy_done() {
      const root = host.effectiveContext().root;
      if (!root || !root.pendingDone) return WasmResult.NotFound;
      root.pendingDone = false;
      host.defer(() => root.finishShutdown());
      return WasmResult.Ok;
    },

    /** The root context's last callout status (code sticky, message cleared after callbacks). */
    proxy_get_status(codePtr: number, messagePtrPtr: number, messageSizePtr: number) {
      const context = host.effectiveContext();
      const status = context.root?.status ?? { code: 0, message: "" };
      if (!writeU32(host, codePtr, status.code)) return WasmResult.InvalidMemoryAccess;
      return copyOut(host, bytesOf(status.message), messagePtrPtr, messageSizePtr);
    },

    /** Sets (and restarts) the tick timer of the caller's root context; 0 stops ticks. */
    proxy_set_tick_period_milliseconds(periodMs: number) {
      const root = host.effectiveContext().root;
      if (root) root.setTickPeriod(u32(periodMs));
      return WasmResult.Ok;
    },

    proxy_get_current_time_nanoseconds(resultPtr: number) {
      return written(writeU64(host, resultPtr, host.settings.clock.realtimeNs()));
    },

    pthread_equal(left: number, right: number) {
      return u32(left) === u32(right) ? 1 : 0;
    },

    emscripten_notify_memory_growth(_memoryIndex: number): void {},
  };
}
