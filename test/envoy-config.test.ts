// pwas envoy-config: a bootstrap for plain Envoy running pwas serve's chain. Checked
// against the messages of Envoy's v3 API it must fit (their field names, type URLs and
// required fields, from the protos named below), so Envoy would accept it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { runPwas } from "./support/pwas-run.js";

const dir = mkdtempSync(join(tmpdir(), "pwas-envoy-"));

/** Fields of the v3 messages the output uses, and which of them Envoy requires (validate rules in the protos). */
const MESSAGES: Record<string, { fields: string[]; required?: string[] }> = {
  // envoy/extensions/filters/http/wasm/v3/wasm.proto
  Wasm: { fields: ["config"] },
  // envoy/extensions/wasm/v3/wasm.proto
  PluginConfig: { fields: ["name", "root_id", "vm_config", "configuration", "fail_open", "failure_policy", "capability_restriction_config"] },
  VmConfig: { fields: ["vm_id", "runtime", "code", "configuration", "allow_precompiled", "nack_on_code_cache_miss", "environment_variables"], required: ["runtime", "code"] },
  // envoy/config/core/v3/base.proto
  AsyncDataSource: { fields: ["local", "remote"] },
  DataSource: { fields: ["filename", "inline_bytes", "inline_string", "environment_variable"] },
  RemoteDataSource: { fields: ["http_uri", "sha256", "retry_policy"], required: ["http_uri", "sha256"] },
  // envoy/config/core/v3/http_uri.proto
  HttpUri: { fields: ["uri", "cluster", "timeout"], required: ["uri", "cluster", "timeout"] },
  // google/protobuf/any.proto (JSON form) holding a StringValue
  StringValueAny: { fields: ["@type", "value"], required: ["@type", "value"] },
  // envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto (the fields used)
  HttpConnectionManager: {
    fields: ["@type", "stat_prefix", "codec_type", "route_config", "http_filters", "normalize_path", "merge_slashes", "path_with_escaped_slashes_action", "stream_idle_timeout", "http_protocol_options"],
    required: ["stat_prefix"],
  },
  // envoy/config/cluster/v3/cluster.proto (the fields used)
  Cluster: { fields: ["name", "type", "connect_timeout", "load_assignment", "transport_socket", "typed_extension_protocol_options"], required: ["name"] },
  // envoy/extensions/upstreams/http/v3/http_protocol_options.proto (the fields used)
  HttpProtocolOptions: { fields: ["@type", "explicit_http_config", "auto_config", "use_downstream_protocol_config", "common_http_protocol_options"] },
  ExplicitHttpConfig: { fields: ["http_protocol_options", "http2_protocol_options", "http3_protocol_options"] },
};

function fits(value: unknown, message: string, path: string): void {
  assert.ok(value !== null && typeof value === "object" && !Array.isArray(value), `${path} is a ${message} object`);
  const spec = MESSAGES[message]!;
  for (const key of Object.keys(value as object)) assert.ok(spec.fields.includes(key), `${path}.${key} is not a field of ${message}`);
  for (const key of spec.required ?? []) assert.ok(key in (value as object), `${path}.${key} is required by ${message}`);
}

