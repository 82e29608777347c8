// pwas serve survives any plugin and any client (issue 15): each case on real sockets —
// a hostile plugin, a malformed or slow client, an upstream that fails — gets Envoy's
// answer (a local reply or a reset), one log line naming who and why, and the proxy keeps
// serving the next request.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startFromFlags, type RunningServe } from "../cli/commands/serve.js";
import { buildPlugin, recordingCallbacks, type Kit } from "./support/plugin.js";

const dir = mkdtempSync(join(tmpdir(), "pwas-reliability-"));
const HEADER_APPEND = resolve("examples/header-append/build/release.wasm");
let serial = 0;

/** A WAT plugin written to a file for --wasm. */
function pluginFile(build: (kit: Kit) => string): string {
  const file = join(dir, `plugin-${serial++}.wasm`);
  writeFileSync(file, buildPlugin((kit) => ({ body: build(kit) })));
  return file;
}

const REQUEST_HEADERS = 0;
const RESPONSE_HEADERS = 2;
const addHeader = (kit: Kit, map: number, name: string, value: string) =>
  `(drop (call $proxy_add_header_map_value (i32.const ${map}) ${kit.str(name)} ${kit.str(value)}))`;

type Flags = Parameters<typeof startFromFlags>[0];

async function serve(flags: Partial<Flags>, lines: string[]): Promise<RunningServe> {
  return startFromFlags({ name: "plugin", upstream: "echo", listen: "127.0.0.1:0", watch: false, ...flags } as Flags, (line) => lines.push(line));
}

interface RawAnswer {
  /** The bytes the proxy sent before the connection ended. */
  text: string;
  /** The connection was reset or closed without a full response. */
  status: number | undefined;
}

/** Sends raw bytes on a fresh connection and collects everything until the server closes it (or `waitMs` passes). */
function raw(port: number, bytes: string | Buffer, waitMs = 5000): Promise<RawAnswer> {
  return new Promise((resolveAnswer) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolveAnswer({ text, status: match ? Number(match[1]) : undefined });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      done();
    }, waitMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => {});
    socket.on("close", done);
    socket.write(bytes);
  });
}

/** A GET through the proxy: the status, or "reset" when the connection ended without an answer. */
function get(port: number, path = "/", headers: Record<string, string> = {}): Promise<{ status: number | "reset"; body: string; headers: IncomingMessage["headers"] }> {
  return new Promise((resolveGet) => {
    const outgoing = httpRequest({ host: "127.0.0.1", port, path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (c: Buffer) => chunks.push(c));
      response.on("end", () => resolveGet({ status: response.statusCode!, body: Buffer.concat(chunks).toString(), headers: response.headers }));
      response.on("error", () => resolveGet({ status: "reset", body: "", headers: {} }));
    });
    outgoing.on("error", () => resolveGet({ status: "reset", body: "", headers: {} }));
    outgoing.end();
  });
}

async function listen(server: Server | NetServer): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return (server.address() as AddressInfo).port;
}

const closers: (() => unknown)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function started(flags: Partial<Flags>): Promise<{ port: number; lines: string[] }> {
  const lines: string[] = [];
  const running = await serve(flags, lines);
  closers.push(() => running.stop());
  return { port: running.proxy.address.port, lines };
}

