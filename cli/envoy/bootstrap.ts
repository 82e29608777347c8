// An Envoy bootstrap that runs the chain `pwas serve` runs, for users of plain Envoy: one
// listener with the HTTP connection manager (codec AUTO), one envoy.filters.http.wasm
// filter per plugin in Istio's order, then the router to the upstream; a cluster for the
// upstream, for each --cluster and for each host remote modules are fetched from. Field
// names and type URLs are those of Envoy's v3 API (envoy.extensions.filters.http.wasm.v3.Wasm,
// envoy.extensions.wasm.v3.PluginConfig / VmConfig, envoy.config.core.v3.AsyncDataSource).
import { CliError, ExitCode } from "../errors.js";
import type { PathNormalization } from "../serve/path-normalization.js";
import type { PluginDefinition } from "../serve/plugin-definition.js";
import type { UpstreamTarget } from "../serve/upstream-target.js";

export const TYPE = {
  httpConnectionManager: "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  wasm: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
  router: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
  stringValue: "type.googleapis.com/google.protobuf.StringValue",
  tls: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
  httpProtocolOptions: "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
} as const;

export interface BootstrapOptions {
  /** The chain, already in Istio's order. */
  plugins: PluginDefinition[];
  listen: { host: string; port: number };
  upstream: UpstreamTarget;
  clusters: Record<string, UpstreamTarget>;
  pathNormalization: PathNormalization;
  routeTimeoutMs: number;
  streamIdleTimeoutMs: number;
  /** Envoy's admin interface port (0: none). */
  adminPort: number;
  /** Http1ProtocolOptions.enable_trailers on the listener and the HTTP/1 clusters. */
  http1Trailers?: boolean;
}

type Json = Record<string, unknown>;

export function envoyBootstrap(options: BootstrapOptions): Json {
  const clusters = new Map<string, Json>();
  const trailers = options.http1Trailers === true;
  clusters.set("upstream", cluster("upstream", options.upstream.url, options.upstream.http2, trailers));
  for (const [name, target] of Object.entries(options.clusters)) {
    if (clusters.has(name)) throw new CliError(`--cluster ${name}: the name is taken by the upstream`, ExitCode.Usage, "choose another cluster name");
    clusters.set(name, cluster(name, target.url, target.http2, trailers));
  }
  const wasmFilters = options.plugins.map((plugin) => wasmFilter(plugin, clusters));
  const bootstrap: Json = {
    static_resources: {
      listeners: [
        {
          name: "pwas_chain",
          address: socketAddress(options.listen.host, options.listen.port),
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": TYPE.httpConnectionManager,
                    stat_prefix: "pwas_chain",
                    codec_type: "AUTO",
                    ...(trailers ? { http_protocol_options: { enable_trailers: true } } : {}),
                    ...normalization(options.pathNormalization),
                    ...(options.streamIdleTimeoutMs > 0 ? { stream_idle_timeout: duration(options.streamIdleTimeoutMs) } : { stream_idle_timeout: "0s" }),
                    route_config: {
                      name: "pwas_chain",
                      virtual_hosts: [{ name: "upstream", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "upstream", timeout: duration(options.routeTimeoutMs) } }] }],
                    },
                    http_filters: [...wasmFilters, { name: "envoy.filters.http.router", typed_config: { "@type": TYPE.router } }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [...clusters.values()],
    },
  };
  if (options.adminPort > 0) bootstrap.admin = { address: socketAddress("127.0.0.1", options.adminPort) };
  return bootstrap;
}

/** Istio's meshConfig.pathNormalization, as the HTTP connection manager's own fields. */
function normalization(mode: PathNormalization): Json {
  if (mode === "NONE") return { normalize_path: false };
  if (mode === "BASE") return { normalize_path: true };
  if (mode === "MERGE_SLASHES") return { normalize_path: true, merge_slashes: true };
  return { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: "UNESCAPE_AND_FORWARD" };
}

function wasmFilter(plugin: PluginDefinition, clusters: Map<string, Json>): Json {
  return {
    name: plugin.name,
    typed_config: {
      "@type": TYPE.wasm,
      config: {
        name: plugin.name,
        root_id: plugin.rootId,
        // Envoy hands the plugin the configuration as the string a StringValue holds: Istio's JSON of pluginConfig.
        configuration: { "@type": TYPE.stringValue, value: plugin.pluginConfig },
        fail_open: plugin.failStrategy === "FAIL_OPEN",
        vm_config: {
          runtime: "envoy.wasm.runtime.v8",
          code: code(plugin, clusters),
          ...(Object.keys(plugin.environment).length > 0 ? { environment_variables: { key_values: plugin.environment } } : {}),
        },
      },
    },
  };
}

/** The module: a local file as it is, or a remote one Envoy fetches and checks against its sha256. */
function code(plugin: PluginDefinition, clusters: Map<string, Json>): Json {
  if (plugin.modulePath) return { local: { filename: plugin.modulePath } };
  let url: URL;
  try {
    url = new URL(plugin.url.includes("://") ? plugin.url : `oci://${plugin.url}`);
  } catch {
    throw new CliError(`${plugin.name}: url ${plugin.url} is not a URL`, ExitCode.Invalid);
  }
  if (url.protocol === "oci:") {
    throw new CliError(
      `${plugin.name}: Envoy cannot pull ${plugin.url} (an OCI image; istio-agent does that in a mesh)`,
      ExitCode.Usage,
      `pull the module first: pwas pull ${plugin.url} --output ${plugin.name}.wasm, then give that path as the url (or use --wasm)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new CliError(`${plugin.name}: url scheme ${url.protocol} is not one Envoy can fetch`, ExitCode.Invalid, "use a local path, http:// or https://");
  if (!plugin.sha256) {
    throw new CliError(`${plugin.name}: Envoy needs a sha256 for a remote module (${plugin.url})`, ExitCode.Invalid, "set spec.sha256 in the WasmPlugin (pwas wasmplugin --resolve computes it)");
  }
  const name = `pwas_fetch_${url.hostname.replace(/[^a-zA-Z0-9]/g, "_")}_${url.port || (url.protocol === "https:" ? "443" : "80")}`;
  if (!clusters.has(name)) clusters.set(name, cluster(name, url));
  return { remote: { http_uri: { uri: url.href, cluster: name, timeout: "30s" }, sha256: plugin.sha256 } };
}

function cluster(name: string, url: URL, http2 = false, http1Trailers = false): Json {
  const https = url.protocol === "https:";
  const port = Number(url.port || (https ? 443 : 80));
  return {
    name,
    type: /^\d+\.\d+\.\d+\.\d+$|^\[/.test(url.hostname) ? "STATIC" : "STRICT_DNS",
    connect_timeout: "5s",
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(url.hostname.replace(/^\[|\]$/g, ""), port) } }] }] },
    ...(https ? { transport_socket: { name: "envoy.transport_sockets.tls", typed_config: { "@type": TYPE.tls, sni: url.hostname, ...(http2 ? { common_tls_context: { alpn_protocols: ["h2"] } } : {}) } } } : {}),
    ...(http2 || http1Trailers
      ? {
          typed_extension_protocol_options: {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
              "@type": TYPE.httpProtocolOptions,
              explicit_http_config: http2 ? { http2_protocol_options: {} } : { http_protocol_options: { enable_trailers: true } },
            },
          },
        }
      : {}),
  };
}

function socketAddress(address: string, port: number): Json {
  return { socket_address: { address, port_value: port } };
}

/** A protobuf Duration in its JSON form. */
function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}
