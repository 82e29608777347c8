// pwas serve: a local proxy running real HTTP traffic through a chain of plugins.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { LogLevel } from "../../runtime-mock/index.js";
import { CliError, ExitCode } from "../errors.js";
import { DevProxy } from "../serve/dev-proxy.js";
import { fetchModule } from "../serve/fetch-module.js";
import { startEchoUpstream, type EchoUpstream } from "../serve/echo-upstream.js";
import type { Phase, PluginDefinition } from "../serve/plugin-definition.js";
import { PATH_NORMALIZATIONS, type PathNormalization } from "../serve/path-normalization.js";
import { parseTarget, type UpstreamTarget } from "../serve/upstream-target.js";

const LEVELS: Record<string, LogLevel> = {
  trace: LogLevel.Trace, debug: LogLevel.Debug, info: LogLevel.Info, warn: LogLevel.Warn, warning: LogLevel.Warn,
  error: LogLevel.Error, critical: LogLevel.Critical, off: LogLevel.Off,
};

function parseLevel(text: string): LogLevel {
  const level = LEVELS[text.toLowerCase()];
  if (level === undefined) throw new CliError(`unknown log level "${text}"`, ExitCode.Usage, `use one of ${Object.keys(LEVELS).join(", ")}`);
  return level;
}

export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`--listen "${text}" is not host:port or a port`, ExitCode.Usage, "e.g. --listen 127.0.0.1:8080 or --listen 8080");
  }
  return { host: match[1] || "127.0.0.1", port };
}


async function inlineConfig(value: string | undefined): Promise<string> {
  if (value === undefined) return "";
  const text = value.startsWith("@") ? await readFile(value.slice(1), "utf8") : value;
  try {
    JSON.parse(text);
  } catch (error) {
    throw new CliError(`--config is not JSON: ${(error as Error).message}`, ExitCode.Usage, "pass a JSON object, or @file.json");
  }
  return text;
}

export interface ServeFlags {
  plugin?: string[];
  wasm?: string;
  config?: string;
  name: string;
  rootId?: string;
  phase?: string;
  upstream: string;
  upstreamHttp2?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  ca?: string;
  http1Trailers?: boolean;
  listen: string;
  cluster?: string[];
  logLevel?: string[];
  watch: boolean;
  pathNormalization?: string;
  routeTimeout?: string;
  streamIdleTimeout?: string;
}

/** "15s", "500ms", "2m" or a number of seconds; 0 turns a timeout off. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new CliError(`${flag} "${text}" is not a duration`, ExitCode.Usage, "e.g. 15s, 500ms, 2m, or 0 for none");
  const unit = match[2] === "ms" ? 1 : match[2] === "m" ? 60_000 : 1000;
  return Math.round(Number(match[1]) * unit);
}

export function parseNormalization(text: string | undefined): PathNormalization {
  if (text === undefined) return "BASE";
  const mode = text.toUpperCase() === "DEFAULT" ? "BASE" : (text.toUpperCase() as PathNormalization);
  if (!PATH_NORMALIZATIONS.includes(mode)) throw new CliError(`unknown path normalization "${text}"`, ExitCode.Usage, `use one of ${PATH_NORMALIZATIONS.join(", ")} (Istio's meshConfig.pathNormalization)`);
  return mode;
}

/** The options that describe a chain and the Envoy in front of it: pwas serve's and pwas envoy-config's alike. */
export function addChainOptions(command: Command, pluginUrls: string): Command {
  return command
    .option("-p, --plugin <files...>", `WasmPlugin YAML files (url: ${pluginUrls})`)
    .option("--wasm <file>", "a single module instead of WasmPlugin files")
    .option("--config <json>", "plugin configuration for --wasm (JSON, or @file.json)")
    .option("--name <name>", "plugin name for --wasm", "plugin")
    .option("--root-id <id>", "root id (pluginName) for --wasm; default empty")
    .option("--phase <phase>", "phase for --wasm: AUTHN, AUTHZ, STATS")
    .option("-l, --listen <host:port>", "address to listen on", "127.0.0.1:8080")
    .option("--cluster <name=url...>", "callout clusters the plugins may call: name=http://host:port, https:// for TLS, a \",http2\" suffix for HTTP/2 (gRPC callouts always use HTTP/2)")
    .option("--path-normalization <mode>", "what Envoy does to :path before the filters, as Istio's meshConfig.pathNormalization: NONE, BASE (default), MERGE_SLASHES, DECODE_AND_MERGE_SLASHES")
    .option("--route-timeout <duration>", "Envoy's route timeout: 504 when the upstream has not answered in time (0: none)", "15s")
    .option("--stream-idle-timeout <duration>", "Envoy's stream idle timeout: 408 (or a reset) after this long without a byte either way (0: none)", "5m")
    .option("--http1-trailers", "pass trailers over HTTP/1 too (Envoy's enable_trailers, off by default: HTTP/1 trailers are dropped; HTTP/2 always carries them)");
}

