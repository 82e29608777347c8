// Exports every plugin needs: the ABI marker, the allocators and the context lifecycle
// (ABI.md §4.1–§4.3), dispatched to the author's contexts.
import { collectIfDue } from "../collector";
import { allocate } from "../memory";
import { invalidateLogLevel } from "../../log";
import { properties } from "../../properties";
import { anyContext, createRootContext, createStreamContext, forgetContext, httpContext, logOtherStream, rootContext } from "../../registry";

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

export function proxy_on_log(contextId: u32): void {
  collectIfDue();
  const context = httpContext(contextId);
  if (context !== null) context.onLog();
  else logOtherStream(contextId);
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
