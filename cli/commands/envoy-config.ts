// pwas envoy-config: an Envoy bootstrap running the chain `pwas serve` runs (the same
// WasmPlugin files or --wasm), for plain Envoy without Istio: `envoy -c envoy.yaml`.
import type { Command } from "commander";
import { stringify } from "yaml";
import { envoyBootstrap } from "../envoy/bootstrap.js";
import { jsonResult } from "../json-output.js";
import { writeFileAtomic } from "../oci/atomic-fs.js";
import { orderPlugins } from "../serve/plugin-definition.js";
import { readDefinitions } from "../serve/plugin-set.js";
import { parseTarget } from "../serve/upstream-target.js";
import { addChainOptions, chainFromFlags, parseDuration, parseNormalization, type ServeFlags } from "./serve.js";

interface EnvoyConfigFlags extends ServeFlags {
  output?: string;
  adminPort: string;
  json?: boolean;
}

export function register(program: Command): void {
  addChainOptions(
    program
      .command("envoy-config")
      .description("Write an Envoy bootstrap (YAML) that runs the same chain as pwas serve, for plain Envoy: envoy -c envoy.yaml"),
    "a local path or file://, or http(s):// with spec.sha256",
  )
    .option("-u, --upstream <url>", "where requests go after the plugins", "http://127.0.0.1:9000")
    .option("--upstream-http2", "the upstream cluster speaks HTTP/2 (http2_protocol_options)")
    .option("--admin-port <port>", "Envoy's admin interface on 127.0.0.1 (0: none)", "9901")
    .option("-o, --output <file>", "write the YAML here (atomically) instead of standard output")
    .option("--json", "print the result as JSON, the YAML in it (see the README: one shape for every command)")
    .addHelpText("after", `
Examples:
  pwas envoy-config -p examples/dev-chain.yaml --upstream http://127.0.0.1:9000 -o envoy.yaml && envoy -c envoy.yaml
  pwas envoy-config --wasm build/plugin.wasm --config '{"header": "x-key"}' --cluster auth=http://127.0.0.1:9001

Plugins run in Istio's order (AUTHN, AUTHZ, STATS, then none; higher priority first), each as
an envoy.filters.http.wasm filter with the V8 runtime. oci:// modules are pulled by istio-agent
in a mesh, not by Envoy: pull them first (pwas pull <ref> --output x.wasm).`)
    .action(async (flags: EnvoyConfigFlags) => {
      const chain = await chainFromFlags({ ...flags, logLevel: [] });
      const plugins = orderPlugins(await readDefinitions(chain.source));
      const bootstrap = envoyBootstrap({
        plugins,
        listen: chain.listen,
        upstream: parseTarget(flags.upstream, "--upstream", flags.upstreamHttp2),
        clusters: chain.clusters,
        pathNormalization: parseNormalization(flags.pathNormalization),
        routeTimeoutMs: parseDuration(flags.routeTimeout ?? "15s", "--route-timeout"),
        streamIdleTimeoutMs: parseDuration(flags.streamIdleTimeout ?? "5m", "--stream-idle-timeout"),
        http1Trailers: flags.http1Trailers === true,
        adminPort: Number(flags.adminPort),
      });
      const order = plugins.map((p) => p.name).join(" → ");
      const yaml = `# Envoy bootstrap written by pwas envoy-config: ${order || "no plugins"} → upstream ${flags.upstream}\n# Run: envoy -c ${flags.output ?? "envoy.yaml"}\n${stringify(bootstrap, { lineWidth: 0 })}`;
      if (flags.output) await writeFileAtomic(flags.output, new TextEncoder().encode(yaml));
      if (flags.json) process.stdout.write(jsonResult("envoy-config", { output: flags.output ?? null, plugins: plugins.map((p) => p.name), yaml }));
      else if (flags.output) process.stderr.write(`wrote ${flags.output}: ${order} → upstream ${flags.upstream}\n`);
      else process.stdout.write(yaml);
    });
}
