// tcp-proxy-protocol: a network (TCP) filter that sends a PROXY protocol header to the
// upstream ahead of the client's first bytes, so an application behind the proxy (nginx,
// HAProxy, PostgreSQL poolers, ...) learns the client's address and port instead of the
// proxy's. Configuration: {"version": 1} (text header, the default) or {"version": 2} (binary).
import {
  Configuration, FilterStatus, log, properties, registerRootContext, RootContext, TcpContext, WasmResult,
} from "proxy-wasm-as/assembly";
export * from "proxy-wasm-as/assembly/exports";
import { Endpoint, parseEndpoint } from "./address";
import { headerV1, headerV2 } from "./header";

class ProxyProtocolRoot extends RootContext {
  version: i32 = 1;

  onConfigure(pluginConfigurationSize: u32): bool {
    const version = parseVersion(this.pluginConfiguration);
    if (version < 0) return false;
    this.version = version;
    return true;
  }

  createTcpContext(contextId: u32): TcpContext {
    return new ProxyProtocol(contextId, this, this.version);
  }
}

/** The configured version (1 when the configuration is empty), or -1 after logging what is wrong. */
function parseVersion(configuration: Configuration): i32 {
  if (configuration.isEmpty) return 1;
  const parsed = configuration.json();
  const value = parsed.value;
  let problem = "";
  if (value === null) {
    problem = "the configuration is not valid JSON: " + parsed.error;
  } else if (!value.isObject) {
    problem = "the configuration must be a JSON object such as {\"version\": 1}, not " + value.typeName();
  } else {
    const keys = value.keys();
    for (let i = 0; i < keys.length && problem.length == 0; i++) {
      if (keys[i] != "version") problem = "unknown setting \"" + keys[i] + "\" (the only setting is \"version\")";
    }
    const version = value.get("version");
    if (problem.length == 0 && version !== null) {
      if (!version.isNumber) problem = "\"version\" must be the number 1 or 2, not " + version.typeName();
      else if (version.asNumber() == 1 || version.asNumber() == 2) return <i32>version.asNumber();
      else problem = "\"version\" must be 1 or 2";
    }
  }
  if (problem.length == 0) return 1; // {} keeps the default
  log.error("tcp-proxy-protocol: " + problem);
  return -1;
}

class ProxyProtocol extends TcpContext {
  /** Built when the client connects; sent with its first bytes (a network filter can only add to bytes passing through). */
  private header: ArrayBuffer | null = null;

  constructor(contextId: u32, root: RootContext, private version: i32) {
    super(contextId, root);
  }

  onNewConnection(): FilterStatus {
    const source = endpoint("source.address");
    const destination = endpoint("destination.address");
    this.header = this.version == 2 ? headerV2(source, destination) : headerV1(source, destination);
    return FilterStatus.Continue;
  }

  onDownstreamData(dataSize: u32, endOfStream: bool): FilterStatus {
    const header = this.header;
    if (header === null) return FilterStatus.Continue;
    this.header = null;
    if (this.downstreamData.prepend(header) != WasmResult.Ok) {
      // An upstream that expects the header would misread the stream: better no connection.
      log.error("tcp-proxy-protocol: could not add the header to the client's first bytes; closing the connection");
      this.closeDownstream();
    }
    return FilterStatus.Continue;
  }
}

function endpoint(property: string): Endpoint | null {
  const value = properties.getString(property);
  return value !== null ? parseEndpoint(value) : null;
}

registerRootContext((contextId: u32) => new ProxyProtocolRoot(contextId), "tcp-proxy-protocol");
