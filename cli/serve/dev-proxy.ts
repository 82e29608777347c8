// `pwas serve`: a local HTTP proxy that runs each request and response through a chain
// of plugins on the mock host, in Istio's order, in front of a real upstream.
import { watch, type FSWatcher } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { HeaderMap, LogLevel, type LogEntry } from "../../runtime-mock/index.js";
import { IdTable } from "../../runtime-mock/envoy/id-table.js";
import { CliError, ExitCode } from "../errors.js";
import { rawHeadersOf, requestHasNoBody, requestHeadersOf, responseHasNoBody, responseHeadersOf } from "./http-mapping.js";
import type { PathNormalization } from "./path-normalization.js";
import type { PluginDefinition } from "./plugin-definition.js";
import { Generation, loadGeneration, readDefinitions, type LoadOptions, type PluginSource } from "./plugin-set.js";
import { RequestChain, type ChainSink } from "./request-chain.js";

export interface DevProxyOptions {
  host: string;
  port: number;
  upstream: URL;
  source: PluginSource;
  /** Callout clusters: name → base URL. */
  clusters: Record<string, URL>;
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

  private constructor(
    private readonly options: DevProxyOptions,
    private readonly server: Server,
  ) {}

  /** Loads the plugins, then listens. Fails with one CliError (bad plugin, port in use). */
  static async start(options: DevProxyOptions): Promise<DevProxy> {
    const headersTimeout = options.requestHeadersTimeoutMs ?? 60_000;
    const server = createServer({
      maxHeaderSize: MAX_REQUEST_HEADERS_BYTES,
      headersTimeout,
      // Node checks its timeouts on this interval (30 s by default): often enough for the one set.
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, headersTimeout / 4)),
      // The whole-request limit is Envoy's stream idle timeout here, not Node's 5-minute cap on slow uploads.
      requestTimeout: 0,
    });
    const proxy = new DevProxy(options, server);
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => proxy.refuseClient(error, socket));
    proxy.generation = await loadGeneration(await readDefinitions(options.source), proxy.loadOptions());
    proxy.live.add(proxy.generation);
    proxy.startClock();
    server.on("request", (request, response) => proxy.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "EADDRINUSE") reject(new CliError(`port ${options.port} on ${options.host} is already in use`, ExitCode.Failure, "choose another with --listen host:port"));
        else if (error.code === "EACCES") reject(new CliError(`not allowed to listen on ${options.host}:${options.port}`, ExitCode.Failure, "use a port above 1023"));
        else reject(new CliError(`cannot listen on ${options.host}:${options.port}: ${error.message}`, ExitCode.Failure));
      });
      server.listen(options.port, options.host, () => resolve());
    });
    if (options.watch) await proxy.watchSources();
    return proxy;
  }

  /** host:port of the proxy, for requests that carry no Host header. */
  private get authority(): string {
    return (this.authorityValue ??= `${this.address.host}:${this.address.port}`);
  }

  private authorityValue: string | undefined;

  get address(): { host: string; port: number; url: URL } {
    const address = this.server.address() as AddressInfo;
    return { host: address.address, port: address.port, url: new URL(`http://${address.address}:${address.port}`) };
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
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.generation.retire();
  }

  private loadOptions(): LoadOptions {
    const options: LoadOptions = {
      clusters: this.options.clusters,
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

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const generation = this.generation;
    const started = performance.now();
    const method = request.method ?? "GET";
    const path = request.url ?? "/";
    const accepted = requestHeadersOf(request, this.authority, this.options.pathNormalization ?? "BASE");
    if (accepted.refused !== undefined) {
      // Envoy's connection manager answers before any filter runs.
      response.writeHead(400, { "content-type": "text/plain", "content-length": "11", connection: "close" });
      response.end("Bad Request");
      request.resume();
      this.options.print(`${method} ${path} 400 ${(performance.now() - started).toFixed(1)}ms refused: ${accepted.refused}`);
      return;
    }
    generation.acquire();
    const socket = request.socket;
    const exchange = new Exchange(this.options.upstream, method, request, response, {
      routeTimeoutMs: this.options.routeTimeoutMs ?? 15_000,
      streamIdleTimeoutMs: this.options.streamIdleTimeoutMs ?? 300_000,
    });
    const chain = new RequestChain(
      generation.plugins.length,
      (index) =>
        generation.plugins[index].host.newHttpStream({
          sourceAddress: `${socket.remoteAddress}:${socket.remotePort}`,
          destinationAddress: `${socket.localAddress}:${socket.localPort}`,
          protocol: `HTTP/${request.httpVersion}`,
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
      this.options.print(`${method} ${path} ${exchange.status ?? "-"} ${ms.toFixed(1)}ms${local}${reset}`);
    };
    response.on("close", finish);

    const noBody = requestHasNoBody(request);
    chain.requestHeaders(accepted.headers, noBody);
    if (!noBody) {
      forwardBody(request, (chunk, end) => chain.requestData(chunk, end), () => exchange.activity());
    } else {
      request.resume();
    }
  }
}

/**
 * Passes a message's body on chunk by chunk. Like Envoy's HTTP/1 codec, the chunk that
 * completes a content-length body carries the end of stream itself; a chunked body ends
 * with an empty chunk when the message is complete.
 */
function forwardBody(message: IncomingMessage, deliver: (chunk: Uint8Array, endOfStream: boolean) => void, onChunk: () => void): void {
  const declared = message.headers["content-length"];
  const length = declared !== undefined && message.headers["transfer-encoding"] === undefined ? Number(declared) : NaN;
  let received = 0;
  let ended = false;
  message.on("data", (chunk: Buffer) => {
    received += chunk.length;
    ended = received === length;
    onChunk();
    deliver(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), ended);
  });
  message.on("end", () => {
    if (!ended) deliver(new Uint8Array(0), true);
  });
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
  private upstreamRequest: ReturnType<typeof httpRequest> | undefined;
  private upstreamResponse: IncomingMessage | undefined;
  private upstreamResponded = false;
  private upstreamComplete = false;
  private routeTimer: NodeJS.Timeout | undefined;
  private readonly idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly upstream: URL,
    private readonly method: string,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
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
    if (!this.upstreamComplete) this.upstreamRequest?.destroy();
  }

  upstreamHeaders(headers: HeaderMap, endOfStream: boolean): void {
    const method = headers.get(":method") ?? this.method;
    const raw = rawHeadersOf(headers);
    raw.unshift("host", headers.get(":authority") ?? this.upstream.host);
    const outgoing = httpRequest({
      protocol: this.upstream.protocol,
      hostname: this.upstream.hostname,
      port: this.upstream.port,
      method,
      path: headers.get(":path") ?? "/",
      headers: raw,
      setHost: false,
    });
    this.upstreamRequest = outgoing;
    outgoing.on("response", (upstreamResponse) => this.fromUpstream(upstreamResponse, method));
    outgoing.on("error", (error) => this.upstreamFailed(error));
    // The upstream takes bytes again: so may the client.
    outgoing.on("drain", () => this.request.resume());
    if (endOfStream) this.endUpstream();
  }

  upstreamData(chunk: Uint8Array, endOfStream: boolean): void {
    const outgoing = this.upstreamRequest;
    if (!outgoing || outgoing.destroyed) return;
    this.activity();
    // end(chunk) sends the last chunk and the end in one write.
    if (endOfStream) this.endUpstream(chunk);
    else if (chunk.length > 0 && !outgoing.write(chunk)) this.request.pause();
  }

  upstreamTrailers(trailers: HeaderMap): void {
    if (!this.upstreamRequest || this.upstreamRequest.destroyed) return;
    this.upstreamRequest.addTrailers(trailers.pairs());
    this.endUpstream();
  }

  downstreamHeaders(headers: HeaderMap, endOfStream: boolean): void {
    this.status = Number(headers.get(":status") ?? 200);
    if (this.response.headersSent || this.response.destroyed) return;
    this.guarded(() => {
      this.response.writeHead(this.status!, rawHeadersOf(headers));
      if (endOfStream) this.response.end();
    });
  }

  downstreamData(chunk: Uint8Array, endOfStream: boolean): void {
    if (this.response.destroyed) return;
    this.activity();
    this.guarded(() => {
      if (endOfStream) this.response.end(chunk.length > 0 ? chunk : undefined);
      else if (chunk.length > 0 && !this.response.write(chunk)) this.pauseUpstreamUntilDrain();
    });
  }

  downstreamTrailers(trailers: HeaderMap): void {
    if (this.response.destroyed) return;
    this.guarded(() => {
      this.response.addTrailers(trailers.pairs());
      this.response.end();
    });
  }

  reset(reason: string): void {
    this.resetReason ??= reason;
    this.close();
    this.response.destroy();
  }

  /** The chain's checks should leave nothing Node refuses; if Node still throws, the stream resets rather than the process. */
  private guarded(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.reset(`cannot write the response: ${(error as Error).message}`);
    }
  }

  private endUpstream(chunk?: Uint8Array): void {
    this.upstreamRequest!.end(chunk && chunk.length > 0 ? chunk : undefined);
    if (this.timeouts.routeTimeoutMs > 0 && !this.upstreamComplete) {
      this.routeTimer = setTimeout(() => this.timedOut(504, "upstream request timeout", "upstream request timeout"), this.timeouts.routeTimeoutMs);
      this.routeTimer.unref();
    }
  }

  private pauseUpstreamUntilDrain(): void {
    const source = this.upstreamResponse;
    if (!source || source.isPaused()) return;
    source.pause();
    this.response.once("drain", () => source.resume());
  }

  /** Envoy's timeouts: a local reply while the response has not started, a reset after. */
  private timedOut(status: number, body: string, reason: string): void {
    this.upstreamRequest?.destroy();
    this.upstreamComplete = true;
    if (this.upstreamResponded || this.response.headersSent) this.reset(reason);
    else this.chain.envoyReply(status, body);
  }

  private fromUpstream(upstreamResponse: IncomingMessage, method: string): void {
    this.upstreamResponded = true;
    this.upstreamResponse = upstreamResponse;
    this.activity();
    const status = upstreamResponse.statusCode ?? 502;
    const noBody = responseHasNoBody(method, status);
    upstreamResponse.on("end", () => {
      this.upstreamComplete = true;
      clearTimeout(this.routeTimer);
    });
    upstreamResponse.on("error", () => this.reset("upstream reset"));
    upstreamResponse.on("aborted", () => this.reset("upstream reset"));
    this.chain.responseHeaders(responseHeadersOf(status, upstreamResponse.rawHeaders), noBody);
    if (noBody) {
      upstreamResponse.resume();
      return;
    }
    forwardBody(upstreamResponse, (chunk, end) => this.chain.responseData(chunk, end), () => this.activity());
  }

  private upstreamFailed(error: NodeJS.ErrnoException): void {
    if (this.upstreamComplete) return;
    if (this.upstreamResponded) {
      this.reset(`upstream: ${error.code ?? error.message}`);
      return;
    }
    // Envoy's router: a connection failure or reset before any response is a local 503.
    const refused = error.code === "ECONNREFUSED" || error.code === "ENOTFOUND" || error.code === "EHOSTUNREACH";
    const reason = refused ? `connection failure, transport failure reason: ${error.code}` : "connection termination";
    this.chain.envoyReply(503, `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`);
  }
}
