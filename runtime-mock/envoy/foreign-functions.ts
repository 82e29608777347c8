// Foreign functions (ABI.md §5.14, §4.3). Host functions a plugin reaches by name through
// proxy_call_foreign_function: Envoy registers them process-wide (compress/uncompress
// with zlib, clear_route_cache, and a few that need Envoy's protobuf types —
// declare_property, set_envoy_filter_state, expr_*, sign, verify_signature — which are not
// modelled and answer NOT_FOUND); tests add their own. The other direction (a host
// extension calling the plugin's proxy_on_foreign_function) is RootContext.foreignFunction.
import { deflateSync, inflateSync } from "node:zlib";
import { WasmResult } from "../wasm/types.js";
import { utf8Bytes } from "../wasm/utf8.js";

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


/** A result in the form the host function writes back: status, and output bytes if any. */
export function normalizeResult(result: ForeignFunctionResult): { status: WasmResult; output?: Uint8Array } {
  if (result === undefined) return { status: WasmResult.Ok };
  if (typeof result === "string") return { status: WasmResult.Ok, output: utf8Bytes(result) };
  if (result instanceof Uint8Array) return { status: WasmResult.Ok, output: result };
  const output = typeof result.result === "string" ? utf8Bytes(result.result) : result.result;
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