describe("pwas serve: a plugin cannot take it down", () => {
  it("a local reply with status 99999 resets that stream, names the plugin, and the next request is served", async () => {
    const wasm = pluginFile((kit) =>
      recordingCallbacks({
        requestHeaders: {
          code: `(drop (call $proxy_send_local_response (i32.const 99999) ${kit.str("bad")} ${kit.str("body")} (i32.const 0) (i32.const 0) (i32.const -1)))`,
          result: 1,
        },
      }),
    );
    const { port, lines } = await started({ wasm, name: "bad-status" });
    for (let i = 0; i < 2; i++) {
      const answer = await get(port);
      assert.equal(answer.status, "reset", "Envoy's codec refuses the status: the stream is reset");
    }
    assert.ok(lines.some((l) => /reset: codec refused the response headers: :status "99999" is not a three-digit status code \(from bad-status\)/.test(l)), lines.join("\n"));
  });

  it("CR/LF in a value, a header name that is not a token, or a second :status: refused, never written", async () => {
    const cases: [string, string, (kit: Kit) => string, RegExp][] = [
      ["crlf-request", "requestHeaders", (kit) => addHeader(kit, REQUEST_HEADERS, "x-a", "a\r\nSet-Cookie: evil=1"), /codec refused the request headers: header x-a has a value with CR, LF or NUL \(from crlf-request\)/],
      ["crlf-response", "responseHeaders", (kit) => addHeader(kit, RESPONSE_HEADERS, "x-a", "a\r\nSet-Cookie: evil=1"), /codec refused the response headers: header x-a has a value with CR, LF or NUL/],
      ["bad-name", "responseHeaders", (kit) => addHeader(kit, RESPONSE_HEADERS, "a b:", "x"), /header name "a b:" is not a valid token \(from bad-name\)/],
      ["second-status", "responseHeaders", (kit) => addHeader(kit, RESPONSE_HEADERS, ":status", "hello"), /:status "200,hello" is not a three-digit status code \(from second-status\)/],
    ];
    for (const [name, callback, code, logged] of cases) {
      const wasm = pluginFile((kit) => recordingCallbacks({ [callback]: { code: code(kit) } }));
      const { port, lines } = await started({ wasm, name });
      const answer = await raw(port, "GET / HTTP/1.1\r\nhost: x\r\n\r\n");
      assert.doesNotMatch(answer.text, /evil=1/, `${name}: the injected header never reaches the wire`);
      assert.equal(answer.status, undefined, `${name}: reset, no response: ${answer.text}`);
      assert.ok(lines.some((l) => logged.test(l)), `${name}:\n${lines.join("\n")}`);
      assert.equal((await get(port)).status, "reset", `${name}: still up, and still refusing`);
    }
  });

  it("a plugin stuck in a loop ends at the step budget (503, fail closed) while other connections are served", async () => {
    const loop = pluginFile(() => recordingCallbacks({ requestHeaders: { code: "(loop $l (br $l))" } }));
    const { port, lines } = await started({ wasm: loop, name: "looper" });
    const fine = await started({ plugin: [], wasm: HEADER_APPEND, name: "fine", config: "{}" });
    const [stuck, other] = await Promise.all([get(port), get(fine.port)]);
    assert.equal(stuck.status, 503);
    assert.equal(other.status, 200);
    assert.ok(lines.some((l) => /\[looper\][\s\S]*runaway in proxy_on_request_headers/.test(l)), lines.join("\n"));
    assert.equal((await get(port)).status, 503, "the failed VM fails closed from then on; the proxy is up");
  });

  it("a trap in any phase: 503 before the response started, a reset after; the proxy stays up", async () => {
    for (const [phase, expected] of [["requestHeaders", 503], ["requestBody", 503], ["responseHeaders", 503], ["responseBody", "reset"]] as const) {
      const wasm = pluginFile(() => recordingCallbacks({ [phase]: { code: "(unreachable)" } }));
      const { port, lines } = await started({ wasm, name: `trap-${phase}` });
      const answer = await new Promise<number | "reset">((resolveAnswer) => {
        const outgoing = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/", agent: false, headers: { "content-length": "5" } }, (response) => {
          response.resume();
          response.on("end", () => resolveAnswer(response.statusCode!));
          response.on("error", () => resolveAnswer("reset"));
        });
        outgoing.on("error", () => resolveAnswer("reset"));
        outgoing.end("hello");
      });
      assert.equal(answer, expected, `${phase}: ${lines.join("\n")}`);
      assert.ok(lines.some((l) => new RegExp(`\\[trap-${phase}\\] .*unreachable`).test(l)), lines.join("\n"));
      assert.equal((await get(port)).status, 503, `${phase}: still serving (fail closed)`);
    }
  });

  it("a stream a plugin never resumes ends with Envoy's 408 after the stream idle timeout", async () => {
    const wasm = pluginFile(() => recordingCallbacks({ requestHeaders: { result: 1 } }));
    const { port, lines } = await started({ wasm, name: "pauser", streamIdleTimeout: "300ms" });
    const answer = await get(port);
    assert.equal(answer.status, 408);
    assert.equal(answer.body, "stream timeout");
    assert.ok(lines.some((l) => /GET \/ 408/.test(l)), lines.join("\n"));
  });
});

