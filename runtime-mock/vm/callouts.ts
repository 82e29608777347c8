// HTTP and gRPC callouts (ABI.md §3.10, §5.8, §5.9, §8.4) as Envoy's Wasm `Context` runs
// them for a root context: the argument checks in Envoy's order and with its statuses, the
// calls in flight per root (they decide what grpc_send/close/cancel answer), and the
// delivery of results into the plugin — always to the root context, deferred while a
// plugin call is on the stack, the response data readable only during its callback,
// proxy_get_status set by failures and closes (message cleared afterwards, code sticky).
// Whoever answers the calls sits behind `Upstreams`: by default the test (mock-upstreams.ts).
import { invokeExport } from "../wasm/callbacks.js";
import { LogLevel, WasmResult } from "../wasm/types.js";
import { BodyBuffer, MutableBuffer } from "../envoy/buffers.js";
import { readGrpcService } from "../envoy/callouts/grpc-service.js";
import { HeaderMap } from "../envoy/headers.js";
import { IdTable } from "../envoy/id-table.js";
import type { ContextRoot, ContextVm } from "./context.js";
import type { CalloutService, CalloutStart } from "../hostcalls/ports.js";
import type { GrpcCallbacks, GrpcCalloutRequest, HttpCallbacks, HttpCalloutRequest, HttpCalloutResponse, UpstreamRequest, UpstreamStream, Upstreams } from "../envoy/callouts/upstreams.js";

/** Per-VM callout token sequences (ABI.md §3.10): HTTP 4, 8…; gRPC calls 5, 9…; gRPC streams 6, 10…; DNS 1, 2…. */
export class CalloutTokens {
  private http = 0;
  private grpcCall = 1;
  private grpcStream = 2;
  private dns = 0;

  nextHttpCall(): number {
    return (this.http = (this.http + 4) >>> 0);
  }
  nextGrpcCall(): number {
    return (this.grpcCall = (this.grpcCall + 4) >>> 0);
  }
  nextGrpcStream(): number {
    return (this.grpcStream = (this.grpcStream + 4) >>> 0);
  }
  nextDns(): number {
    do this.dns = (this.dns + 1) >>> 0;
    while (this.dns === 0);
    return this.dns;
  }
}

export const isGrpcCallToken = (token: number) => (token & 3) === 1;
export const isGrpcStreamToken = (token: number) => (token & 3) === 2;

// Envoy's handler maps of a root context: http_request_, grpc_call_request_, grpc_stream_.
interface HttpEntry {
  kind: "http";
  root: ContextRoot;
  request?: UpstreamRequest;
}
interface GrpcCallEntry {
  kind: "grpcCall";
  root: ContextRoot;
  request?: UpstreamRequest;
}
interface GrpcStreamEntry {
  kind: "grpcStream";
  root: ContextRoot;
  stream?: UpstreamStream;
  /** The plugin called grpc_close (a send with end_stream does not count). */
  localClosed: boolean;
  /** The server closed it. The entry goes once both sides are closed. */
  remoteClosed: boolean;
}
type Entry = HttpEntry | GrpcCallEntry | GrpcStreamEntry;

export class Callouts implements CalloutService {
  /** Tokens are unique per VM, so one map serves every root (each entry remembers its root). */
  private readonly entries = new IdTable<Entry>();

  constructor(
    private readonly vm: ContextVm,
    private readonly tokens: CalloutTokens,
    readonly upstreams: Upstreams,
  ) {}

  /** Envoy `Context::httpCall`: timeout sign, then cluster, then :path/:method/:authority. */
  httpCall(
    root: ContextRoot,
    cluster: string,
    headerPairs: [string, string][],
    body: Uint8Array,
    trailerPairs: [string, string][],
    rawTimeoutMs: number,
  ): CalloutStart {
    if ((rawTimeoutMs | 0) < 0) return { status: WasmResult.BadArgument }; // ≥ 2^31 arrives as a negative int
    if (!this.upstreams.hasCluster(cluster)) {
      // Envoy answers BadArgument and says nothing; the mock host says which cluster, and how to declare it.
      const hint = this.upstreams.declareClusterHint?.(cluster);
      this.vm.logs.writeHost(LogLevel.Warn, `http_call to cluster "${cluster}", which is not declared: the plugin gets BadArgument${hint ? `; ${hint}` : ""}`, root.id);
      return { status: WasmResult.BadArgument };
    }
    const headers = new HeaderMap("requestHeaders", headerPairs); // "host" lands in :authority
    if (!headers.has(":path") || !headers.has(":method") || !headers.has(":authority")) return { status: WasmResult.BadArgument };
    if (body.length > 0) headers.setInPlace("content-length", String(body.length));
    const token = this.tokens.nextHttpCall();
    const entry: HttpEntry = { kind: "http", root };
    this.entries.set(token, entry);
    const request = this.upstreams.sendHttp(
      token,
      root.id,
      {
        cluster,
        headers,
        body: body.slice(),
        trailers: trailerPairs.length > 0 ? new HeaderMap("requestTrailers", trailerPairs) : undefined,
        timeoutMs: rawTimeoutMs === 0 ? undefined : rawTimeoutMs >>> 0,
      },
      {
        onSuccess: (response) => this.onHttpCallSuccess(token, response),
        onFailure: () => this.onHttpCallFailure(token),
      },
    );
    if (!request) {
      this.entries.delete(token);
      return { status: WasmResult.InternalFailure };
    }
    entry.request = request;
    return { status: WasmResult.Ok, token };
  }

