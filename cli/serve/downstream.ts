// The client's side of `pwas serve`, as an Envoy listener with the HTTP connection manager's
// `codec_type: AUTO`: HTTP/1.1 and HTTP/2 on the same port. Cleartext connections are told
// apart by the HTTP/2 connection preface (h2c with prior knowledge); TLS ones by ALPN ("h2"
// or "http/1.1"). Each request becomes a `Downstream`: what the codec read, and the way back
// to the client, the same for both protocols.
import { createServer as createHttp1Server, type IncomingMessage, type Server as Http1Server, type ServerResponse } from "node:http";
import { constants as http2, createServer as createHttp2Server, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { HeaderMap } from "../../runtime-mock/index.js";
import { rawHeadersOf, requestHasNoBody, trailersOf, type RequestHead } from "./http-mapping.js";
import { forwardBody, headerMapOf, http2Fields } from "./upstream-client.js";

/** One request from a client and the way back to it. */
export interface Downstream {
  /** "HTTP/1.0", "HTTP/1.1" or "HTTP/2" (the request.protocol property). */
  readonly protocol: string;
  readonly head: RequestHead;
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** The headers end the request. */
  readonly hasNoBody: boolean;
  /** Body chunks (the last with the end of stream), or trailers to end it. */
  readBody(data: (chunk: Uint8Array, endOfStream: boolean) => void, trailers: (trailers: HeaderMap) => void, onChunk: () => void): void;
  pauseRequest(): void;
  resumeRequest(): void;
  readonly responseStarted: boolean;
  /** The client is gone, or the response was reset. */
  readonly gone: boolean;
  respond(headers: HeaderMap, endOfStream: boolean): void;
  /** False: the client takes no more for now (see `onDrain`). */
  write(chunk: Uint8Array): boolean;
  end(chunk?: Uint8Array): void;
  sendTrailers(trailers: HeaderMap): void;
  onDrain(listener: () => void): void;
  /** The exchange with the client is over: answered, reset, or the client went away. */
  onClose(listener: () => void): void;
  reset(): void;
  /** Envoy's connection manager answers before any filter runs (400 Bad Request). */
  refuse(status: number, reason: string): void;
}

export interface ListenerOptions {
  host: string;
  port: number;
  /** PEM key and certificate: TLS with ALPN (h2, http/1.1). */
  tls?: { key: string; cert: string } | undefined;
  /** Node's HTTP/1 server settings (header size and timeouts), as Envoy's codec limits. */
  http1: { maxHeaderSize: number; headersTimeout: number; connectionsCheckingInterval: number; requestTimeout: number };
  /**
   * Envoy's Http1ProtocolOptions.enable_trailers (off by default): HTTP/1 request trailers
   * reach the filters and response trailers go to HTTP/1 clients. Off, they are dropped,
   * as Envoy's HTTP/1 codec drops them; HTTP/2 always carries them.
   */
  http1Trailers?: boolean | undefined;
  /** HTTP/2 header list limit (Envoy's max_request_headers_kb). */
  maxHeaderListBytes: number;
  onRequest(downstream: Downstream): void;
  /** HTTP/1 bytes Node's parser refused (malformed, oversized, slow). */
  onHttp1ClientError(error: NodeJS.ErrnoException, socket: Socket): void;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** The listening socket and the two codecs behind it. */
export class Listener {
  private readonly http1: Http1Server;
  private readonly http2: Http2Server;
  private readonly server: NetServer;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: ListenerOptions) {
    this.http1 = createHttp1Server(options.http1);
    this.http1.on("request", (request: IncomingMessage, response: ServerResponse) => options.onRequest(new Http1Downstream(request, response, this.scheme, options.http1Trailers === true)));
    this.http1.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => options.onHttp1ClientError(error, socket));
    this.http2 = createHttp2Server({ settings: { maxHeaderListSize: options.maxHeaderListBytes } });
    this.http2.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
      options.onRequest(new Http2Downstream(stream, headers, rawHeaders, this.scheme)),
    );
    // A broken HTTP/2 connection is that client's problem: the session goes, the proxy stays.
    this.http2.on("sessionError", () => {});
    this.server = options.tls
      ? createTlsServer({ key: options.tls.key, cert: options.tls.cert, ALPNProtocols: ["h2", "http/1.1"] }, (socket: TLSSocket) => this.route(socket, socket.alpnProtocol === "h2"))
      : createNetServer((socket) => this.sniff(socket));
    if (options.tls) this.server.on("tlsClientError", (_error: Error, socket: TLSSocket) => socket.destroy());
  }

  private get scheme(): "http" | "https" {
    return this.options.tls ? "https" : "http";
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off("error", reject);
        // The HTTP/1 server never listens itself; "listening" starts its header and request timeouts.
        this.http1.emit("listening");
        resolve();
      });
    });
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Stops listening and drops every connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.http1.closeAllConnections();
      // Stops the HTTP/1 server's timeout checks (it was never listening itself).
      this.http1.close();
    });
  }

  /** Cleartext: the first bytes tell HTTP/2's preface from an HTTP/1 request line. */
  private sniff(socket: Socket): void {
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const prefix = seen.subarray(0, PREFACE.length);
      // Still a possible preface: wait for more bytes.
      if (prefix.length < PREFACE.length && PREFACE.subarray(0, prefix.length).equals(prefix)) return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(seen);
      this.route(socket, prefix.equals(PREFACE));
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
    // A client that connects and says nothing is dropped after the header timeout.
    socket.setTimeout(this.options.http1.headersTimeout, () => {
      if (socket.listenerCount("data") > 0 && seen.length < PREFACE.length) socket.destroy();
    });
  }

  private route(socket: Socket, http2Connection: boolean): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.setTimeout(0);
    // The HTTP/2 session takes the bytes read so far (unshifted, socket paused) and reads on by itself;
    // the HTTP/1 server reads through the stream, which must flow again.
    if (http2Connection) {
      this.http2.emit("connection", socket);
    } else {
      this.http1.emit("connection", socket);
      socket.resume();
    }
  }
}

