// pwas serve speaks HTTP/2 like an Envoy listener with codec_type AUTO: h2c and HTTP/1.1 on
// one port, h2 and HTTP/1.1 over TLS by ALPN, HTTP/2 upstreams, trailers end to end, gRPC
// local replies trailers-only, and gRPC callouts to real gRPC servers (@grpc/grpc-js).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { connect as connectHttp2, constants as http2constants, createSecureServer as createSecureHttp2Server, createServer as createHttp2Server, type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders } from "node:http2";
import { request as httpRequest } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import type { ConnectionOptions } from "node:tls";
import { connect as netConnect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { startFromFlags, type RunningServe, type ServeFlags } from "../cli/commands/serve.js";

const PROBE = resolve("test/fixtures/h2-probe/build/release.wasm");
const CALLOUTS = resolve("test/fixtures/callouts/build/release.wasm");

const closers: (() => unknown)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function serve(flags: Partial<ServeFlags>, lines: string[] = []): Promise<RunningServe> {
  const running = await startFromFlags({ name: "plugin", upstream: "echo", listen: "127.0.0.1:0", watch: false, ...flags } as ServeFlags, (line) => lines.push(line));
  closers.push(() => running.stop());
  return running;
}

interface H2Response {
  headers: IncomingHttpHeaders;
  body: string;
  trailers: IncomingHttpHeaders | undefined;
  /** The response was headers only (END_STREAM on the HEADERS frame: trailers-only for gRPC). */
  headersOnly: boolean;
}

/** One HTTP/2 request on `session`, with optional request trailers. */
function h2request(session: ClientHttp2Session, headers: Record<string, string>, body?: string, trailers?: Record<string, string>): Promise<H2Response> {
  return new Promise((resolvePromise, reject) => {
    const stream = session.request(headers, { endStream: body === undefined && !trailers, waitForTrailers: trailers !== undefined });
    if (trailers) stream.on("wantTrailers", () => stream.sendTrailers(trailers));
    let responseHeaders: IncomingHttpHeaders = {};
    let responseTrailers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let headersOnly = false;
    stream.on("response", (h, flags) => {
      responseHeaders = h;
      headersOnly = (flags & http2constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    stream.on("trailers", (t) => (responseTrailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolvePromise({ headers: responseHeaders, body: Buffer.concat(chunks).toString(), trailers: responseTrailers, headersOnly }));
    stream.on("error", reject);
    if (body !== undefined) stream.end(body);
    else if (trailers) stream.end();
  });
}

function h2session(url: string, ca?: string): ClientHttp2Session {
  const session = connectHttp2(url, ca ? { ca } : {});
  session.on("error", () => {});
  closers.push(() => session.close());
  return session;
}

/** An h2c upstream: echoes what it got, with trailers (grpc-status 0 and x-upstream). */
async function startH2cUpstream(): Promise<{ url: string; seen: { headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders | undefined; body: string }[] }> {
  const seen: { headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders | undefined; body: string }[] = [];
  const server: Http2Server = createHttp2Server();
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    const record = { headers, trailers: undefined as IncomingHttpHeaders | undefined, body: "" };
    stream.on("trailers", (t) => (record.trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      record.body = Buffer.concat(chunks).toString();
      seen.push(record);
      stream.respond({ ":status": 200, "content-type": "text/plain", "x-upstream-protocol": "h2" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "x-upstream": "done" }));
      stream.end(`h2 upstream got ${headers[":method"]} ${headers[":path"]} body=${record.body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A self-signed certificate for 127.0.0.1 (openssl), with its key, as files and the certificate's PEM. */
function selfSigned(): { key: string; cert: string; pem: string } {
  const dir = mkdtempSync(join(tmpdir(), "pwas-tls-"));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  return { key, cert, pem: readFileSync(cert, "utf8") };
}

describe("pwas serve: HTTP/2 downstream", () => {
  it("h2c with prior knowledge and HTTP/1.1 on the same port; the filter sees HTTP/2 in request.protocol and Envoy's HTTP/2 headers", async () => {
    const running = await serve({ wasm: PROBE });
    const url = running.proxy.address.url.href;
    const session = h2session(url);
    const h2 = await h2request(session, { ":method": "GET", ":path": "/productpage", "x-custom": "1", cookie: "a=1", te: "trailers" });
    assert.equal(h2.headers[":status"], 200);
    assert.equal(h2.headers["x-seen-protocol"], "HTTP/2");
    const names = String(h2.headers["x-seen-request-headers"]).split(",");
    assert.deepEqual(names.slice(0, 4), [":authority", ":path", ":method", ":scheme"], "pseudo-headers first");
    assert.ok(names.includes("x-custom") && names.includes("te"), `te: trailers is kept (${names})`);
    assert.ok(!names.includes("host") && !names.includes("connection"), "no Host and no connection-specific headers");
    assert.equal(JSON.parse(h2.body).path, "/productpage");

    const h1 = await fetch(new URL("/productpage", url));
    assert.equal(h1.status, 200);
    assert.equal(h1.headers.get("x-seen-protocol"), "HTTP/1.1");
  });

  it("h2 and HTTP/1.1 over TLS, chosen by ALPN, with the certificate and key given", async () => {
    const { key, cert, pem: ca } = selfSigned();
    const running = await serve({ wasm: PROBE, tlsCert: cert, tlsKey: key });
    const url = running.proxy.address.url;
    assert.equal(url.protocol, "https:");
    const h2 = await h2request(h2session(url.href, ca), { ":method": "GET", ":path": "/tls" });
    assert.equal(h2.headers[":status"], 200);
    assert.equal(h2.headers["x-seen-protocol"], "HTTP/2");
    assert.equal(JSON.parse(h2.body).headers["x-forwarded-proto"], "https", "the connection's scheme");
    const h1 = await new Promise<{ status: number; protocol: string | undefined }>((resolvePromise, reject) => {
      const options: RequestOptions & ConnectionOptions = { host: "127.0.0.1", port: Number(url.port), path: "/tls", ca, ALPNProtocols: ["http/1.1"] };
      const request = httpsRequest(options, (response) => {
        response.resume();
        response.on("end", () => resolvePromise({ status: response.statusCode ?? 0, protocol: response.headers["x-seen-protocol"] as string | undefined }));
      });
      request.on("error", reject);
      request.end();
    });
    assert.deepEqual(h1, { status: 200, protocol: "HTTP/1.1" });
  });

  it("refuses a half-given TLS pair and a key that is not PEM, naming the flag", async () => {
    await assert.rejects(serve({ wasm: PROBE, tlsCert: "/nonexistent.pem" }), /--tls-cert and --tls-key go together/);
    await assert.rejects(serve({ wasm: PROBE, tlsCert: PROBE, tlsKey: PROBE }), /--tls-cert .*not PEM/);
  });

  it("a local reply to a gRPC request over HTTP/2 is trailers-only on the wire: 200, grpc-status, grpc-message", async () => {
    const running = await serve({ wasm: PROBE });
    const reply = await h2request(h2session(running.proxy.address.url.href), { ":method": "POST", ":path": "/deny", "content-type": "application/grpc", te: "trailers" }, "");
    assert.equal(reply.headersOnly, true, "END_STREAM on the HEADERS frame");
    assert.equal(reply.headers[":status"], 200);
    assert.equal(reply.headers["grpc-status"], "7");
    assert.equal(reply.headers["grpc-message"], "denied by probe");
    assert.equal(reply.body, "");
  });
});

describe("pwas serve: hostile HTTP/2 clients", () => {
  it("garbage after the preface, a reset mid-upload and an oversized header list end that client's connection or stream; the proxy serves on", async () => {
    const upstream = await startH2cUpstream();
    const lines: string[] = [];
    const running = await serve({ wasm: PROBE, upstream: upstream.url, upstreamHttp2: true }, lines);
    const { port } = running.proxy.address;

    const garbage = await new Promise<string>((resolvePromise) => {
      const socket = netConnect(port, "127.0.0.1", () => socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.alloc(64, 0xff)])));
      socket.on("error", () => {});
      socket.on("close", () => resolvePromise("closed"));
      socket.resume();
    });
    assert.equal(garbage, "closed");

    const session = h2session(running.proxy.address.url.href);
    const upload = session.request({ ":method": "POST", ":path": "/upload" });
    upload.on("error", () => {});
    upload.write("part one");
    await new Promise((r) => setTimeout(r, 100));
    upload.close(http2constants.NGHTTP2_CANCEL);

    const big = session.request({ ":path": "/big", "x-big": "x".repeat(70 * 1024) });
    const bigOutcome = await new Promise<string>((resolvePromise) => {
      big.on("response", (h) => resolvePromise(`status ${h[":status"]}`));
      big.on("error", (e: NodeJS.ErrnoException) => resolvePromise(`error ${e.code}`));
      big.on("close", () => resolvePromise(`closed ${big.rstCode}`));
      big.end();
    });
    assert.doesNotMatch(bigOutcome, /status 200/, `a 70 KiB header list is refused (${bigOutcome})`);

    const fine = await h2request(h2session(running.proxy.address.url.href), { ":method": "GET", ":path": "/after" });
    assert.equal(fine.headers[":status"], 200, "the proxy still answers");
  });
});

describe("pwas serve: HTTP/2 upstream and trailers", () => {
  it("--upstream-http2: h2c to the upstream; request and response trailers pass end to end, through the filter", async () => {
    const upstream = await startH2cUpstream();
    const running = await serve({ wasm: PROBE, upstream: upstream.url, upstreamHttp2: true });
    const response = await h2request(
      h2session(running.proxy.address.url.href),
      { ":method": "POST", ":path": "/upload", "content-type": "application/grpc", te: "trailers" },
      "payload",
      { "x-request-trailer": "sent" },
    );
    assert.equal(response.headers[":status"], 200);
    assert.equal(response.headers["x-upstream-protocol"], "h2");
    assert.equal(response.body, "h2 upstream got POST /upload body=payload");
    assert.equal(response.trailers?.["grpc-status"], "0", "grpc-status in the trailers reaches the client");
    assert.equal(response.trailers?.["x-upstream"], "done");
    assert.equal(response.trailers?.["x-probe"], "seen 2", "the filter saw the trailers and added one");
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.trailers?.["x-request-trailer"], "sent", "request trailers reached the upstream");
    assert.equal(seen.headers.te, "trailers", "te: trailers is kept");
  });

  it("an HTTP/1.1 client in front of an HTTP/2 upstream: trailers dropped as by Envoy's HTTP/1 codec, and sent as chunked trailers with --http1-trailers", async () => {
    const upstream = await startH2cUpstream();
    const h1get = (port: number) =>
      new Promise<{ status: number; body: string; trailers: NodeJS.Dict<string> }>((resolvePromise, reject) => {
        const request = httpRequest({ host: "127.0.0.1", port, path: "/h1", method: "GET", headers: { te: "trailers" } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), trailers: res.trailers }));
        });
        request.on("error", reject);
        request.end();
      });
    const plain = await serve({ wasm: PROBE, upstream: `${upstream.url},http2` });
    const dropped = await h1get(plain.proxy.address.port);
    assert.equal(dropped.status, 200);
    assert.equal(dropped.body, "h2 upstream got GET /h1 body=");
    assert.deepEqual(dropped.trailers, {}, "Envoy's default (enable_trailers: false) drops them for HTTP/1");

    const enabled = await serve({ wasm: PROBE, upstream: `${upstream.url},http2`, http1Trailers: true });
    const passed = await h1get(enabled.proxy.address.port);
    assert.equal(passed.body, "h2 upstream got GET /h1 body=");
    assert.equal(passed.trailers["x-upstream"], "done");
    assert.equal(passed.trailers["x-probe"], "seen 2");
  });

  it("h2 over TLS to the upstream (https:// with ,http2), trusting the CA given with --ca", async () => {
    const { key, cert } = selfSigned();
    const server = createSecureHttp2Server({ key: readFileSync(key), cert: readFileSync(cert) });
    server.on("stream", (stream, headers) => {
      stream.respond({ ":status": 200, "x-alpn": String((stream.session?.socket as { alpnProtocol?: string } | undefined)?.alpnProtocol) });
      stream.end(`tls upstream got ${headers[":path"]}`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const running = await serve({ wasm: PROBE, upstream: `https://127.0.0.1:${(server.address() as AddressInfo).port},http2`, ca: cert });
    const response = await fetch(new URL("/secure", running.proxy.address.url));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-alpn"), "h2");
    assert.equal(await response.text(), "tls upstream got /secure");
  });

  it("an HTTP callout to an HTTP/2 cluster goes over h2c and its answer reaches the plugin", async () => {
    const upstream = await startH2cUpstream();
    const running = await serve({ wasm: CALLOUTS, rootId: "auth", cluster: [`auth=${upstream.url},http2`] });
    const response = await fetch(new URL("/books", running.proxy.address.url), { headers: { "x-user": "ann" } });
    assert.equal(response.status, 200);
    const seen = upstream.seen.at(-1)!;
    assert.deepEqual([seen.headers[":method"], seen.headers[":path"], seen.headers[":authority"], seen.headers["x-user"], seen.body], ["POST", "/check", "auth.local", "ann", "/books"]);
    assert.equal(JSON.parse(await response.text()).headers["x-auth"], "h2 upstream got POST /check body=/books", "the callout's body reached the plugin");
  });

  it("an HTTP/2 upstream that cannot be reached is Envoy's 503", async () => {
    const running = await serve({ wasm: PROBE, upstream: "http://127.0.0.1:1", upstreamHttp2: true });
    const response = await h2request(h2session(running.proxy.address.url.href), { ":method": "GET", ":path": "/" });
    assert.equal(response.headers[":status"], 503);
    assert.match(response.body, /upstream connect error or disconnect\/reset before headers. reset reason: connection failure/);
  });
});

// --- gRPC callouts -----------------------------------------------------------------------

const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const AUTHZ = { Check: { path: "/authz.Authorizer/Check", requestStream: false, responseStream: false, ...raw } } as grpc.ServiceDefinition;
const EVENTS = { Append: { path: "/events.Log/Append", requestStream: true, responseStream: true, ...raw } } as grpc.ServiceDefinition;

/** Protobuf of the fixture's answer: 1 = allowed (bool), 2 = reason (string). */
function answer(allowed: boolean, reason: string): Buffer {
  const text = Buffer.from(reason);
  return Buffer.concat([Buffer.from([0x08, allowed ? 1 : 0, 0x12, text.length]), text]);
}

/** Field 1 (the request path) of the fixture's request message. */
function pathOf(message: Buffer): string {
  return message[0] === 0x0a ? message.subarray(2, 2 + message[1]!).toString() : "";
}

interface GrpcServers {
  port: number;
  checks: { path: string; user: string | undefined; deadline: boolean }[];
  events: string[];
  /** Event streams the client cancelled. */
  cancelled: number;
}

async function startGrpcServers(delayMs = 0): Promise<GrpcServers> {
  const state: GrpcServers = { port: 0, checks: [], events: [], cancelled: 0 };
  const server = new grpc.Server();
  server.addService(AUTHZ, {
    Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const path = pathOf(call.request);
      state.checks.push({ path, user: call.metadata.get("x-user")[0] as string | undefined, deadline: call.getDeadline() !== Infinity });
      const reply = () => {
        if (path === "/denied") callback(null, answer(false, "not for you"));
        else if (path === "/broken") callback({ code: grpc.status.FAILED_PRECONDITION, details: "checker broken" });
        else callback(null, answer(true, `ok ${path}`));
      };
      if (delayMs > 0) setTimeout(reply, delayMs);
      else reply();
    },
  });
  server.addService(EVENTS, {
    Append: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      const metadata = new grpc.Metadata();
      metadata.set("x-server", "events-1");
      call.sendMetadata(metadata);
      call.on("data", (message: Buffer) => {
        state.events.push(message.toString());
        call.write(Buffer.from(`ack ${message.toString()}`));
      });
      call.on("end", () => call.end());
      call.on("cancelled", () => state.cancelled++);
    },
  });
  state.port = await new Promise<number>((resolvePromise, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolvePromise(port))));
  closers.push(() => server.forceShutdown());
  return state;
}

function callouts(servers: { port: number }, flags: Partial<ServeFlags> = {}, lines: string[] = []): Promise<RunningServe> {
  const cluster = `http://127.0.0.1:${servers.port},http2`;
  return serve({ wasm: CALLOUTS, rootId: "grpc", cluster: [`authz=${cluster}`, `events=${cluster}`], ...flags }, lines);
}

const get = (running: RunningServe, path: string, headers: Record<string, string> = {}) => fetch(new URL(path, running.proxy.address.url), { headers });

describe("pwas serve: gRPC callouts to real gRPC services", () => {
  it("a unary call: /<service>/<method>, the plugin's metadata, grpc-timeout; the answer allows or denies", async () => {
    const servers = await startGrpcServers();
    const running = await callouts(servers);
    const allowed = await get(running, "/books", { "x-user": "ana" });
    assert.equal(allowed.status, 200);
    assert.equal(JSON.parse(await allowed.text()).headers["x-authz"], "ok /books", "the server's answer reached the plugin");
    assert.deepEqual(servers.checks.at(-1), { path: "/books", user: "ana", deadline: true });
    const denied = await get(running, "/denied");
    assert.equal(denied.status, 403);
    assert.equal(await denied.text(), "not for you");
    const broken = await get(running, "/broken");
    assert.equal(broken.status, 503);
    assert.equal(await broken.text(), "authz 9: checker broken", "the server's status and message reach onGrpcCallResponse");
  });

  it("a stream with several messages: initial metadata, each message as it arrives, then trailers and the close after a half-close", async () => {
    const servers = await startGrpcServers();
    const running = await callouts(servers);
    await (await get(running, "/one")).text();
    await (await get(running, "/two")).text();
    // The plugin half-closes its event stream with this request's message (x-last): the server ends the stream.
    await (await get(running, "/three", { "x-last": "1" })).text();
    const deadline = Date.now() + 5000;
    let events = "";
    while (Date.now() < deadline) {
      events = (await get(running, "/after")).headers.get("x-events") ?? "";
      if (events.includes("close(")) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(servers.events, ["/one", "/two", "/three"], "messages reached the server in order");
    assert.match(events, /^headers\(\d+,events-1\);message\(ack \/one\);message\(ack \/two\);message\(ack \/three\);trailers\(\d+,0\);close\(0,OK\);$/, "the server's grpc-message (OK) reaches the close");
  });

  it("a stream is cancelled (RST_STREAM CANCEL) when its root context goes away: a reload retires the old plugins", async () => {
    const servers = await startGrpcServers();
    const running = await callouts(servers);
    await (await get(running, "/first")).text();
    assert.equal(servers.cancelled, 0);
    assert.equal(await running.proxy.reload(), true);
    const deadline = Date.now() + 5000;
    while (servers.cancelled === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(servers.cancelled, 1, "the old root's event stream was cancelled, the session stays");
    await (await get(running, "/second")).text();
    assert.deepEqual(servers.events, ["/first", "/second"], "the new plugins opened their own stream");
  });

  it("a deadline: the call's timeout goes as grpc-timeout, and Envoy's timer ends it with UNAVAILABLE, 'upstream request timeout'", async () => {
    const servers = await startGrpcServers(1500);
    const running = await callouts(servers);
    const started = Date.now();
    const response = await get(running, "/slow");
    assert.equal(response.status, 503);
    assert.equal(await response.text(), "authz 14: upstream request timeout");
    assert.ok(Date.now() - started < 1400, "the fixture's 200 ms timeout ended it, not the server");
    assert.equal(servers.checks.at(-1)?.deadline, true, "the server saw the deadline");
  });

  it("an unreachable cluster: UNAVAILABLE with Envoy's connect error", async () => {
    const lines: string[] = [];
    const running = await callouts({ port: 1 }, {}, lines);
    const response = await get(running, "/any");
    assert.equal(response.status, 503);
    assert.match(await response.text(), /^authz 14: upstream connect error or disconnect\/reset before headers. reset reason: connection failure/);
  });
});