export function register(program: Command): void {
  addChainOptions(
    program
      .command("serve")
      .description("Run a local proxy that sends real HTTP traffic through a chain of plugins (ordered as Istio orders WasmPlugins) to an upstream."),
    "file://…, a path to the .wasm, oci://… pulled like istio-agent, or http(s)://…",
  )
    .option("-u, --upstream <url>", "where requests go after the plugins (http:// or https://); \"echo\" starts a built-in echo server", "echo")
    .option("--upstream-http2", "speak HTTP/2 to the upstream (h2c for http://, h2 for https://), as a cluster with http2_protocol_options")
    .option("--tls-cert <pem>", "listen with TLS (h2 and http/1.1 by ALPN): the certificate chain")
    .option("--tls-key <pem>", "the private key for --tls-cert")
    .option("--ca <pem>", "CA certificates to trust for https:// upstreams and clusters")
    .option("--log-level <level...>", "plugin log level: a level for all (trace, debug, info, warn, error, critical, off), or name=level for one")
    .option("--no-watch", "do not reload when a module or YAML file changes")
    .addHelpText("after", `
Examples:
  pwas serve -p examples/header-append/wasmplugin.local.yaml
  pwas serve --wasm build/plugin.wasm --config '{"allow": "true"}' --upstream http://127.0.0.1:9000
  pwas serve -p authz.yaml --upstream http://127.0.0.1:50051 --upstream-http2 --cluster authz=http://127.0.0.1:9191,http2
It answers HTTP/1.1 and HTTP/2 (h2c, or h2 with --tls-cert/--tls-key) on the same port.
Stop with Ctrl-C.`)
    .action(async (flags: ServeFlags) => {
      const output = new LineBuffer(process.stdout);
      const proxy = await startFromFlags(flags, (line) => output.write(line));
      process.stdout.write(`pwas serve: listening on ${proxy.proxy.address.url.href}, upstream ${proxy.upstream.href}\n`);
      process.stdout.write(`chain: ${proxy.proxy.plugins.map((p) => `${p.name} (${p.phase === "UNSPECIFIED_PHASE" ? "no phase" : p.phase}, priority ${p.priority})`).join(" → ") || "(no plugins)"}\n`);
      await new Promise<void>((resolveStop) => {
        let stopping = false;
        const stop = () => {
          // A second signal, or a stop that takes too long, ends the process at once.
          if (stopping) process.exit(130);
          stopping = true;
          setTimeout(() => process.exit(1), 5000).unref();
          resolveStop();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await proxy.stop();
      output.flush();
      process.stdout.write("pwas serve: stopped\n");
    });
}

/**
 * Log and access-log lines, written in batches at most every 50 ms: a write per request
 * would cost the proxy more than its plugins do.
 */
class LineBuffer {
  private lines: string[] = [];
  private scheduled = false;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  write(line: string): void {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.flush(), 50).unref();
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    this.stream.write(this.lines.join("\n") + "\n");
    this.lines = [];
  }
}

export interface RunningServe {
  proxy: DevProxy;
  upstream: URL;
  stop(): Promise<void>;
}

/** What `pwas serve` and `pwas envoy-config` read from their flags alike: the chain and where it sends traffic. */
export interface ChainFlags {
  listen: { host: string; port: number };
  logLevel: LogLevel;
  pluginLogLevels: Record<string, LogLevel>;
  clusters: Record<string, UpstreamTarget>;
  source: { files: string[]; inline: PluginDefinition[] };
}

export async function chainFromFlags(flags: ServeFlags): Promise<ChainFlags> {
  if (!flags.plugin?.length && !flags.wasm) throw new CliError("no plugins given", ExitCode.Usage, "pass WasmPlugin files with --plugin, or a module with --wasm");
  const listen = parseListen(flags.listen);
  let logLevel = LogLevel.Info;
  const pluginLogLevels: Record<string, LogLevel> = {};
  for (const entry of flags.logLevel ?? []) {
    const [name, level] = entry.includes("=") ? entry.split("=", 2) : [undefined, entry];
    if (name === undefined) logLevel = parseLevel(level);
    else pluginLogLevels[name] = parseLevel(level);
  }
  const clusters: Record<string, UpstreamTarget> = {};
  for (const entry of flags.cluster ?? []) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new CliError(`--cluster "${entry}" is not name=url`, ExitCode.Usage, "e.g. --cluster auth=http://127.0.0.1:9001");
    clusters[entry.slice(0, at)] = parseTarget(entry.slice(at + 1), `--cluster ${entry.slice(0, at)}`);
  }
  const inline: PluginDefinition[] = [];
  if (flags.wasm) {
    const phase = (flags.phase?.toUpperCase() ?? "UNSPECIFIED_PHASE") as Phase;
    if (!["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"].includes(phase)) throw new CliError(`unknown phase "${flags.phase}"`, ExitCode.Usage, "use AUTHN, AUTHZ or STATS");
    inline.push({
      name: flags.name, namespace: "default", url: flags.wasm, modulePath: resolve(flags.wasm), phase, priority: 0,
      rootId: flags.rootId ?? "", pluginConfig: await inlineConfig(flags.config), failStrategy: "FAIL_CLOSE", environment: {}, source: "--wasm",
    });
  }
  return { listen, logLevel, pluginLogLevels, clusters, source: { files: (flags.plugin ?? []).map((f) => resolve(f)), inline } };
}

async function readPem(path: string, flag: string): Promise<string> {
  try {
    const text = await readFile(path, "utf8");
    if (!text.includes("-----BEGIN ")) throw new Error("not PEM (no -----BEGIN line)");
    return text;
  } catch (error) {
    throw new CliError(`${flag} ${path}: ${(error as Error).message}`, ExitCode.Usage, "pass a PEM file");
  }
}

/** --tls-cert and --tls-key come together: the listener then speaks TLS (h2 and http/1.1 by ALPN). */
async function tlsFiles(flags: ServeFlags): Promise<{ key: string; cert: string } | undefined> {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) return undefined;
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) throw new CliError("--tls-cert and --tls-key go together", ExitCode.Usage, "pass both, or neither for a cleartext listener");
  return { cert: await readPem(flags.tlsCert, "--tls-cert"), key: await readPem(flags.tlsKey, "--tls-key") };
}