describe("pwas serve: any client", () => {
  let port: number;
  let lines: string[];
  let upstreamPort: number;
  const aborted: string[] = [];

  before(async () => {
    const upstream = createHttpServer({ maxHeaderSize: 128 * 1024 }, (request, response) => {
      let bytes = 0;
      request.on("data", (c: Buffer) => (bytes += c.length));
      request.on("aborted", () => aborted.push(request.url!));
      request.on("end", () => response.end(`got ${bytes}`));
    });
    upstreamPort = await listen(upstream);
    closers.push(() => new Promise((r) => { upstream.closeAllConnections(); upstream.close(r); }));
    ({ port, lines } = await started({ wasm: HEADER_APPEND, config: "{}", upstream: `http://127.0.0.1:${upstreamPort}` }));
  });

  it("malformed requests, Content-Length with Transfer-Encoding, and duplicate Content-Length get 400 and one log line", async () => {
    const requests = [
      "GARBAGE\r\n\r\n",
      "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!",
      "GET / HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n",
    ];
    for (const request of requests) {
      const before = lines.length;
      const answer = await raw(port, request);
      assert.equal(answer.status, 400, `${JSON.stringify(request)} → ${answer.text}`);
      assert.match(answer.text, /Bad Request$/);
      assert.ok(lines.slice(before).some((l) => /^client 127\.0\.0\.1:\d+: 400 HPE_/.test(l)), lines.slice(before).join("\n"));
    }
    assert.equal((await get(port)).status, 200);
  });

  it("request headers over Envoy's 60 KiB limit get 431", async () => {
    const answer = await raw(port, `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(70 * 1024)}\r\n\r\n`);
    assert.equal(answer.status, 431, answer.text.slice(0, 200));
    const fits = await get(port, "/", { "x-big": "a".repeat(40 * 1024) });
    assert.equal(fits.status, 200, "40 KiB fits, as in Envoy (Node's own default would refuse it)");
  });

  it("a client that resets mid-body: the upstream request is aborted too, and the next request is served", async () => {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write("POST /reset-me HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n" + "x".repeat(100_000));
    await waitFor(() => lines.length > 0 || aborted.length > 0, 300);
    socket.resetAndDestroy();
    await waitFor(() => aborted.includes("/reset-me"), 3000);
    assert.ok(aborted.includes("/reset-me"), "the upstream saw its request aborted");
    assert.equal((await get(port)).status, 200);
  });
});

describe("pwas serve: slow clients", () => {
  it("a client that trickles its headers gets 408 after the headers timeout, and blocks nobody meanwhile", async () => {
    const lines: string[] = [];
    const running = await startFromFlags({ name: "plugin", upstream: "echo", listen: "127.0.0.1:0", watch: false, wasm: HEADER_APPEND, config: "{}" } as Flags, (l) => lines.push(l));
    closers.push(() => running.stop());
    // The headers timeout is an option of the proxy itself (60 s by default): a short one for the test.
    const { DevProxy } = await import("../cli/serve/dev-proxy.js");
    const proxy = await DevProxy.start({
      host: "127.0.0.1", port: 0, upstream: { url: running.upstream, http2: false }, source: { files: [], inline: running.proxy.plugins }, clusters: {},
      logLevel: 2, pluginLogLevels: {}, watch: false, print: (l) => lines.push(l), requestHeadersTimeoutMs: 400,
    });
    closers.push(() => proxy.close());
    const slow = connect(proxy.address.port, "127.0.0.1");
    const received: Buffer[] = [];
    slow.on("data", (c: Buffer) => received.push(c));
    slow.on("error", () => {});
    slow.write("GET / HTTP/1.1\r\n");
    const drip = setInterval(() => slow.write("x-slow: 1\r\n"), 100);
    const meanwhile = await get(proxy.address.port);
    assert.equal(meanwhile.status, 200, "another client is served while the slow one drips");
    await waitFor(() => slow.destroyed || received.length > 0, 5000);
    clearInterval(drip);
    assert.match(Buffer.concat(received).toString(), /^HTTP\/1\.1 408/);
    slow.destroy();
  });
});

