// The host side of a proxy-wasm context (cpp-host ContextBase + Envoy's Context): what the
// host calls ask of "the context they act on". The VM context, root contexts and HTTP
// stream contexts override what they have; the defaults are Envoy's answers for a context
// that has no stream (no header maps, empty body buffers, stream control a no-op).
import { BufferType, MapType, StreamType, WasmResult } from "../wasm/types.js";
import { ConstBuffer, NO_BUFFER, type BufferView } from "../envoy/buffers.js";
import type { HeaderMap } from "../envoy/headers.js";
import type { LocalReplyRequest } from "../envoy/http/local-reply.js";
import type { PropertyContext } from "../envoy/properties.js";
import type { LogBook } from "../envoy/logs.js";
import type { Scheduler } from "../envoy/scheduler.js";
import type { CallContext, CallRoot } from "../hostcalls/ports.js";
import type { CallOutcome, CallTarget, PluginCallbacks } from "../wasm/callbacks.js";
import type { VmSettings } from "./options.js";

export type ContextKind = "vm" | "root" | "http" | "tcp";

/** What a context needs of its VM (vm.ts implements it; contexts never import the VM itself). */
export interface ContextVm extends CallTarget {
  readonly settings: VmSettings;
  readonly callbacks: PluginCallbacks;
  readonly scheduler: Scheduler;
  readonly logs: LogBook;
  /** A plugin call is on the stack (callout results wait for it to return). */
  readonly inPluginCall: boolean;
  /** A plugin callback the way cpp-host wraps one (deferred actions after a real call). */
  callback(call: () => CallOutcome): CallOutcome;
  /** cpp-host `addAfterVmCallAction`. */
  defer(action: () => void): void;
  runDeferredActions(): void;
  unregisterContext(context: HostContext): void;
  /** Envoy ~Context of a root: its outstanding callouts are cancelled. */
  cancelCallouts(root: ContextRoot): void;
}

/** The data visible during a callout callback (maps 4–7, buffers 4/5); set by the callout machinery. */
export type CalloutResponse =
  | { kind: "http"; headers: HeaderMap; body: Uint8Array; trailers: HeaderMap | undefined }
  | { kind: "grpcInitialMetadata"; metadata: HeaderMap }
  | { kind: "grpcTrailingMetadata"; metadata: HeaderMap }
  | { kind: "grpcMessage"; message: BufferView };

/** A root context as the other contexts and the callouts see it (root-context.ts implements it). */
export interface ContextRoot extends CallRoot {
  /** proxy_get_status: set by callout failures and closes. */
  status: { code: number; message: string };
  calloutResponse: CalloutResponse | undefined;
  readonly deleted: boolean;
}

export abstract class HostContext implements CallContext {
  abstract readonly kind: ContextKind;
  /** Envoy's per-context `buffer_`: buffer type 8 (CallData) answers whatever was last placed here. */
  private scratch: BufferView = NO_BUFFER;
  /** cpp-host `temp_plugin_`: the plugin configuration is readable (root on_context_create, on_configure). */
  pluginConfigurationInScope = false;

  constructor(
    readonly vm: ContextVm,
    readonly id: number,
  ) {}

  /** cpp-host `root_context()`; undefined for the VM context. */
  abstract get root(): ContextRoot | undefined;
  /** Envoy's log prefix for this context (see envoy/logs.ts). */
  abstract logPrefix(): string;
  abstract propertyContext(): PropertyContext;

  /** Envoy `getConstMap`: the map reads see, or undefined when unavailable. */
  readableMap(type: MapType): HeaderMap | undefined {
    const callout = this.root?.calloutResponse;
    switch (type) {
      case MapType.HttpCallResponseHeaders:
        return callout?.kind === "http" ? callout.headers : undefined;
      case MapType.HttpCallResponseTrailers:
        return callout?.kind === "http" ? callout.trailers : undefined;
      case MapType.GrpcReceiveInitialMetadata:
        return callout?.kind === "grpcInitialMetadata" ? callout.metadata : undefined;
      case MapType.GrpcReceiveTrailingMetadata:
        return callout?.kind === "grpcTrailingMetadata" ? callout.metadata : undefined;
      default:
        return undefined;
    }
  }

  /** Envoy `getMap`: the map writes and `get_header_map_size` use; maps 4–7 never. */
  writableMap(_type: MapType): HeaderMap | undefined {
    return undefined;
  }

  /** Inside `proxy_on_log` (Envoy's access-log phase). */
  get inAccessLogPhase(): boolean {
    return false;
  }

  /** Envoy `getBuffer`; undefined = NOT_FOUND. Also updates the CallData scratch like Envoy does. */
  buffer(type: BufferType): BufferView | undefined {
    switch (type) {
      case BufferType.CallData:
        return this.scratch;
      case BufferType.VmConfiguration:
        return (this.scratch = new ConstBuffer(this.vm.settings.vmConfig));
      case BufferType.PluginConfiguration:
        if (!this.pluginConfigurationInScope) return undefined;
        return (this.scratch = new ConstBuffer(this.vm.settings.pluginConfig));
      case BufferType.HttpCallResponseBody: {
        const callout = this.root?.calloutResponse;
        if (callout?.kind !== "http") return undefined;
        return (this.scratch = new ConstBuffer(callout.body));
      }
      case BufferType.GrpcReceiveBuffer: {
        const callout = this.root?.calloutResponse;
        return (this.scratch = callout?.kind === "grpcMessage" ? callout.message : NO_BUFFER);
      }
      default:
        return (this.scratch = this.streamBuffer(type));
    }
  }

  /** Envoy sets the CallData buffer before calling the plugin with data (proxy_on_foreign_function, DNS results). */
  setCallData(data: Uint8Array): void {
    this.scratch = new ConstBuffer(data);
  }

  /** Body/data buffers (types 0–3): nothing outside a stream. */
  protected streamBuffer(_type: BufferType): BufferView {
    return NO_BUFFER;
  }

  /** Envoy `continueStream` for a context without stream callbacks. */
  continueStream(type: StreamType): WasmResult {
    return type === StreamType.Upstream ? WasmResult.Unimplemented : WasmResult.Ok;
  }

  /** Envoy `closeStream` for a context without stream callbacks. */
  closeStream(_type: StreamType): WasmResult {
    return WasmResult.Ok;
  }

  /** Envoy `sendLocalResponse`: queued on a stream; a no-op elsewhere. */
  sendLocalResponse(_reply: LocalReplyRequest): void {}

  /** 0.1.0 `proxy_get_configuration`: the plugin configuration while in scope, else the VM configuration. */
  configuration(): Uint8Array {
    return this.pluginConfigurationInScope ? this.vm.settings.pluginConfig : this.vm.settings.vmConfig;
  }
}

/** Context 0: current during `_initialize`/`_start` and allocator calls. */
export class VmContext extends HostContext {
  readonly kind = "vm";

  get root(): ContextRoot | undefined {
    return undefined;
  }

  logPrefix(): string {
    return "";
  }

  propertyContext(): PropertyContext {
    return {
      kind: "vm",
      plugin: { name: "", rootId: "", vmId: this.vm.settings.plugin.vmId },
      overrides: this.vm.settings.properties,
      filterState: new Map(),
    };
  }
}
