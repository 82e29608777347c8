// The module's exports: the ABI marker, the allocator and every HTTP callback of
// ABI 0.2.1 (ABI.md §4), dispatched to the author's contexts. A plugin's entry file
// re-exports this module: `export * from "proxy-wasm-as/assembly/exports"`.
import { collectIfDue } from "./collector";
import { allocate } from "./memory";
import { invalidateLogLevel } from "../log";
import { properties } from "../properties";
import {
  anyContext, createRootContext, createStreamContext, forgetContext, httpContext, rootContext,
} from "../registry";
import { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus } from "../types";

export function proxy_abi_version_0_2_1(): void {}

/** Envoy calls `malloc` when it is exported (ABI.md §2); other hosts call the next one. */
export function malloc(size: usize): usize {
  return allocate(size);
}

export function proxy_on_memory_allocate(size: usize): usize {
  return allocate(size);
}

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  collectIfDue();
  invalidateLogLevel();
  if (parentContextId == 0) {
    const rootId = properties.getString("plugin_root_id");
    createRootContext(contextId, rootId !== null ? rootId : "");
  } else {
    createStreamContext(contextId, parentContextId);
  }
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): bool {
  collectIfDue();
  const root = rootContext(rootContextId);
  return root !== null ? root.onVmStart(vmConfigurationSize) : false;
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: u32): bool {
  collectIfDue();
  const root = rootContext(rootContextId);
  return root !== null ? root.onConfigure(pluginConfigurationSize) : false;
}

export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: bool): FilterHeadersStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onRequestHeaders(headerCount, endOfStream) : FilterHeadersStatus.Continue;
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onRequestBody(bodySize, endOfStream) : FilterDataStatus.Continue;
}

export function proxy_on_request_trailers(contextId: u32, trailerCount: u32): FilterTrailersStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onRequestTrailers(trailerCount) : FilterTrailersStatus.Continue;
}

export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: bool): FilterHeadersStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onResponseHeaders(headerCount, endOfStream) : FilterHeadersStatus.Continue;
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onResponseBody(bodySize, endOfStream) : FilterDataStatus.Continue;
}

export function proxy_on_response_trailers(contextId: u32, trailerCount: u32): FilterTrailersStatus {
  collectIfDue();
  const context = httpContext(contextId);
  return context !== null ? context.onResponseTrailers(trailerCount) : FilterTrailersStatus.Continue;
}

export function proxy_on_log(contextId: u32): void {
  collectIfDue();
  const context = httpContext(contextId);
  if (context !== null) context.onLog();
}

export function proxy_on_done(contextId: u32): bool {
  collectIfDue();
  const context = anyContext(contextId);
  return context !== null ? context.onDone() : true;
}

export function proxy_on_delete(contextId: u32): void {
  collectIfDue();
  const context = anyContext(contextId);
  if (context !== null) context.onDelete();
  forgetContext(contextId);
}
