// `pwas serve`: a local HTTP/1.1 and HTTP/2 proxy that runs each request and response
// through a chain of plugins on the mock host, in Istio's order, in front of a real upstream.
import { watch, type FSWatcher } from "node:fs";
import type { Socket } from "node:net";
import { LogLevel, type HeaderMap, type LogEntry } from "../../runtime-mock/index.js";
import { IdTable } from "../../runtime-mock/envoy/id-table.js";
import { CliError, ExitCode } from "../errors.js";
import { Listener, type Downstream } from "./downstream.js";
import { requestHeadersOf, transportFailure, upstreamConnectError } from "./http-mapping.js";
import type { PathNormalization } from "./path-normalization.js";
import type { PluginDefinition } from "./plugin-definition.js";
import { Generation, loadGeneration, readDefinitions, type LoadOptions, type PluginSource } from "./plugin-set.js";
import { RequestChain, type ChainSink } from "./request-chain.js";
import { UpstreamClient, type UpstreamCall } from "./upstream-client.js";
import type { UpstreamTarget } from "./upstream-target.js";

export interface DevProxyOptions {
  host: string;
  port: number;
  upstream: UpstreamTarget;
  source: PluginSource;
  /** Callout clusters: name → where and in which protocol. */
  clusters: Record<string, UpstreamTarget>;
  /** PEM key and certificate: the listener speaks TLS, with ALPN for h2 and http/1.1. */
  tls?: { key: string; cert: string } | undefined;
  /** PEM certificates to trust for https:// upstreams and clusters. */
  ca?: string | undefined;
  /** Envoy's Http1ProtocolOptions.enable_trailers, for the listener and HTTP/1 clusters (default off, as Envoy's). */
  http1Trailers?: boolean | undefined;
  /** Default level of the plugins' `wasm` logger, and per-plugin overrides by name. */
  logLevel: LogLevel;
  pluginLogLevels: Record<string, LogLevel>;
  /** Reload on changes of the YAML files and local modules. */
  watch: boolean;
  /** Where log lines go (plugin logs, access log, reload messages). */
  print(line: string): void;
  fetchModule?: LoadOptions["fetchModule"];
  /** Istio's meshConfig.pathNormalization; default BASE (Envoy's normalize_path). */
  pathNormalization?: PathNormalization;
  /** Envoy's route timeout: from the request's end until the response's end. Default 15 s; 0 turns it off. */
  routeTimeoutMs?: number;
  /** Envoy's stream_idle_timeout: no bytes either way for this long ends the stream. Default 5 min. */
  streamIdleTimeoutMs?: number;
  /** How long a client may take to send its request headers (slowloris). Default 60 s. */
  requestHeadersTimeoutMs?: number;
}

/** Envoy's default max_request_headers_kb (60 KiB); beyond it, 431. */
const MAX_REQUEST_HEADERS_BYTES = 60 * 1024;

/** Envoy's answers to a request its codec cannot parse, by Node's parser error code. */
function clientErrorReply(code: string | undefined): { status: number; reason: string } | undefined {
  if (code === "HPE_HEADER_OVERFLOW") return { status: 431, reason: "Request Header Fields Too Large" };
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return { status: 408, reason: "Request Timeout" };
  if (code?.startsWith("HPE_")) return { status: 400, reason: "Bad Request" };
  return undefined;
}

const LEVEL_NAMES = ["trace", "debug", "info", "warn", "error", "critical", "off"];

export class DevProxy {
  private generation!: Generation;
  private watchers: FSWatcher[] = [];
  private reloadTimer: NodeJS.Timeout | undefined;
  /** The requests in flight, by a serial number (an IdTable, not a Set: see id-table.ts). */
  private readonly active = new IdTable<RequestChain>();
  private nextRequest = 0;
  /** Generations still running plugins (the current one, and retired ones with requests in flight). */
  private readonly live = new Set<Generation>();
  private clockTimer: NodeJS.Timeout | undefined;
  private lastTick = performance.now();

