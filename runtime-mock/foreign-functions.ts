// Foreign functions (ABI.md §5.14, §4.3). Host functions a plugin reaches by name through
// proxy_call_foreign_function: Envoy registers them process-wide (compress/uncompress
// with zlib, clear_route_cache, and a few that need Envoy's protobuf types —
// declare_property, set_envoy_filter_state, expr_*, sign, verify_signature — which are not
// modelled and answer NOT_FOUND); tests add their own. And the other direction: a host
// extension calling the plugin's proxy_on_foreign_function (0.2.x only) with the
// arguments in the root context's CallData buffer (type 8).
import { deflateSync, inflateSync } from "node:zlib";
import { invokeExport } from "./abi/callbacks.js";
import { WasmResult } from "./abi/types.js";
import type { HostContext } from "./context.js";
import type { PluginVm } from "./vm.js";

/** Who is calling: the plugin and the context the call acts on (the effective context). */
export interface ForeignFunctionCaller {
  vmId: string;
  pluginName: string;
  rootId: string;
  contextId: number;
}

/**
 * What a function returns: its output (bytes or UTF-8 text) with status Ok; nothing
 * (Ok, no output: the plugin gets ptr 0 / size 0); or an explicit status with optional output.
 */
export type ForeignFunctionResult = Uint8Array | string | void | { status: WasmResult; result?: Uint8Array | string };

export type ForeignFunction = (args: Uint8Array, caller: ForeignFunctionCaller) => ForeignFunctionResult;

const encoder = new TextEncoder();

/** A result in the form the host function writes back: status, and output bytes if any. */
export function normalizeResult(result: ForeignFunctionResult): { status: WasmResult; output?: Uint8Array } {
  if (result === undefined) return { status: WasmResult.Ok };
  if (typeof result === "string") return { status: WasmResult.Ok, output: encoder.encode(result) };
  if (result instanceof Uint8Array) return { status: WasmResult.Ok, output: result };
  const output = typeof result.result === "string" ? encoder.encode(result.result) : result.result;
  return { status: result.status, output };
}

export class ForeignFunctionRegistry {
  private readonly functions = new Map<string, ForeignFunction>();

  /** Adds or replaces a function (Envoy's built-ins too). */
  register(name: string, fn: ForeignFunction): void {
    this.functions.set(name, fn);
  }

  unregister(name: string): boolean {
    return this.functions.delete(name);
  }

  get(name: string): ForeignFunction | undefined {
    return this.functions.get(name);
  }

  get names(): string[] {
    return [...this.functions.keys()];
  }

  /** Envoy's registrations that need nothing but zlib. */
  static envoyDefaults(): ForeignFunctionRegistry {
    const registry = new ForeignFunctionRegistry();
    // zlib `compress()`: zlib container, default level; errors are SERIALIZATION_FAILURE.
    const zlib = (transform: (data: Uint8Array) => Buffer) => (args: Uint8Array) => {
      try {
        return new Uint8Array(transform(args));
      } catch {
        return { status: WasmResult.SerializationFailure };
      }
    };
    registry.register("compress", zlib(deflateSync));
    registry.register("uncompress", zlib(inflateSync));
    // The route cache is not modelled; the call succeeds without output as in Envoy.
    registry.register("clear_route_cache", () => undefined);
    return registry;
  }
}

/** The calling plugin, for a function's second argument. */
export function callerOf(vm: PluginVm, context: HostContext): ForeignFunctionCaller {
  const { vmId, name, rootId } = vm.settings.plugin;
  return { vmId, pluginName: name, rootId, contextId: context.id };
}

/**
 * A host extension calls the plugin: proxy_on_foreign_function(root, functionId, size) with
 * the arguments as the root's CallData buffer. Only 0.2.x modules have the callback
 * (cpp-host does not look it up for 0.1.0). Returns whether the plugin was called.
 */
export function invokePluginForeignFunction(vm: PluginVm, root: HostContext, functionId: number, args: Uint8Array): boolean {
  if (vm.abiVersion === "0.1.0") return false;
  root.setCallData(args);
  const outcome = vm.callback(() => invokeExport(vm, root.id, "proxy_on_foreign_function", [root.id, functionId >>> 0, args.length]));
  return outcome.kind === "ok" || outcome.kind === "trapped";
}
