// Typed readers for the Envoy attributes plugins ask for most (ABI.md §7), so a plugin
// does not have to know each one's path and encoding. The xds.* readers fall back to the
// legacy top-level names (node, cluster_name, route_name, listener_direction) that older
// Envoy and Istio serve instead, and current Envoy no longer does (envoy PR #36619).
// Each returns null (or the fallback) when absent; `lastResult()` says why.
import { lastResult } from "./abi/status";
import { properties, PropertyValue } from "./properties";
import { WasmResult } from "./types";

/** The value at `path`, else at `legacyPath` when `path` is unknown to this Envoy. */
function withLegacy(path: Array<string>, legacyPath: Array<string>): PropertyValue | null {
  const value = properties.getPath(path);
  if (value !== null || lastResult() != WasmResult.NotFound) return value;
  return properties.getPath(legacyPath);
}

function text(value: PropertyValue | null): string | null {
  return value !== null ? value.asString() : null;
}

export namespace attributes {
  /** Downstream client address with port: "10.0.0.1:51234", "[::1]:51234". */
  export function sourceAddress(): string | null { return properties.getString("source.address"); }
  export function sourcePort(fallback: i64 = -1): i64 { return properties.getInt("source.port", fallback); }
  /** The listener address the client connected to, with port. */
  export function destinationAddress(): string | null { return properties.getString("destination.address"); }
  export function destinationPort(fallback: i64 = -1): i64 { return properties.getInt("destination.port", fallback); }

  export function connectionId(fallback: u64 = 0): u64 { return properties.getUint("connection.id", fallback); }
  /** The downstream connection uses TLS and the client presented a certificate. */
  export function connectionMtls(): bool { return properties.getBool("connection.mtls"); }
  /** SNI of the downstream connection. */
  export function requestedServerName(): string | null { return properties.getString("connection.requested_server_name"); }

  /** The upstream host once one was selected (response phase), with port. */
  export function upstreamAddress(): string | null { return properties.getString("upstream.address"); }
  export function upstreamPort(fallback: i64 = -1): i64 { return properties.getInt("upstream.port", fallback); }

  export function pluginName(): string | null { return properties.getString("plugin_name"); }
  export function pluginRootId(): string | null { return properties.getString("plugin_root_id"); }
  export function pluginVmId(): string | null { return properties.getString("plugin_vm_id"); }

  /** xds.node.id (legacy: node.id): the proxy's node id, e.g. "sidecar~10.1.2.3~pod.ns~ns.svc.cluster.local" in Istio. */
  export function nodeId(): string | null { return text(withLegacy(["xds", "node", "id"], ["node", "id"])); }
  export function nodeCluster(): string | null { return text(withLegacy(["xds", "node", "cluster"], ["node", "cluster"])); }
  /** xds.node.metadata.<key> (legacy: node.metadata.<key>); Istio's NAME, NAMESPACE, LABELS… Numbers are doubles. */
  export function nodeMetadata(key: string): PropertyValue | null {
    return withLegacy(["xds", "node", "metadata", key], ["node", "metadata", key]);
  }
  /** A string field of the node metadata (NAME, NAMESPACE, WORKLOAD_NAME, MESH_ID, CLUSTER_ID…). */
  export function nodeMetadataString(key: string): string | null { return text(nodeMetadata(key)); }

  /** xds.cluster_name (legacy: cluster_name): the upstream cluster of the route. */
  export function clusterName(): string | null { return text(withLegacy(["xds", "cluster_name"], ["cluster_name"])); }
  export function routeName(): string | null { return text(withLegacy(["xds", "route_name"], ["route_name"])); }
  /** 0 unspecified, 1 inbound, 2 outbound (legacy: listener_direction); `fallback` when absent. */
  export function listenerDirection(fallback: i64 = -1): i64 {
    const value = withLegacy(["xds", "listener_direction"], ["listener_direction"]);
    return value !== null ? value.asInt() : fallback;
  }
}