  /**
   * Envoy `Context::grpcCall` / `grpcStream`: the service argument is a serialized GrpcService
   * or else a plain cluster name (unknown → PARSE_FAILURE); the token is taken, and the handler
   * registered, before the client is created (no client → BAD_ARGUMENT, the handler stays).
   */
  grpcStart(
    root: ContextRoot,
    kind: "call" | "stream",
    service: Uint8Array,
    serviceName: string,
    methodName: string,
    metadataPairs: [string, string][],
    message: Uint8Array | undefined,
    rawTimeoutMs: number,
  ): CalloutStart {
    const parsed = readGrpcService(service);
    let cluster: string | undefined;
    if (parsed.kind === "clusterName") {
      if (!this.upstreams.hasCluster(parsed.name)) return { status: WasmResult.ParseFailure };
      cluster = parsed.name;
    } else {
      cluster = parsed.envoyGrpcCluster;
    }
    const token = kind === "call" ? this.tokens.nextGrpcCall() : this.tokens.nextGrpcStream();
    const entry: GrpcCallEntry | GrpcStreamEntry =
      kind === "call" ? { kind: "grpcCall", root } : { kind: "grpcStream", root, localClosed: false, remoteClosed: false };
    this.entries.set(token, entry);
    if (parsed.kind === "proto" && parsed.envoyGrpcCluster === undefined && !parsed.googleGrpc) return { status: WasmResult.BadArgument };
    const request: GrpcCalloutRequest = {
      cluster,
      serviceName,
      methodName,
      initialMetadata: new HeaderMap("requestHeaders", metadataPairs),
      message: message?.slice(),
      timeoutMs: kind === "call" && rawTimeoutMs !== 0 ? rawTimeoutMs >>> 0 : undefined,
    };
    const callbacks = this.grpcCallbacks(root, token);
    const started =
      entry.kind === "grpcCall"
        ? (entry.request = this.upstreams.sendGrpc(token, root.id, request, callbacks))
        : (entry.stream = this.upstreams.startGrpcStream(token, root.id, request, callbacks));
    if (!started) {
      this.entries.delete(token);
      return { status: WasmResult.InternalFailure };
    }
    return { status: WasmResult.Ok, token };
  }

  /** Envoy `Context::grpcSend`. */
  grpcSend(root: ContextRoot, token: number, message: Uint8Array, endStream: boolean): WasmResult {
    if (!isGrpcStreamToken(token)) return WasmResult.BadArgument;
    const entry = this.lookup(root, token);
    if (entry?.kind !== "grpcStream") return WasmResult.NotFound;
    if (!entry.remoteClosed) entry.stream?.send(message.slice(), endStream);
    return WasmResult.Ok;
  }

  /** Envoy `Context::grpcClose`: a call is cancelled; a stream is half-closed (kept until the peer closes too). */
  grpcClose(root: ContextRoot, token: number): WasmResult {
    if (!isGrpcCallToken(token) && !isGrpcStreamToken(token)) return WasmResult.BadArgument;
    const entry = this.lookup(root, token);
    if (!entry) return WasmResult.NotFound;
    if (entry.kind === "grpcStream") {
      if (!entry.remoteClosed) entry.stream?.closeStream();
      if (entry.remoteClosed) this.entries.delete(token);
      else entry.localClosed = true;
    } else {
      entry.request?.cancel();
      this.entries.delete(token);
    }
    return WasmResult.Ok;
  }

  /** Envoy `Context::grpcCancel`: a call is cancelled, a stream reset; no callbacks follow. */
  grpcCancel(root: ContextRoot, token: number): WasmResult {
    if (!isGrpcCallToken(token) && !isGrpcStreamToken(token)) return WasmResult.BadArgument;
    const entry = this.lookup(root, token);
    if (!entry) return WasmResult.NotFound;
    if (entry.kind === "grpcStream") {
      if (!entry.remoteClosed) entry.stream?.resetStream();
    } else {
      entry.request?.cancel();
    }
    this.entries.delete(token);
    return WasmResult.Ok;
  }

  /** Envoy `~Context`: a root going away cancels its calls and resets its streams. */
  cancelAll(root: ContextRoot): void {
    for (const [token, entry] of this.entries.entries()) {
      if (entry.root !== root) continue;
      if (entry.kind === "grpcStream") {
        if (!entry.remoteClosed) entry.stream?.resetStream();
      } else {
        entry.request?.cancel();
      }
      this.entries.delete(token);
    }
  }