  private readonly listener: Listener;
  /** Where upstream requests and callouts go (HTTP/2 sessions are shared per cluster). */
  private readonly client: UpstreamClient;

  private constructor(private readonly options: DevProxyOptions) {
    const headersTimeout = options.requestHeadersTimeoutMs ?? 60_000;
    this.client = new UpstreamClient({ ca: options.ca, http1Trailers: options.http1Trailers });
    this.listener = new Listener({
      host: options.host,
      port: options.port,
      tls: options.tls,
      http1Trailers: options.http1Trailers,
      http1: {
        maxHeaderSize: MAX_REQUEST_HEADERS_BYTES,
        headersTimeout,
        // Node checks its timeouts on this interval (30 s by default): often enough for the one set.
        connectionsCheckingInterval: Math.min(30_000, Math.max(50, headersTimeout / 4)),
        // The whole-request limit is Envoy's stream idle timeout here, not Node's 5-minute cap on slow uploads.
        requestTimeout: 0,
      },
      maxHeaderListBytes: MAX_REQUEST_HEADERS_BYTES,
      onRequest: (downstream) => this.handle(downstream),
      onHttp1ClientError: (error, socket) => this.refuseClient(error, socket),
    });
  }

  /** Loads the plugins, then listens. Fails with one CliError (bad plugin, port in use). */
  static async start(options: DevProxyOptions): Promise<DevProxy> {
    const proxy = new DevProxy(options);
    proxy.generation = await loadGeneration(await readDefinitions(options.source), proxy.loadOptions());
    proxy.live.add(proxy.generation);
    proxy.startClock();
    try {
      await proxy.listener.listen();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      clearInterval(proxy.clockTimer);
      proxy.generation.retire();
      proxy.client.close();
      if (code === "EADDRINUSE") throw new CliError(`port ${options.port} on ${options.host} is already in use`, ExitCode.Failure, "choose another with --listen host:port");
      if (code === "EACCES") throw new CliError(`not allowed to listen on ${options.host}:${options.port}`, ExitCode.Failure, "use a port above 1023");
      throw new CliError(`cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`, ExitCode.Failure);
    }
    if (options.watch) await proxy.watchSources();
    return proxy;
  }

  /** host:port of the proxy, for requests that carry no Host header. */
  private get authority(): string {
    return (this.authorityValue ??= `${this.address.host}:${this.address.port}`);
  }

  private authorityValue: string | undefined;

  get address(): { host: string; port: number; url: URL } {
    const address = this.listener.address();
    return { host: address.address, port: address.port, url: new URL(`${this.options.tls ? "https" : "http"}://${address.address}:${address.port}`) };
  }

  /** The plugins serving new requests, in chain order. */
  get plugins(): PluginDefinition[] {
    return this.generation.plugins.map((p) => p.definition);
  }

  /** Loads the sources again; on failure the running plugins stay and the reason is printed. Returns whether it took. */
  async reload(): Promise<boolean> {
    try {
      const next = await loadGeneration(await readDefinitions(this.options.source), this.loadOptions());
      const previous = this.generation;
      this.generation = next;
      this.live.add(next);
      previous.retire();
      this.options.print(`reloaded: ${next.plugins.map((p) => p.definition.name).join(" → ") || "(no plugins)"}`);
      return true;
    } catch (error) {
      const hint = error instanceof CliError && error.hint ? ` (${error.hint})` : "";
      this.options.print(`reload failed, still serving the previous plugins: ${(error as Error).message}${hint}`);
      return false;
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.reloadTimer);
    clearInterval(this.clockTimer);
    for (const watcher of this.watchers) watcher.close();
    for (const chain of this.active.values()) chain.end();
    await this.listener.close();
    this.client.close();
    this.generation.retire();
  }