// --- HTTP/1 ------------------------------------------------------------------------------

class Http1Downstream implements Downstream {
  readonly protocol: string;
  readonly head: RequestHead;
  readonly remoteAddress: string;
  readonly localAddress: string;

  constructor(
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    connectionScheme: "http" | "https",
    private readonly trailers: boolean,
  ) {
    this.protocol = `HTTP/${request.httpVersion}`;
    this.head = { method: request.method ?? "GET", target: request.url ?? "/", authority: request.headers.host, scheme: undefined, connectionScheme, rawHeaders: request.rawHeaders };
    const socket = request.socket;
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.localAddress = `${socket.localAddress}:${socket.localPort}`;
  }

  get hasNoBody(): boolean {
    return requestHasNoBody(this.request.headers);
  }

  readBody(data: (chunk: Uint8Array, endOfStream: boolean) => void, trailers: (trailers: HeaderMap) => void, onChunk: () => void): void {
    const request = this.request;
    forwardBody(request, { data, trailers }, () => (this.trailers ? trailersOf("requestTrailers", request.rawTrailers) : undefined), undefined, onChunk);
  }

  pauseRequest(): void {
    this.request.pause();
  }

  resumeRequest(): void {
    this.request.resume();
  }

  get responseStarted(): boolean {
    return this.response.headersSent;
  }

  get gone(): boolean {
    return this.response.destroyed;
  }

  respond(headers: HeaderMap, endOfStream: boolean): void {
    this.response.writeHead(Number(headers.get(":status") ?? 200), rawHeadersOf(headers));
    if (endOfStream) this.response.end();
  }

  write(chunk: Uint8Array): boolean {
    return this.response.write(chunk);
  }

  end(chunk?: Uint8Array): void {
    this.response.end(chunk && chunk.length > 0 ? chunk : undefined);
  }

  sendTrailers(trailers: HeaderMap): void {
    // Without enable_trailers Envoy's HTTP/1 codec ends the response without them.
    if (this.trailers) this.response.addTrailers(trailers.pairs());
    this.response.end();
  }

  onDrain(listener: () => void): void {
    this.response.once("drain", listener);
  }

  onClose(listener: () => void): void {
    this.response.on("close", listener);
  }

  reset(): void {
    this.response.destroy();
  }

  refuse(status: number, reason: string): void {
    this.response.writeHead(status, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(reason)), connection: "close" });
    this.response.end(reason);
    this.request.resume();
  }
}

