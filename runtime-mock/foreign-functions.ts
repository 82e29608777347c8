// Host functions a plugin reaches by name through proxy_call_foreign_function (ABI.md
// §5.14). Envoy registers compress/uncompress (zlib), clear_route_cache and a few that
// need Envoy's protobuf types (declare_property, set_envoy_filter_state, expr_*, sign,
// verify_signature); only the first three exist here, the others answer NOT_FOUND.
import { deflateSync, inflateSync } from "node:zlib";
import { WasmResult } from "./abi/types.js";

/** `result` undefined = the function produced nothing (the host writes ptr 0 / size 0). */
export type ForeignFunction = (args: Uint8Array) => { status: WasmResult; result?: Uint8Array };

export class ForeignFunctionRegistry {
  private readonly functions = new Map<string, ForeignFunction>();

  register(name: string, fn: ForeignFunction): void {
    this.functions.set(name, fn);
  }

  get(name: string): ForeignFunction | undefined {
    return this.functions.get(name);
  }

  /** Envoy's registrations that need nothing but zlib. */
  static envoyDefaults(): ForeignFunctionRegistry {
    const registry = new ForeignFunctionRegistry();
    // zlib `compress()`: zlib container, default level.
    registry.register("compress", (args) => {
      try {
        return { status: WasmResult.Ok, result: new Uint8Array(deflateSync(args)) };
      } catch {
        return { status: WasmResult.SerializationFailure };
      }
    });
    registry.register("uncompress", (args) => {
      try {
        return { status: WasmResult.Ok, result: new Uint8Array(inflateSync(args)) };
      } catch {
        return { status: WasmResult.SerializationFailure };
      }
    });
    // The route cache is not modelled; the call succeeds without output as in Envoy.
    registry.register("clear_route_cache", () => ({ status: WasmResult.Ok }));
    return registry;
  }
}