  private loadOptions(): LoadOptions {
    const options: LoadOptions = {
      clusters: this.options.clusters,
      client: this.client,
      afterCallout: () => this.pumpAll(),
      logLevelFor: (plugin) => this.options.pluginLogLevels[plugin.name] ?? this.options.logLevel,
      onLog: (plugin, entry) => this.printLog(plugin, entry),
    };
    if (this.options.fetchModule) options.fetchModule = this.options.fetchModule;
    return options;
  }

  /**
   * The plugins' clocks are the mock host's virtual clocks, moved along with real time:
   * ticks (proxy_on_tick) and the current time then behave as in Envoy.
   */
  private startClock(): void {
    this.clockTimer = setInterval(() => {
      const now = performance.now();
      const elapsed = now - this.lastTick;
      this.lastTick = now;
      let timersRan = false;
      for (const generation of this.live) {
        if (generation.finished) {
          this.live.delete(generation);
          continue;
        }
        for (const plugin of generation.plugins) {
          timersRan ||= plugin.host.vm.scheduler.pendingTimers > 0;
          plugin.host.advanceTime(elapsed);
        }
      }
      // Only a timer (a tick, a callout timeout) can have resumed a stream here.
      if (timersRan) this.pumpAll();
    }, 10);
    this.clockTimer.unref();
  }

  /** A callout answer or a timer may have resumed streams: move every chain on. */
  private pumpAll(): void {
    for (const chain of this.active.values()) chain.pump();
  }

  private printLog(plugin: PluginDefinition, entry: LogEntry): void {
    this.options.print(`[${plugin.name}] ${LEVEL_NAMES[entry.level]}: ${entry.message}`);
  }

  private async watchSources(): Promise<void> {
    const definitions = await readDefinitions(this.options.source);
    const paths = new Set([...this.options.source.files, ...definitions.flatMap((d) => (d.modulePath ? [d.modulePath] : []))]);
    for (const path of paths) {
      try {
        this.watchers.push(watch(path, () => this.scheduleReload()));
      } catch {
        this.options.print(`cannot watch ${path}: changes to it will not reload`);
      }
    }
  }

  /** Editors and compilers write in bursts: reload once things settle. */
  private scheduleReload(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.reload(), 150);
  }

  /** A request Node's parser refused (malformed, CL+TE, duplicate Content-Length, oversized or slow headers): Envoy's answer, one log line. */
  private refuseClient(error: NodeJS.ErrnoException, socket: Socket): void {
    const reply = clientErrorReply(error.code);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (reply && socket.writable && !socket.writableEnded) {
      const body = reply.reason;
      socket.end(`HTTP/1.1 ${reply.status} ${reply.reason}\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${body}`);
      this.options.print(`client ${peer}: ${reply.status} ${error.code}: ${error.message}`);
    }
    socket.destroySoon?.();
    // Whatever else the socket does, it must not outlive the refusal.
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private handle(downstream: Downstream): void {
    const generation = this.generation;
    const started = performance.now();
    const method = downstream.head.method;
    const path = downstream.head.target;
    const accepted = requestHeadersOf(downstream.head, this.authority, this.options.pathNormalization ?? "BASE");
    if (accepted.refused !== undefined) {
      // Envoy's connection manager answers before any filter runs.
      downstream.refuse(400, "Bad Request");
      this.options.print(`${method} ${path} 400 ${(performance.now() - started).toFixed(1)}ms refused: ${accepted.refused}`);
      return;
    }
    generation.acquire();
    const exchange = new Exchange(this.options.upstream, this.client, method, downstream, {
      routeTimeoutMs: this.options.routeTimeoutMs ?? 15_000,
      streamIdleTimeoutMs: this.options.streamIdleTimeoutMs ?? 300_000,
    });
    const chain = new RequestChain(
      generation.plugins.length,
      (index) =>
        generation.plugins[index].host.newHttpStream({
          sourceAddress: downstream.remoteAddress,
          destinationAddress: downstream.localAddress,
          protocol: downstream.protocol,
          // Bytes pass through once and are never changed in place: neither kept nor copied.
          retainForwardedBody: false,
          copyBodyInput: false,
        }),
      exchange,
    );
    exchange.chain = chain;
    const serial = this.nextRequest++;
    this.active.set(serial, chain);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      exchange.close();
      chain.end();
      this.active.delete(serial);
      generation.release();
      const ms = performance.now() - started;
      const by = chain.localReplyBy;
      const local = by !== undefined ? ` local reply by ${generation.plugins[by].definition.name}` : "";
      const refused = chain.refusedFrom !== undefined ? ` (from ${generation.plugins[chain.refusedFrom].definition.name})` : "";
      const reset = exchange.resetReason ? ` reset: ${exchange.resetReason}${refused}` : "";
      const protocol = downstream.protocol === "HTTP/2" ? " HTTP/2" : "";
      this.options.print(`${method} ${path}${protocol} ${exchange.status ?? "-"} ${ms.toFixed(1)}ms${local}${reset}`);
    };
    downstream.onClose(finish);

    const noBody = downstream.hasNoBody;
    chain.requestHeaders(accepted.headers, noBody);
    if (!noBody) {
      downstream.readBody(
        (chunk, end) => chain.requestData(chunk, end),
        (trailers) => chain.requestTrailers(trailers),
        () => exchange.activity(),
      );
    } else {
      downstream.resumeRequest();
    }
  }
}

