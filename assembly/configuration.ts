// Plugin and VM configuration (buffers 7 and 6). The plugin configuration is only
// readable during onConfigure (and the root's creation), as in Envoy.
import { Body } from "./body";
import { parseJsonBytes, JsonResult } from "./json";
import { BufferType } from "./types";

/** A configuration blob with readers for bytes, text and JSON. */
export class Configuration {
  constructor(public readonly bytes: ArrayBuffer) {}

  get size(): i32 { return this.bytes.byteLength; }
  get isEmpty(): bool { return this.bytes.byteLength == 0; }

  text(): string { return String.UTF8.decode(this.bytes); }

  /** Parses the configuration as JSON; the result carries a positioned error message. */
  json(): JsonResult { return parseJsonBytes(this.bytes); }
}

const pluginBuffer = new Body(BufferType.PluginConfiguration);
const vmBuffer = new Body(BufferType.VmConfiguration);

/** The plugin configuration (`pluginConfig` of a WasmPlugin, as JSON text). */
export function pluginConfiguration(): Configuration {
  return new Configuration(pluginBuffer.bytes());
}

/** The VM configuration (`vm_config.configuration` in Envoy). */
export function vmConfiguration(): Configuration {
  return new Configuration(vmBuffer.bytes());
}