describe("pwas serve: any upstream", () => {
  /** A TCP upstream with a scripted misbehaviour. */
  async function badUpstream(behave: (socket: Socket) => void): Promise<number> {
    const server = createNetServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => behave(socket));
    });
    const at = await listen(server);
    closers.push(() => new Promise((r) => server.close(r)));
    closers.push(() => { for (const s of sockets) s.destroy(); });
    const sockets: Socket[] = [];
    server.on("connection", (s) => sockets.push(s));
    return at;
  }

  it("an upstream that never answers: 504 after the route timeout", async () => {
    const silent = await badUpstream(() => {});
    const { port, lines } = await started({ wasm: HEADER_APPEND, config: "{}", upstream: `http://127.0.0.1:${silent}`, routeTimeout: "300ms" });
    const answer = await get(port);
    assert.equal(answer.status, 504);
    assert.equal(answer.body, "upstream request timeout");
    assert.ok(lines.some((l) => / 504 /.test(l)));
  });

  it("an upstream that resets before its headers: 503 as Envoy's router answers", async () => {
    const resetting = await badUpstream((socket) => socket.resetAndDestroy());
    const { port } = await started({ wasm: HEADER_APPEND, config: "{}", upstream: `http://127.0.0.1:${resetting}` });
    const answer = await get(port);
    assert.equal(answer.status, 503);
    assert.match(answer.body, /^upstream connect error or disconnect\/reset before headers\. reset reason: connection termination/);
  });

  it("an upstream that resets mid-body: the client's stream is reset, the next request is served", async () => {
    let first = true;
    const halfway = await badUpstream((socket) => {
      if (first) {
        first = false;
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part");
        setTimeout(() => socket.resetAndDestroy(), 50);
      } else socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    });
    const { port, lines } = await started({ wasm: HEADER_APPEND, config: "{}", upstream: `http://127.0.0.1:${halfway}` });
    assert.equal((await get(port)).status, "reset");
    assert.ok(lines.some((l) => /reset: upstream/.test(l)), lines.join("\n"));
    assert.equal((await get(port)).status, 200);
  });

  it("a large body streams through while another request is answered, and arrives whole", async () => {
    let upstreamBytes = 0;
    let firstBytes: () => void;
    const firstArrived = new Promise<void>((r) => (firstBytes = r));
    const upstream = createHttpServer((request, response) => {
      request.on("data", (c: Buffer) => {
        upstreamBytes += c.length;
        firstBytes();
      });
      request.on("end", () => response.end(`got ${upstreamBytes}`));
    });
    const upstreamPort = await listen(upstream);
    closers.push(() => new Promise((r) => { upstream.closeAllConnections(); upstream.close(r); }));
    const { port } = await started({ wasm: HEADER_APPEND, config: "{}", upstream: `http://127.0.0.1:${upstreamPort}` });
    const size = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 120);
    const posted = new Promise<string>((resolvePost, reject) => {
      const outgoing = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/big", agent: false, headers: { "content-length": String(size) } }, (response) => {
        let text = "";
        response.on("data", (c: Buffer) => (text += c));
        response.on("end", () => resolvePost(text));
      });
      outgoing.on("error", reject);
      void (async () => {
        for (let sent = 0; sent < size - chunk.length; sent += chunk.length) {
          if (!outgoing.write(chunk)) await new Promise((r) => outgoing.once("drain", r));
          if (sent === 0) {
            // Mid-body: another client is answered before this body is finished.
            await firstArrived;
            const other = await get(port, "/other");
            assert.equal(other.status, 200);
            assert.ok(upstreamBytes < size, "the GET was answered while the POST was still streaming");
          }
        }
        outgoing.end(chunk);
      })().catch(reject);
    });
    assert.equal(await posted, `got ${size}`);
  });
});