interface ExchangeTimeouts {
  routeTimeoutMs: number;
  streamIdleTimeoutMs: number;
}

/**
 * One exchange's two sides: the upstream request the chain produces, and the client's
 * response. Envoy's router and connection manager where they matter: an upstream that
 * cannot be reached or resets before it answered is a 503, one that does not answer within
 * the route timeout a 504, a stream with no bytes either way for the idle timeout a 408
 * (each a reply that goes back through the filters; a reset once the response started).
 * Each side is paused while the other cannot take more (Envoy's watermarks), so a body of
 * any size streams through in bounded memory.
 */
class Exchange implements ChainSink {
  chain!: RequestChain;
  status: number | undefined;
  resetReason: string | undefined;
  private upstreamCall: UpstreamCall | undefined;
  private upstreamResponded = false;
  private upstreamComplete = false;
  private upstreamPaused = false;
  private routeTimer: NodeJS.Timeout | undefined;
  private readonly idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly upstream: UpstreamTarget,
    private readonly client: UpstreamClient,
    private readonly method: string,
    private readonly downstream: Downstream,
    private readonly timeouts: ExchangeTimeouts,
  ) {
    if (timeouts.streamIdleTimeoutMs > 0) {
      this.idleTimer = setTimeout(() => this.timedOut(408, "stream timeout", "stream idle timeout"), timeouts.streamIdleTimeoutMs);
      this.idleTimer.unref();
    }
  }

  /** Bytes moved: the stream is not idle. */
  activity(): void {
    this.idleTimer?.refresh();
  }

  /** The client's side is over (answered, or gone): nothing of this exchange may linger. */
  close(): void {
    clearTimeout(this.routeTimer);
    clearTimeout(this.idleTimer);
    if (!this.upstreamComplete) this.upstreamCall?.destroy();
  }

  upstreamHeaders(headers: HeaderMap, endOfStream: boolean): void {
    this.upstreamCall = this.client.start(this.upstream, headers, endOfStream, {
      headers: (response, end) => this.fromUpstream(response, end),
      data: (chunk, end) => {
        this.activity();
        if (end) this.upstreamEnded();
        this.chain.responseData(chunk, end);
      },
      trailers: (trailers) => {
        this.upstreamEnded();
        this.chain.responseTrailers(trailers);
      },
      failed: (error, responded) => this.upstreamFailed(error, responded),
    });
    // The upstream takes bytes again: so may the client.
    this.upstreamCall.onDrain(() => this.downstream.resumeRequest());
    if (endOfStream) this.armRouteTimeout();
  }

  upstreamData(chunk: Uint8Array, endOfStream: boolean): void {
    const call = this.upstreamCall;
    if (!call || this.upstreamComplete) return;
    this.activity();
    // end(chunk) sends the last chunk and the end in one write.
    if (endOfStream) {
      call.end(chunk);
      this.armRouteTimeout();
    } else if (chunk.length > 0 && !call.write(chunk)) {
      this.downstream.pauseRequest();
      call.onDrain(() => this.downstream.resumeRequest());
    }
  }

  upstreamTrailers(trailers: HeaderMap): void {
    if (!this.upstreamCall || this.upstreamComplete) return;
    this.upstreamCall.sendTrailers(trailers);
    this.armRouteTimeout();
  }

  downstreamHeaders(headers: HeaderMap, endOfStream: boolean): void {
    this.status = Number(headers.get(":status") ?? 200);
    if (this.downstream.responseStarted || this.downstream.gone) return;
    this.guarded(() => this.downstream.respond(headers, endOfStream));
  }

  downstreamData(chunk: Uint8Array, endOfStream: boolean): void {
    if (this.downstream.gone) return;
    this.activity();
    this.guarded(() => {
      if (endOfStream) this.downstream.end(chunk);
      else if (chunk.length > 0 && !this.downstream.write(chunk)) this.pauseUpstreamUntilDrain();
    });
  }

  downstreamTrailers(trailers: HeaderMap): void {
    if (this.downstream.gone) return;
    this.guarded(() => this.downstream.sendTrailers(trailers));
  }

  reset(reason: string): void {
    this.resetReason ??= reason;
    this.close();
    this.downstream.reset();
  }

  /** The chain's checks should leave nothing Node refuses; if Node still throws, the stream resets rather than the process. */
  private guarded(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.reset(`cannot write the response: ${(error as Error).message}`);
    }
  }

  private armRouteTimeout(): void {
    if (this.timeouts.routeTimeoutMs <= 0 || this.upstreamComplete || this.routeTimer) return;
    this.routeTimer = setTimeout(() => this.timedOut(504, "upstream request timeout", "upstream request timeout"), this.timeouts.routeTimeoutMs);
    this.routeTimer.unref();
  }

  private pauseUpstreamUntilDrain(): void {
    const call = this.upstreamCall;
    if (!call || this.upstreamPaused) return;
    this.upstreamPaused = true;
    call.pauseResponse();
    this.downstream.onDrain(() => {
      this.upstreamPaused = false;
      call.resumeResponse();
    });
  }

  /** Envoy's timeouts: a local reply while the response has not started, a reset after. */
  private timedOut(status: number, body: string, reason: string): void {
    this.upstreamCall?.destroy();
    this.upstreamComplete = true;
    if (this.upstreamResponded || this.downstream.responseStarted) this.reset(reason);
    else this.chain.envoyReply(status, body);
  }

  private upstreamEnded(): void {
    this.upstreamComplete = true;
    clearTimeout(this.routeTimer);
  }

  private fromUpstream(headers: HeaderMap, endOfStream: boolean): void {
    this.upstreamResponded = true;
    this.activity();
    if (endOfStream) this.upstreamEnded();
    this.chain.responseHeaders(headers, endOfStream);
  }

  private upstreamFailed(error: NodeJS.ErrnoException, responded: boolean): void {
    if (this.upstreamComplete) return;
    if (responded) {
      this.reset(error.code === "ECONNRESET" ? "upstream reset" : `upstream: ${error.code ?? error.message}`);
      return;
    }
    this.upstreamComplete = true;
    // Envoy's router: a connection failure or reset before any response is a local 503.
    const refused = error.code === "ECONNREFUSED" || error.code === "ENOTFOUND" || error.code === "EHOSTUNREACH";
    this.chain.envoyReply(503, upstreamConnectError(refused ? transportFailure(error.code!) : "connection termination"));
  }
}