/** Starts the proxy (and the echo upstream when asked); used by the command and by npm start. */
export async function startFromFlags(flags: ServeFlags, print: (line: string) => void): Promise<RunningServe> {
  const { listen: { host, port }, logLevel, pluginLogLevels, clusters, source } = await chainFromFlags(flags);
  const pathNormalization = parseNormalization(flags.pathNormalization);
  const routeTimeoutMs = parseDuration(flags.routeTimeout ?? "15s", "--route-timeout");
  const streamIdleTimeoutMs = parseDuration(flags.streamIdleTimeout ?? "5m", "--stream-idle-timeout");
  const tls = await tlsFiles(flags);
  const ca = flags.ca === undefined ? undefined : await readPem(flags.ca, "--ca");
  let echo: EchoUpstream | undefined;
  const upstream: UpstreamTarget =
    flags.upstream === "echo" ? { url: (echo = await startEchoUpstream(host)).url, http2: flags.upstreamHttp2 === true } : parseTarget(flags.upstream, "--upstream", flags.upstreamHttp2);
  try {
    const proxy = await DevProxy.start({
      host, port, upstream, logLevel, pluginLogLevels, clusters, watch: flags.watch, print, fetchModule,
      pathNormalization, routeTimeoutMs, streamIdleTimeoutMs, source, tls, ca, http1Trailers: flags.http1Trailers === true,
    });
    return {
      proxy,
      upstream: upstream.url,
      stop: async () => {
        await proxy.close();
        await echo?.close();
      },
    };
  } catch (error) {
    await echo?.close();
    throw error;
  }
}
