// pwas serve: real HTTP requests (node's fetch) through a chain of plugins on the mock
// host, to a real upstream on 127.0.0.1.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AddressInfo } from "node:net";
import { startFromFlags, type RunningServe } from "../cli/commands/serve.js";
import { CliError, ExitCode } from "../cli/errors.js";
import { startRegistry } from "./support/registry.js";
import { field, pwas } from "./support/oci-cli.js";
import { spawnPwas } from "./support/pwas-run.js";

const HEADER_APPEND = resolve("examples/header-append/build/release.wasm");
const HEADER_AUTHORIZATION = resolve("examples/header-authorization/build/release.wasm");
const BODY_UPPER = resolve("test/fixtures/body-upper/build/release.wasm");
const CRASH = resolve("test/fixtures/crash/build/release.wasm");
const CALLOUTS = resolve("test/fixtures/callouts/build/release.wasm");

const dir = mkdtempSync(join(tmpdir(), "pwas-serve-"));
let counter = 0;

/** Writes a WasmPlugin YAML file and returns its path. */
function wasmPlugin(name: string, url: string, spec: Record<string, unknown> = {}): string {
  const lines = [
    "apiVersion: extensions.istio.io/v1alpha1",
    "kind: WasmPlugin",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    `  url: ${url}`,
    ...Object.entries(spec).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
  ];
  const file = join(dir, `${name}-${counter++}.yaml`);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

const defaults = { name: "plugin", upstream: "echo", listen: "127.0.0.1:0", watch: false };

async function serve(flags: Partial<Parameters<typeof startFromFlags>[0]>, lines: string[] = []): Promise<RunningServe> {
  return startFromFlags({ ...defaults, ...flags } as Parameters<typeof startFromFlags>[0], (line) => lines.push(line));
}

/** An upstream that counts requests and can hold its answer until released. */
class TestUpstream {
  requests = 0;
  private server!: Server;
  private held: (() => void)[] = [];
  hold = false;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      this.requests++;
      const chunks: Buffer[] = [];
      request.on("data", (c: Buffer) => chunks.push(c));
      request.on("end", () => {
        const answer = () => {
          response.writeHead(200, { "content-type": "text/plain", "x-upstream": "yes" });
          response.end(`upstream got ${request.method} ${request.url} body=${Buffer.concat(chunks).toString()}`);
        };
        if (this.hold) this.held.push(answer);
        else answer();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  release(): void {
    for (const answer of this.held.splice(0)) answer();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe("pwas serve", () => {
  const upstream = new TestUpstream();
  let upstreamUrl = "";
  before(async () => {
    upstreamUrl = await upstream.start();
  });
  after(() => upstream.close());

  it("orders the chain by phase, then priority (higher first), then name — responses run in reverse", async () => {
    const plugins = [
      wasmPlugin("stats", HEADER_APPEND, { phase: "STATS", pluginName: "header-append", pluginConfig: { "x-order": "stats" } }),
      wasmPlugin("no-phase", HEADER_APPEND, { pluginName: "header-append", pluginConfig: { "x-order": "none" } }),
      wasmPlugin("authn-low", HEADER_APPEND, { phase: "AUTHN", priority: 1, pluginName: "header-append", pluginConfig: { "x-order": "authn-low" } }),
      wasmPlugin("authn-high", HEADER_APPEND, { phase: "AUTHN", priority: 10, pluginName: "header-append", pluginConfig: { "x-order": "authn-high" } }),
      wasmPlugin("authz", HEADER_APPEND, { phase: "AUTHZ", pluginName: "header-append", pluginConfig: { "x-order": "authz" } }),
    ];
    const running = await serve({ plugin: plugins, upstream: upstreamUrl });
    try {
      assert.deepEqual(running.proxy.plugins.map((p) => p.name), ["authn-high", "authn-low", "authz", "stats", "no-phase"]);
      const response = await fetch(new URL("/x", running.proxy.address.url));
      assert.equal(response.status, 200);
      // Encoders run last-to-first, so the last filter's header comes first.
      assert.equal(response.headers.get("x-order"), "none, stats, authz, authn-low, authn-high");
      assert.equal(await response.text(), "upstream got GET /x body=");
    } finally {
      await running.stop();
    }
  });

  it("answers locally from a plugin: the upstream is not called, earlier filters see the reply, later ones never run", async () => {
    const before = upstream.requests;
    const lines: string[] = [];
    const running = await serve(
      {
        plugin: [
          wasmPlugin("tag-authn", HEADER_APPEND, { phase: "AUTHN", pluginName: "header-append", pluginConfig: { "x-authn-saw": "reply" } }),
          wasmPlugin("authorization", HEADER_AUTHORIZATION, { phase: "AUTHZ", pluginName: "header-authorization" }),
          wasmPlugin("tag-stats", HEADER_APPEND, { phase: "STATS", pluginName: "header-append", pluginConfig: { "x-stats-saw": "reply" } }),
        ],
        upstream: upstreamUrl,
      },
      lines,
    );
    try {
      const denied = await fetch(new URL("/productpage", running.proxy.address.url));
      assert.equal(denied.status, 403);
      assert.equal(await denied.text(), "Forbidden by header-authorization Wasm plugin");
      assert.equal(denied.headers.get("x-authn-saw"), "reply");
      assert.equal(denied.headers.get("x-stats-saw"), null);
      assert.equal(upstream.requests, before);
      assert.ok(lines.some((l) => /^GET \/productpage 403 [\d.]+ms local reply by authorization$/.test(l)), lines.join("\n"));

      const allowed = await fetch(new URL("/productpage", running.proxy.address.url), { headers: { allow: "true" } });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers.get("x-stats-saw"), "reply");
      assert.equal(upstream.requests, before + 1);
    } finally {
      await running.stop();
    }
  });

  it("streams request bodies through, and buffers them for a plugin that asks", async () => {
    const running = await serve({ plugin: [wasmPlugin("upper", BODY_UPPER)], upstream: upstreamUrl });
    try {
      const body = "hello ".repeat(20_000); // several chunks
      const response = await fetch(new URL("/echo", running.proxy.address.url), { method: "POST", body });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), `upstream got POST /echo body=${body.toUpperCase()}`);
      assert.equal(response.headers.get("x-body-size-seen"), String(body.length));
    } finally {
      await running.stop();
    }
  });

  it("answers 413 when a buffering plugin's request body passes Envoy's buffer limit", async () => {
    const running = await serve({ plugin: [wasmPlugin("upper", BODY_UPPER)], upstream: upstreamUrl });
    try {
      const response = await fetch(new URL("/big", running.proxy.address.url), { method: "POST", body: "x".repeat(2 * 1024 * 1024) });
      assert.equal(response.status, 413);
      assert.equal(await response.text(), "Payload Too Large");
    } finally {
      await running.stop();
    }
  });

  it("fails closed after a plugin traps (503 from then on), or open when the WasmPlugin says FAIL_OPEN", async () => {
    for (const [failStrategy, laterStatus] of [["FAIL_CLOSE", 503], ["FAIL_OPEN", 200]] as const) {
      const running = await serve({ plugin: [wasmPlugin(`crash-${failStrategy}`, CRASH, { failStrategy })], upstream: upstreamUrl });
      try {
        const crashing = await fetch(new URL("/", running.proxy.address.url), { headers: { "x-crash": "now" } });
        // Fail closed answers 503 (wasm_fail_stream) from the trapping stream on; fail open lets it through.
        assert.equal(crashing.status, laterStatus, `${failStrategy}: the stream that trapped`);
        const later = await fetch(new URL("/later", running.proxy.address.url));
        assert.equal(later.status, laterStatus, failStrategy);
      } finally {
        await running.stop();
      }
    }
  });

  it("answers 503 like Envoy's router when the upstream cannot be reached", async () => {
    const running = await serve({ plugin: [wasmPlugin("tag", HEADER_APPEND, { pluginName: "header-append", pluginConfig: { "x-tag": "1" } })], upstream: "http://127.0.0.1:1" });
    try {
      const response = await fetch(new URL("/", running.proxy.address.url));
      assert.equal(response.status, 503);
      assert.match(await response.text(), /^upstream connect error or disconnect\/reset before headers/);
      assert.equal(response.headers.get("x-tag"), "1", "the router's reply goes back through the filters");
    } finally {
      await running.stop();
    }
  });

  it("hot-reloads a changed plugin: requests in flight finish on the old one, new ones use the new one", async () => {
    const file = wasmPlugin("reloading", HEADER_APPEND, { pluginName: "header-append", pluginConfig: { "x-version": "one" } });
    const lines: string[] = [];
    const running = await serve({ plugin: [file], upstream: upstreamUrl }, lines);
    try {
      upstream.hold = true;
      const inFlight = fetch(new URL("/slow", running.proxy.address.url));
      await waitFor(() => upstream.requests > 0 && lines.length >= 0);
      writeFileSync(file, readYaml(file).replace('"one"', '"two"'));
      assert.equal(await running.proxy.reload(), true);
      upstream.hold = false;
      const fresh = await fetch(new URL("/fresh", running.proxy.address.url));
      assert.equal(fresh.headers.get("x-version"), "two");
      upstream.release();
      assert.equal((await inFlight).headers.get("x-version"), "one");
    } finally {
      upstream.hold = false;
      upstream.release();
      await running.stop();
    }
  });

  it("keeps the running plugin when a reload fails, and says why", async () => {
    const file = wasmPlugin("stable", HEADER_APPEND, { pluginName: "header-append", pluginConfig: { "x-stable": "yes" } });
    const lines: string[] = [];
    const running = await serve({ plugin: [file], upstream: upstreamUrl }, lines);
    try {
      writeFileSync(file, readYaml(file).replace('{"x-stable":"yes"}', '["not", "an", "object"]'));
      assert.equal(await running.proxy.reload(), false);
      assert.ok(lines.some((l) => l.startsWith("reload failed, still serving the previous plugins: stable: the plugin failed to start (configureFailed)")), lines.join("\n"));
      const response = await fetch(new URL("/", running.proxy.address.url));
      assert.equal(response.headers.get("x-stable"), "yes");
    } finally {
      await running.stop();
    }
  });

  it("prints why a plugin failed to start (its own error lines and the trap report), whatever --log-level hides", async () => {
    const rejected = wasmPlugin("rejects", HEADER_APPEND, { pluginConfig: ["not", "an", "object"] });
    const result = await spawnPwas(["serve", "--plugin", rejected, "--log-level", "off"]);
    assert.equal(result.code, ExitCode.Invalid, result.stderr);
    assert.match(result.stderr, /rejects: the plugin failed to start \(configureFailed\)/);
    assert.match(result.stderr, /header-append: the configuration must be a JSON object/, "the plugin's own error line is printed");

    const wrongRoot = wasmPlugin("wrong-root", HEADER_APPEND, { pluginName: "not-registered" });
    const root = await spawnPwas(["serve", "--plugin", wrongRoot]);
    assert.equal(root.code, ExitCode.Invalid, root.stderr);
    assert.match(root.stderr, /no root context is registered for root id "not-registered"/);
  });

  it("refuses to start, with one clear error, on bad YAML, a module that does not load, or a port in use", async () => {
    const badYaml = join(dir, "bad.yaml");
    writeFileSync(badYaml, "kind: WasmPlugin\nspec: [unclosed\n");
    await assert.rejects(serve({ plugin: [badYaml] }), (error: CliError) => error.exitCode === ExitCode.Invalid && /bad\.yaml:\d+:\d+: malformed YAML/.test(error.message));

    const notWasm = join(dir, "not.wasm");
    writeFileSync(notWasm, "this is not wasm");
    await assert.rejects(serve({ plugin: [wasmPlugin("broken", notWasm)] }), (error: CliError) => error.exitCode === ExitCode.Invalid && /^broken: the module does not load/.test(error.message));

    await assert.rejects(serve({ plugin: [wasmPlugin("phase", HEADER_APPEND, { phase: "LATE" })] }), /spec\.phase: unknown phase "LATE"/);

    const first = await serve({ plugin: [wasmPlugin("first", HEADER_APPEND, { pluginName: "header-append" })] });
    try {
      const port = first.proxy.address.port;
      await assert.rejects(serve({ plugin: [wasmPlugin("second", HEADER_APPEND, { pluginName: "header-append" })], listen: `127.0.0.1:${port}` }), new RegExp(`port ${port} on 127.0.0.1 is already in use`));
    } finally {
      await first.stop();
    }
  });

  it("sends HTTP callouts to real clusters: resume on 200, reply on a denial, 504 past the timeout, BadArgument for an unknown cluster", async () => {
    const authCalls: string[] = [];
    const auth = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (c: Buffer) => chunks.push(c));
      request.on("end", () => {
        const user = String(request.headers["x-user"] ?? "");
        authCalls.push(`${request.method} ${request.url} host=${request.headers.host} user=${user} body=${Buffer.concat(chunks)}`);
        if (user === "slow") return void setTimeout(() => response.end("late"), 500);
        response.writeHead(user === "alice" ? 200 : 403, { "content-type": "text/plain" });
        response.end(user === "alice" ? "ok-alice" : "no");
      });
    });
    await new Promise<void>((r) => auth.listen(0, "127.0.0.1", () => r()));
    const authUrl = `http://127.0.0.1:${(auth.address() as AddressInfo).port}`;
    const running = await serve({
      plugin: [wasmPlugin("auth", CALLOUTS, { pluginName: "auth", pluginConfig: 200 })],
      cluster: [`auth=${authUrl}`],
    });
    try {
      const allowed = await fetch(new URL("/orders", running.proxy.address.url), { headers: { "x-user": "alice" } });
      assert.equal(allowed.status, 200);
      const echoed = (await allowed.json()) as { headers: Record<string, string> };
      assert.equal(echoed.headers["x-auth"], "ok-alice", "the plugin resumed the request with what the callout answered");
      assert.deepEqual(authCalls, [`POST /check host=auth.local user=alice body=/orders`]);

      const denied = await fetch(new URL("/orders", running.proxy.address.url), { headers: { "x-user": "mallory" } });
      assert.equal(denied.status, 403);
      assert.equal(await denied.text(), "denied (403): no");

      const slow = await fetch(new URL("/orders", running.proxy.address.url), { headers: { "x-user": "slow" } });
      assert.equal(slow.status, 403);
      assert.equal(await slow.text(), "denied (504): upstream request timeout");
    } finally {
      await running.stop();
      auth.closeAllConnections();
      await new Promise<void>((r) => auth.close(() => r()));
    }

    const lines: string[] = [];
    const noCluster = await serve({ plugin: [wasmPlugin("auth-nocluster", CALLOUTS, { pluginName: "auth" })] }, lines);
    try {
      const refused = await fetch(new URL("/", noCluster.proxy.address.url));
      assert.equal(refused.status, 500);
      assert.equal(await refused.text(), "callout refused: BadArgument");
      assert.ok(lines.some((l) => l.includes('http_call to cluster "auth", which is not declared') && l.includes("--cluster auth=http://host:port")), lines.join("\n"));
    } finally {
      await noCluster.stop();
    }
  });

  it("runs plugin timers on real time: a root that polls a cluster on every tick", async () => {
    let polls = 0;
    const config = createServer((request, response) => {
      polls++;
      response.end(`v${polls}`);
    });
    await new Promise<void>((r) => config.listen(0, "127.0.0.1", () => r()));
    const running = await serve({
      plugin: [wasmPlugin("ticker", CALLOUTS, { pluginName: "ticker" })],
      cluster: [`config=http://127.0.0.1:${(config.address() as AddressInfo).port}`],
    });
    try {
      await waitFor(() => polls >= 2, 3000);
      await new Promise((r) => setTimeout(r, 50));
      const response = await fetch(new URL("/", running.proxy.address.url));
      assert.match(response.headers.get("x-config") ?? "", /^200:v\d+$/);
      assert.ok(Number(response.headers.get("x-ticks")) >= 2);
      const nowMs = Number(response.headers.get("x-now-ms"));
      assert.ok(Math.abs(nowMs - Date.now()) < 2000, `the plugin's clock follows real time (${nowMs} vs ${Date.now()})`);
    } finally {
      await running.stop();
      config.closeAllConnections();
      await new Promise<void>((r) => config.close(() => r()));
    }
  });

  it("pulls oci:// plugins from a registry like istio-agent, checking sha256 against the manifest digest", async () => {
    const registry = await startRegistry();
    try {
      const layout = join(dir, "layout");
      const packaged = await pwas(["package", HEADER_APPEND, "--layout", layout, "--tag", "v1", "-q"]);
      assert.equal(packaged.code, 0, packaged.stderr);
      const pushed = await pwas(["push", layout, `${registry.host}/plugins/header-append:v1`, "-q"]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const digest = field(pushed.stdout, "digest:")!.replace(/^sha256:/, "");
      const url = `oci://${registry.host}/plugins/header-append:v1`;

      const running = await serve({ plugin: [wasmPlugin("from-registry", url, { pluginName: "header-append", sha256: digest, pluginConfig: { "x-pulled": "yes" } })], upstream: upstreamUrl });
      try {
        assert.equal((await fetch(new URL("/", running.proxy.address.url))).headers.get("x-pulled"), "yes");
      } finally {
        await running.stop();
      }
      const wrong = "0".repeat(64);
      await assert.rejects(
        serve({ plugin: [wasmPlugin("wrong-sha", url, { pluginName: "header-append", sha256: wrong })] }),
        (error: CliError) => error.exitCode === ExitCode.DigestMismatch && error.message.includes(`has the manifest digest ${digest}, which does not match spec.sha256 ${wrong}`),
      );
    } finally {
      await registry.stop();
    }
  });

  it("runs a single module with an inline configuration (--wasm, --config)", async () => {
    const running = await serve({ wasm: HEADER_AUTHORIZATION, rootId: "header-authorization", config: '{"header": "x-key", "expectedValue": "k1", "status": 401}', upstream: upstreamUrl });
    try {
      assert.equal((await fetch(new URL("/", running.proxy.address.url))).status, 401);
      assert.equal((await fetch(new URL("/", running.proxy.address.url), { headers: { "x-key": "k1" } })).status, 200);
    } finally {
      await running.stop();
    }
  });
});

function readYaml(file: string): string {
  return readFileSync(file, "utf8");
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}