/** Checks every wasm filter and cluster of a bootstrap against the messages above; returns the filters. */
function checkBootstrap(bootstrap: any): any[] {
  const hcm = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0];
  assert.equal(hcm.name, "envoy.filters.network.http_connection_manager");
  assert.equal(hcm.typed_config["@type"], "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
  fits(hcm.typed_config, "HttpConnectionManager", "hcm");
  assert.equal(hcm.typed_config.codec_type, "AUTO");
  const filters = hcm.typed_config.http_filters as any[];
  assert.equal(filters.at(-1).name, "envoy.filters.http.router", "the router comes last");
  assert.equal(filters.at(-1).typed_config["@type"], "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router");
  const wasm = filters.slice(0, -1);
  for (const filter of wasm) {
    const at = `http_filters[${filter.name}]`;
    assert.equal(filter.typed_config["@type"], "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
    const { "@type": _type, ...wasmConfig } = filter.typed_config;
    fits(wasmConfig, "Wasm", at);
    fits(filter.typed_config.config, "PluginConfig", `${at}.config`);
    fits(filter.typed_config.config.configuration, "StringValueAny", `${at}.config.configuration`);
    assert.equal(filter.typed_config.config.configuration["@type"], "type.googleapis.com/google.protobuf.StringValue");
    const vm = filter.typed_config.config.vm_config;
    fits(vm, "VmConfig", `${at}.vm_config`);
    assert.equal(vm.runtime, "envoy.wasm.runtime.v8");
    fits(vm.code, "AsyncDataSource", `${at}.vm_config.code`);
    assert.equal(Object.keys(vm.code).length, 1, "one of local or remote");
    if (vm.code.local) fits(vm.code.local, "DataSource", `${at}.code.local`);
    else {
      fits(vm.code.remote, "RemoteDataSource", `${at}.code.remote`);
      fits(vm.code.remote.http_uri, "HttpUri", `${at}.code.remote.http_uri`);
      assert.ok(bootstrap.static_resources.clusters.some((c: any) => c.name === vm.code.remote.http_uri.cluster), "the fetch cluster exists");
    }
  }
  for (const cluster of bootstrap.static_resources.clusters) fits(cluster, "Cluster", `clusters[${cluster.name}]`);
  const route = hcm.typed_config.route_config.virtual_hosts[0].routes[0].route;
  assert.ok(bootstrap.static_resources.clusters.some((c: any) => c.name === route.cluster), "the route's cluster exists");
  return wasm;
}

async function envoyConfig(args: string[]): Promise<{ code: number; stdout: string; stderr: string; bootstrap?: any }> {
  const result = await runPwas(["envoy-config", ...args]);
  return { ...result, ...(result.code === 0 ? { bootstrap: parse(result.stdout) } : {}) };
}

function plugin(name: string, spec: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: ${name}\n  namespace: demo\nspec:\n${Object.entries(spec).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join("\n")}\n`);
  return file;
}

describe("pwas envoy-config", () => {
  test("the default chain: Istio's order, each plugin's module, root id, configuration as JSON and failure policy; the upstream and --cluster", async () => {
    const { code, stderr, bootstrap } = await envoyConfig(["-p", "examples/dev-chain.yaml", "--upstream", "http://127.0.0.1:9000", "--cluster", "auth=http://auth.local:9001"]);
    assert.equal(code, 0, stderr);
    const filters = checkBootstrap(bootstrap);
    assert.deepEqual(filters.map((f) => f.name), ["basic-auth", "header-authorization", "header-append"]);
    const ha = filters[2].typed_config.config;
    assert.equal(ha.root_id, "header-append");
    assert.deepEqual(JSON.parse(ha.configuration.value), { "first-header": "some-value", "another-header": "another-value" });
    assert.equal(ha.fail_open, false);
    assert.equal(ha.vm_config.code.local.filename, resolve("examples/header-append/build/release.wasm"));
    const clusters = Object.fromEntries(bootstrap.static_resources.clusters.map((c: any) => [c.name, c]));
    assert.deepEqual(clusters.upstream.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: "127.0.0.1", port_value: 9000 });
    assert.equal(clusters.upstream.type, "STATIC");
    assert.equal(clusters.auth.type, "STRICT_DNS");
    assert.equal(bootstrap.admin.address.socket_address.port_value, 9901);
  });

  test("HTTP/2 clusters (--upstream-http2, a ,http2 cluster) get http2_protocol_options, and ALPN h2 over TLS", async () => {
    const { code, stderr, bootstrap } = await envoyConfig(["-p", "examples/dev-chain.yaml", "--upstream", "http://127.0.0.1:50051", "--upstream-http2", "--cluster", "authz=https://authz.local:9191,http2", "--cluster", "plain=http://plain.local:80"]);
    assert.equal(code, 0, stderr);
    checkBootstrap(bootstrap);
    const clusters = Object.fromEntries(bootstrap.static_resources.clusters.map((c: any) => [c.name, c]));
    const options = (c: any) => c.typed_extension_protocol_options?.["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
    for (const name of ["upstream", "authz"]) {
      const http = options(clusters[name]);
      fits(http, "HttpProtocolOptions", `${name}.typed_extension_protocol_options`);
      assert.equal(http["@type"], "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
      fits(http.explicit_http_config, "ExplicitHttpConfig", `${name}.explicit_http_config`);
      assert.deepEqual(http.explicit_http_config, { http2_protocol_options: {} });
    }
    assert.deepEqual(clusters.authz.transport_socket.typed_config.common_tls_context, { alpn_protocols: ["h2"] });
    assert.equal(options(clusters.plain), undefined, "an HTTP/1.1 cluster has none");

    const withTrailers = await envoyConfig(["-p", "examples/dev-chain.yaml", "--upstream", "http://127.0.0.1:9000", "--http1-trailers"]);
    assert.equal(withTrailers.code, 0, withTrailers.stderr);
    checkBootstrap(withTrailers.bootstrap);
    const hcm = withTrailers.bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    assert.deepEqual(hcm.http_protocol_options, { enable_trailers: true }, "--http1-trailers: the listener's HTTP/1 codec passes trailers");
    const upstream = withTrailers.bootstrap.static_resources.clusters.find((c: any) => c.name === "upstream");
    assert.deepEqual(options(upstream).explicit_http_config, { http_protocol_options: { enable_trailers: true } });
  });

  test("--wasm, FAIL_OPEN, a remote module with its sha256 (and a TLS cluster to fetch it), normalization and timeouts", async () => {
    const remote = plugin("remote", { url: "https://plugins.example.com/auth.wasm", sha256: "a".repeat(64), failStrategy: "FAIL_OPEN", phase: "AUTHN", pluginName: "auth" });
    const { code, stderr, bootstrap } = await envoyConfig(["-p", remote, "--path-normalization", "DECODE_AND_MERGE_SLASHES", "--route-timeout", "0", "-o", join(dir, "out.yaml")]);
    assert.equal(code, 0, stderr);
    const written = parse(readFileSync(join(dir, "out.yaml"), "utf8"));
    assert.equal(bootstrap, null, "with -o nothing but the note goes out");
    const [filter] = checkBootstrap(written);
    const config = filter.typed_config.config;
    assert.equal(config.fail_open, true);
    assert.deepEqual(config.vm_config.code.remote.http_uri, { uri: "https://plugins.example.com/auth.wasm", cluster: "pwas_fetch_plugins_example_com_443", timeout: "30s" });
    assert.equal(config.vm_config.code.remote.sha256, "a".repeat(64));
    const fetch = written.static_resources.clusters.find((c: any) => c.name === "pwas_fetch_plugins_example_com_443");
    assert.equal(fetch.transport_socket.typed_config["@type"], "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
    const hcm = written.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    assert.deepEqual([hcm.normalize_path, hcm.merge_slashes, hcm.path_with_escaped_slashes_action], [true, true, "UNESCAPE_AND_FORWARD"]);
    assert.equal(hcm.route_config.virtual_hosts[0].routes[0].route.timeout, "0s");

    const single = await envoyConfig(["--wasm", "examples/header-append/build/release.wasm", "--config", '{"x-a": "b"}', "--name", "solo", "--root-id", "header-append"]);
    assert.equal(single.code, 0, single.stderr);
    const [solo] = checkBootstrap(single.bootstrap);
    assert.equal(solo.name, "solo");
    assert.equal(solo.typed_config.config.configuration.value, '{"x-a": "b"}');
  });

  test("what Envoy cannot do itself is refused with the way round: an oci:// image, a remote module without sha256", async () => {
    const oci = await envoyConfig(["-p", plugin("image", { url: "oci://ghcr.io/acme/p:v1" })]);
    assert.equal(oci.code, 2);
    assert.match(oci.stderr, /Envoy cannot pull oci:\/\/ghcr\.io\/acme\/p:v1/);
    assert.match(oci.stderr, /hint: pull the module first: pwas pull oci:\/\/ghcr\.io\/acme\/p:v1 --output image\.wasm/);
    const unpinned = await envoyConfig(["-p", plugin("unpinned", { url: "http://plugins.example.com/p.wasm" })]);
    assert.equal(unpinned.code, 3);
    assert.match(unpinned.stderr, /Envoy needs a sha256 for a remote module/);
    const none = await envoyConfig([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no plugins given/);
  });
});