  /** Calls of this root still known to Envoy (for tests and leak checks). */
  inFlight(root: ContextRoot): number[] {
    return this.entries.entries().filter(([, e]) => e.root === root).map(([token]) => token);
  }

  private lookup(root: ContextRoot, token: number): Entry | undefined {
    const entry = this.entries.get(token);
    return entry?.root === root ? entry : undefined;
  }

  // --- delivery (Envoy Context::onHttpCall*, onGrpc*Wrapper) ---------------------------

  /** A callback that arrives while the plugin runs waits until that plugin call has returned. */
  private deferredIfBusy(deliver: () => void): boolean {
    if (!this.vm.inPluginCall) return false;
    this.vm.defer(deliver);
    return true;
  }

  /** ContextBase::on*: only if exported; the deferred actions run after a real call. */
  private callRoot(root: ContextRoot, name: string, ...args: number[]): void {
    if (root.deleted) return;
    this.vm.callback(() => invokeExport(this.vm, root.id, name, [root.id, ...args]));
  }

  private onHttpCallSuccess(token: number, response: HttpCalloutResponse): void {
    if (this.deferredIfBusy(() => this.onHttpCallSuccess(token, response))) return;
    const entry = this.entries.get(token);
    if (entry?.kind !== "http") return; // failed at once, cancelled, or its root is gone
    const root = entry.root;
    root.calloutResponse = { kind: "http", headers: response.headers, body: response.body, trailers: response.trailers };
    this.vm.defer(() => {
      root.calloutResponse = undefined;
      this.entries.delete(token);
    });
    this.callRoot(root, "proxy_on_http_call_response", token, response.headers.size, response.body.length, response.trailers?.size ?? 0);
  }

  private onHttpCallFailure(token: number): void {
    if (this.deferredIfBusy(() => this.onHttpCallFailure(token))) return;
    const entry = this.entries.get(token);
    if (entry?.kind !== "http") return;
    const root = entry.root;
    root.status = { code: WasmResult.BrokenConnection, message: "reset" };
    this.vm.defer(() => {
      root.status = { code: root.status.code, message: "" };
      this.entries.delete(token);
    });
    this.callRoot(root, "proxy_on_http_call_response", token, 0, 0, 0);
  }

  /** Envoy's gRPC handlers hold the root itself: these callbacks do not look the token up. */
  private grpcCallbacks(root: ContextRoot, token: number): GrpcCallbacks {
    return {
      onInitialMetadata: (metadata) => this.onGrpcMetadata(root, token, "grpcInitialMetadata", metadata),
      onMessage: (message) => this.onGrpcMessage(root, token, message),
      onTrailingMetadata: (metadata) => this.onGrpcMetadata(root, token, "grpcTrailingMetadata", metadata),
      onRemoteClose: (status, message) => {
        const entry = this.entries.get(token);
        if (entry?.kind === "grpcStream") entry.remoteClosed = true;
        this.onGrpcClose(root, token, status, message);
      },
    };
  }

  private onGrpcMetadata(root: ContextRoot, token: number, kind: "grpcInitialMetadata" | "grpcTrailingMetadata", metadata: HeaderMap): void {
    if (this.deferredIfBusy(() => this.onGrpcMetadata(root, token, kind, metadata))) return;
    root.calloutResponse = { kind, metadata };
    try {
      const name = kind === "grpcInitialMetadata" ? "proxy_on_grpc_receive_initial_metadata" : "proxy_on_grpc_receive_trailing_metadata";
      this.callRoot(root, name, token, metadata.size);
    } finally {
      root.calloutResponse = undefined;
    }
  }

  private onGrpcMessage(root: ContextRoot, token: number, message: Uint8Array): void {
    if (this.deferredIfBusy(() => this.onGrpcMessage(root, token, message))) return;
    const cleanup = () => {
      if (isGrpcCallToken(token)) this.entries.delete(token);
    };
    if (!this.vm.exportedFunction("proxy_on_grpc_receive")) return cleanup();
    // A live Envoy buffer: the plugin may even rewrite it inside the callback.
    root.calloutResponse = { kind: "grpcMessage", message: new MutableBuffer(new BodyBuffer(message)) };
    this.vm.defer(() => {
      root.calloutResponse = undefined;
      cleanup();
    });
    this.callRoot(root, "proxy_on_grpc_receive", token, message.length);
  }

  private onGrpcClose(root: ContextRoot, token: number, status: number, message: string): void {
    if (this.deferredIfBusy(() => this.onGrpcClose(root, token, status, message))) return;
    const cleanup = () => {
      const entry = this.entries.get(token);
      if (entry?.kind === "grpcCall" || (entry?.kind === "grpcStream" && entry.localClosed)) this.entries.delete(token);
    };
    if (!this.vm.exportedFunction("proxy_on_grpc_close")) return cleanup();
    root.status = { code: status >>> 0, message };
    this.vm.defer(() => {
      root.status = { code: root.status.code, message: "" };
      cleanup();
    });
    this.callRoot(root, "proxy_on_grpc_close", token, status);
  }
}