// --- HTTP/2 ------------------------------------------------------------------------------

class Http2Downstream implements Downstream {
  readonly protocol = "HTTP/2";
  readonly head: RequestHead;
  readonly remoteAddress: string;
  readonly localAddress: string;
  private started = false;
  private pendingTrailers: HeaderMap | undefined;
  private readonly contentLength: number;

  constructor(
    private readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    rawHeaders: string[],
    connectionScheme: "http" | "https",
  ) {
    const authority = headers[http2.HTTP2_HEADER_AUTHORITY] ?? headers.host;
    this.head = {
      method: String(headers[http2.HTTP2_HEADER_METHOD] ?? "GET"),
      target: String(headers[http2.HTTP2_HEADER_PATH] ?? "/"),
      authority: authority === undefined ? undefined : String(authority),
      scheme: String(headers[http2.HTTP2_HEADER_SCHEME] ?? connectionScheme),
      connectionScheme,
      rawHeaders: joinCookies(rawHeaders),
    };
    const declared = headers["content-length"];
    this.contentLength = declared === undefined ? NaN : Number(declared);
    const socket = stream.session?.socket;
    this.remoteAddress = `${socket?.remoteAddress}:${socket?.remotePort}`;
    this.localAddress = `${socket?.localAddress}:${socket?.localPort}`;
    // A stream the client resets must not throw anywhere.
    stream.on("error", () => {});
  }

  get hasNoBody(): boolean {
    return this.stream.endAfterHeaders;
  }

  readBody(data: (chunk: Uint8Array, endOfStream: boolean) => void, trailers: (trailers: HeaderMap) => void, onChunk: () => void): void {
    let received: HeaderMap | undefined;
    this.stream.once("trailers", (fields: IncomingHttpHeaders) => (received = headerMapOf("requestTrailers", fields)));
    forwardBody(this.stream, { data, trailers }, () => received, this.contentLength, onChunk);
  }

  pauseRequest(): void {
    this.stream.pause();
  }

  resumeRequest(): void {
    this.stream.resume();
  }

  get responseStarted(): boolean {
    return this.started;
  }

  get gone(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  respond(headers: HeaderMap, endOfStream: boolean): void {
    this.started = true;
    const fields = http2Fields(headers);
    fields[http2.HTTP2_HEADER_STATUS] = Number(headers.get(":status") ?? 200);
    // With trailers the stream ends with them; without, on the last DATA frame (or the headers: trailers-only).
    this.stream.respond(fields, { endStream: endOfStream, waitForTrailers: !endOfStream });
    this.stream.on("wantTrailers", () => this.stream.sendTrailers(this.pendingTrailers ? http2Fields(this.pendingTrailers) : {}));
  }

  write(chunk: Uint8Array): boolean {
    return this.stream.write(chunk);
  }

  end(chunk?: Uint8Array): void {
    this.stream.end(chunk && chunk.length > 0 ? chunk : undefined);
  }

  sendTrailers(trailers: HeaderMap): void {
    this.pendingTrailers = trailers;
    this.stream.end();
  }

  onDrain(listener: () => void): void {
    this.stream.once("drain", listener);
  }

  onClose(listener: () => void): void {
    this.stream.on("close", listener);
  }

  reset(): void {
    if (!this.stream.destroyed) this.stream.close(http2.NGHTTP2_INTERNAL_ERROR);
  }

  refuse(status: number, reason: string): void {
    this.started = true;
    this.stream.respond({ [http2.HTTP2_HEADER_STATUS]: status, "content-type": "text/plain", "content-length": Buffer.byteLength(reason) });
    this.stream.end(reason);
    this.stream.resume();
  }
}

/** Envoy's HTTP/2 codec joins the cookie crumbs a client sends (RFC 9113 §8.2.3) into one header. */
function joinCookies(rawHeaders: string[]): string[] {
  const out: string[] = [];
  let cookieAt = -1;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name === "cookie") {
      if (cookieAt >= 0) {
        out[cookieAt + 1] += `; ${rawHeaders[i + 1]}`;
        continue;
      }
      cookieAt = out.length;
    }
    out.push(name, rawHeaders[i + 1]);
  }
  return out;
}