describe("pwas serve: plugins see Envoy's request", () => {
  const DEV_CHAIN = resolve("examples/dev-chain.yaml");

  it("an absolute-form target becomes :authority and :path, so basic-auth challenges it", async () => {
    const { port } = await started({ plugin: [DEV_CHAIN] });
    const answer = await raw(port, "GET http://evil.example/productpage HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n");
    assert.equal(answer.status, 401, answer.text);
    const echoed = await raw(port, `GET http://evil.example/headers HTTP/1.1\r\nhost: 127.0.0.1\r\nallow: true\r\nconnection: close\r\n\r\n`);
    assert.equal(echoed.status, 200, echoed.text);
    assert.match(echoed.text, /"(?::authority|host)": ?"evil\.example"/, echoed.text);
  });

  it("Envoy's request headers: host is the :authority, x-forwarded-proto the connection's, x-request-id added (a client's kept)", async () => {
    const { port } = await started({ wasm: HEADER_APPEND, config: "{}" });
    const echoed = JSON.parse((await get(port, "/echo", { "x-other": "1" })).body) as { headers: Record<string, string> };
    assert.equal(echoed.headers["x-forwarded-proto"], "http");
    assert.match(echoed.headers["x-request-id"] ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(echoed.headers.host, `127.0.0.1:${port}`);
    const kept = JSON.parse((await get(port, "/echo", { "x-request-id": "mine-123" })).body) as { headers: Record<string, string> };
    assert.equal(kept.headers["x-request-id"], "mine-123");
    const absolute = await raw(port, "GET https://other.example/echo HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n");
    assert.match(absolute.text, /"x-forwarded-proto": "http"/);
    assert.match(absolute.text, /"host": "other\.example"/);
  });

  it("dot segments are resolved before any filter (Istio's default BASE normalization), so basic-auth challenges /x/../productpage", async () => {
    const { port } = await started({ plugin: [DEV_CHAIN] });
    for (const target of ["/x/../productpage", "/x/%2e%2e/productpage", "/./productpage", "/a/b/../../productpage?x=../y"]) {
      const answer = await raw(port, `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      assert.equal(answer.status, 401, `${target}: ${answer.text}`);
    }
    const backslash = await raw(port, "GET \\productpage HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    assert.equal(backslash.status, 400, "a target the HTTP/1 parser refuses never reaches a filter");
    const none = await started({ plugin: [DEV_CHAIN], pathNormalization: "NONE" });
    const raw403 = await raw(none.port, "GET /x/../productpage HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    assert.equal(raw403.status, 403, "with NONE the raw path reaches the filters, as in an Envoy without normalize_path");
  });
});

describe("pwas serve: SIGTERM always stops it", () => {
  it("stops within seconds even while a plugin loops", async () => {
    const loop = pluginFile(() => recordingCallbacks({ requestHeaders: { code: "(loop $l (br $l))" } }));
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), resolve("cli/index.ts"), "serve", "--wasm", loop, "--listen", "127.0.0.1:0", "--no-watch"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out), 20_000);
    const childPort = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const pending = get(childPort);
    await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const code = await exited;
    clearTimeout(timer);
    await pending;
    assert.equal(code, 0, out);
    assert.match(out, /pwas serve: stopped/);
  });
});

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!condition() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

describe("path normalization, as Envoy's connection manager does it for each of Istio's modes", () => {
  it("resolves dot segments (also %2e), keeps the query, escapes what a canonical path may not hold", async () => {
    const { normalizePath } = await import("../cli/serve/path-normalization.js");
    const cases: [string, string, string | undefined][] = [
      ["BASE", "/a/./b/../c", "/a/c"],
      ["BASE", "/../../etc/passwd", "/etc/passwd"],
      ["BASE", "/a/%2E%2e/b", "/b"],
      ["BASE", "/a/b/..", "/a/"],
      ["BASE", "/a//b", "/a//b"],
      ["BASE", "/a%2Fb/../c", "/c"],
      ["BASE", "/p?q=/../x", "/p?q=/../x"],
      ["BASE", "/sp ace/\u00e9", "/sp%20ace/%C3%A9"],
      ["BASE", "relative", undefined],
      ["MERGE_SLASHES", "/a//b///c/../d", "/a/b/d"],
      ["DECODE_AND_MERGE_SLASHES", "/a%2Fb%2f..%2Fc", "/a/c"],
      ["DECODE_AND_MERGE_SLASHES", "/a%5Cb", "/a/b"],
      ["NONE", "/x/../y", "/x/../y"],
    ];
    for (const [mode, path, expected] of cases) assert.equal(normalizePath(path, mode as "BASE"), expected, `${mode} ${path}`);
  });

  it("pwas serve --path-normalization takes Istio's names and refuses others with the list", async () => {
    await assert.rejects(serve({ wasm: HEADER_APPEND, pathNormalization: "SOMETIMES" }, []), /unknown path normalization "SOMETIMES"/);
    await assert.rejects(serve({ wasm: HEADER_APPEND, routeTimeout: "soon" }, []), /--route-timeout "soon" is not a duration/);
  });
});
