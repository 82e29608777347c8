// grpc-ext-authz end to end: pwas serve runs the release build in front of real upstreams,
// and the plugin asks a real gRPC Check server (@grpc/grpc-js, Envoy's Authorization service
// from ../proto). HTTP/1.1 and HTTP/2 clients against the built-in echo upstream, and a gRPC
// client through the chain to a real gRPC echo service.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as connectHttp2, type IncomingHttpHeaders } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { startFromFlags, type RunningServe, type ServeFlags } from "../../../cli/commands/serve.js";
import { authorizationService } from "./authorization-service.js";

const WASM = new URL("../build/release.wasm", import.meta.url).pathname;

interface Check {
  attributes: { request: { http: { method: string; path: string; headers: Record<string, string>; protocol: string } } };
}

const closers: (() => unknown)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function bind(server: grpc.Server): Promise<number> {
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  closers.push(() => server.forceShutdown());
  return port;
}

/** Envoy's Authorization service: denies /admin (403 + body), asks /account to log in (401), is slow on /slow, else allows. */
async function startCheckServer(checks: Check[]): Promise<number> {
  const server = new grpc.Server();
  server.addService(authorizationService(), {
    Check: (call: grpc.ServerUnaryCall<Check, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      checks.push(call.request);
      const http = call.request.attributes.request.http;
      const user = http.headers["x-user"] ?? "";
      const answer = () => {
        if (http.path.startsWith("/admin") || user === "mallory") {
          callback(null, { status: { code: grpc.status.PERMISSION_DENIED }, denied_response: { status: { code: 403 }, body: `forbidden for ${user || "anonymous"}`, headers: [{ header: { key: "x-denied-by", value: "check-server" } }] } });
        } else if (http.path.startsWith("/account")) {
          callback(null, { status: { code: grpc.status.UNAUTHENTICATED }, denied_response: { status: { code: 401 }, headers: [{ header: { key: "www-authenticate", value: "Bearer" } }] } });
        } else {
          callback(null, { status: { code: grpc.status.OK }, ok_response: { headers: [{ header: { key: "x-authz-user", value: user || "anonymous" } }], headers_to_remove: ["authorization"] } });
        }
      };
      if (http.path.startsWith("/slow")) setTimeout(answer, 600);
      else answer();
    },
  });
  return bind(server);
}

const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const ECHO = { Say: { path: "/echo.Echo/Say", requestStream: false, responseStream: false, ...raw } } as grpc.ServiceDefinition;

/** A gRPC echo service that answers with the message and the x-authz-user the plugin set. */
async function startGrpcEcho(): Promise<number> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      callback(null, Buffer.from(`echo ${call.request.toString()} for ${call.metadata.get("x-authz-user")[0] ?? "?"}`));
    },
  });
  return bind(server);
}

async function serve(checkPort: number, flags: Partial<ServeFlags> = {}): Promise<RunningServe> {
  const config = JSON.stringify({ cluster: "authz", timeout_ms: 300, context_extensions: { listener: "e2e" } });
  const running = await startFromFlags(
    { name: "grpc-ext-authz", rootId: "grpc-ext-authz", wasm: WASM, config, upstream: "echo", listen: "127.0.0.1:0", watch: false, cluster: [`authz=http://127.0.0.1:${checkPort},http2`], ...flags } as ServeFlags,
    () => {},
  );
  closers.push(() => running.stop());
  return running;
}

function h2get(url: string, path: string, headers: Record<string, string> = {}): Promise<{ headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(url);
    session.on("error", reject);
    const stream = session.request({ ":path": path, ...headers });
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      session.close();
      resolve({ headers: responseHeaders, body: Buffer.concat(chunks).toString() });
    });
    stream.on("error", reject);
    stream.end();
  });
}

describe("grpc-ext-authz through pwas serve, with a real gRPC Check server", () => {
  const checks: Check[] = [];
  let checkPort = 0;
  before(async () => {
    checkPort = await startCheckServer(checks);
  });

  test("HTTP/1.1: allowed requests reach the upstream with the service's header (and without the one it removed); denials carry its status, headers and body", async () => {
    const running = await serve(checkPort);
    const base = running.proxy.address.url;
    const allowed = await fetch(new URL("/productpage", base), { headers: { "x-user": "ann", authorization: "Bearer secret" } });
    assert.equal(allowed.status, 200);
    const echoed = (await allowed.json()) as { headers: Record<string, string> };
    assert.equal(echoed.headers["x-authz-user"], "ann");
    assert.equal(echoed.headers.authorization, undefined, "headers_to_remove");
    assert.equal(checks.at(-1)?.attributes.request.http.protocol, "HTTP/1.1");

    const denied = await fetch(new URL("/admin", base), { headers: { "x-user": "ann" } });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get("x-denied-by"), "check-server");
    assert.equal(await denied.text(), "forbidden for ann");
    const login = await fetch(new URL("/account", base));
    assert.equal(login.status, 401);
    assert.equal(login.headers.get("www-authenticate"), "Bearer");
  });

  test("HTTP/2: the same decisions, and the service sees protocol HTTP/2", async () => {
    const running = await serve(checkPort);
    const url = running.proxy.address.url.href;
    const allowed = await h2get(url, "/productpage", { "x-user": "bea" });
    assert.equal(allowed.headers[":status"], 200);
    assert.equal((JSON.parse(allowed.body) as { headers: Record<string, string> }).headers["x-authz-user"], "bea");
    assert.equal(checks.at(-1)?.attributes.request.http.protocol, "HTTP/2");
    const denied = await h2get(url, "/admin");
    assert.equal(denied.headers[":status"], 403);
    assert.equal(denied.body, "forbidden for anonymous");
  });

  test("a slow Check (past timeout_ms) fails closed with 403; a Check server that is down too", async () => {
    const slow = await fetch(new URL("/slow", (await serve(checkPort)).proxy.address.url));
    assert.equal(slow.status, 403);
    assert.equal(await slow.text(), "");
    const down = await fetch(new URL("/productpage", (await serve(1)).proxy.address.url));
    assert.equal(down.status, 403);
  });

  test("a gRPC request through the chain: allowed ones reach the gRPC echo service; a denied one gets PERMISSION_DENIED with the service's body", async () => {
    const echoPort = await startGrpcEcho();
    const running = await serve(checkPort, { upstream: `http://127.0.0.1:${echoPort}`, upstreamHttp2: true });
    const Client = grpc.makeGenericClientConstructor(ECHO, "Echo");
    const client = new Client(`127.0.0.1:${running.proxy.address.port}`, grpc.credentials.createInsecure()) as unknown as {
      Say(message: Buffer, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, reply?: Buffer) => void): void;
      close(): void;
    };
    closers.push(() => client.close());
    const say = (user: string) =>
      new Promise<{ error: grpc.ServiceError | null; reply: string | undefined }>((resolve) => {
        const metadata = new grpc.Metadata();
        metadata.set("x-user", user);
        client.Say(Buffer.from("hello"), metadata, (error, reply) => resolve({ error, reply: reply?.toString() }));
      });
    const allowed = await say("carol");
    assert.equal(allowed.error, null);
    assert.equal(allowed.reply, "echo hello for carol");
    const check = checks.at(-1)!.attributes.request.http;
    assert.deepEqual([check.method, check.path, check.headers["content-type"], check.protocol], ["POST", "/echo.Echo/Say", "application/grpc", "HTTP/2"]);
    const denied = await say("mallory");
    assert.equal(denied.error?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(denied.error?.details, "forbidden for mallory");
  });
});
