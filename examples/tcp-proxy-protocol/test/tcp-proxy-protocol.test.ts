// tcp-proxy-protocol, release build, in the mock host: what a user of the filter relies on.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FilterStatus, LogLevel, PeerType, type Host, type HostOptions, type TcpConnectionOptions } from "proxy-wasm-as";
import { example, wasmPluginConfig } from "../../test-support.js";

const plugin = example(new URL("../", import.meta.url));
/** The WasmPlugin's pluginName, which Istio sends as the root id. */
const ROOT_ID = "tcp-proxy-protocol";

const start = (pluginConfig?: HostOptions["pluginConfig"], options: HostOptions = {}) =>
  plugin.start({ rootId: ROOT_ID, ...(pluginConfig !== undefined ? { pluginConfig } : {}), ...options });

const CLIENT_V4: TcpConnectionOptions = { sourceAddress: "192.0.2.10:51234", destinationAddress: "10.4.0.7:8080" };
const CLIENT_V6: TcpConnectionOptions = { sourceAddress: "[2001:db8::7]:40000", destinationAddress: "[2001:db8::1]:443" };

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...new TextEncoder().encode(p)] : p)));

/** What the upstream receives for one connection whose client sends `request` and half-closes. */
function upstreamReceives(host: Host, options: TcpConnectionOptions, request = "ping"): Uint8Array {
  const connection = host.newTcpConnection(options);
  assert.equal(connection.newConnectionStatus, FilterStatus.Continue);
  assert.equal(connection.sendDownstreamData(request, true), FilterStatus.Continue);
  return connection.downstream.forwarded;
}

const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe("tcp-proxy-protocol: version 1 (config.json)", () => {
  test("the header goes in front of the client's first bytes, once; the upstream's bytes pass untouched", async () => {
    const host = await start(plugin.configJson);
    const connection = host.newTcpConnection(CLIENT_V4);
    assert.equal(connection.sendDownstreamData("GET / HTTP/1.1\r\n"), FilterStatus.Continue);
    assert.equal(connection.sendDownstreamData("Host: app\r\n\r\n"), FilterStatus.Continue);
    assert.equal(connection.downstream.forwardedText, "PROXY TCP4 192.0.2.10 10.4.0.7 51234 8080\r\nGET / HTTP/1.1\r\nHost: app\r\n\r\n");
    assert.equal(connection.sendUpstreamData("HTTP/1.1 204 No Content\r\n\r\n", true), FilterStatus.Continue);
    assert.equal(connection.upstream.forwardedText, "HTTP/1.1 204 No Content\r\n\r\n");
    connection.sendDownstreamData("", true);
    assert.equal(connection.closed, true);
    assert.equal(connection.closeType, PeerType.Remote);
    assert.equal(host.logs.length, 0, "nothing is logged while serving traffic");
  });

  test("IPv6 endpoints give TCP6, in Envoy's address form", async () => {
    const host = await start(plugin.configJson);
    assert.equal(text(upstreamReceives(host, CLIENT_V6)), "PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\nping");
  });

  test("an IPv4-mapped IPv6 client (dual-stack listener) counts as IPv4", async () => {
    const host = await start(plugin.configJson);
    const forwarded = upstreamReceives(host, { sourceAddress: "[::ffff:192.0.2.10]:5000", destinationAddress: "10.0.0.1:80" });
    assert.equal(text(forwarded), "PROXY TCP4 192.0.2.10 10.0.0.1 5000 80\r\nping");
  });

  test("PROXY UNKNOWN when the endpoints differ in family or are not ip:port (the upstream then uses the connection's own)", async () => {
    const host = await start(plugin.configJson);
    for (const options of [
      { sourceAddress: "[2001:db8::7]:1", destinationAddress: "10.0.0.1:80" },
      { sourceAddress: "/var/run/client.sock", destinationAddress: "10.0.0.1:80" },
      { sourceAddress: "10.0.0.2:99999", destinationAddress: "10.0.0.1:80" },
      { sourceAddress: "[fe80::1%eth0]:80", destinationAddress: "[fe80::2]:80" },
    ]) {
      assert.equal(text(upstreamReceives(host, options)), "PROXY UNKNOWN\r\nping", JSON.stringify(options));
    }
  });

  test("a client that connects and half-closes without sending still gets the header to the upstream", async () => {
    const host = await start(plugin.configJson);
    assert.equal(text(upstreamReceives(host, CLIENT_V4, "")), "PROXY TCP4 192.0.2.10 10.4.0.7 51234 8080\r\n");
  });

  test("the addresses are read from Envoy's attributes (here overridden like a test of the real proxy would set them)", async () => {
    const host = await start(plugin.configJson, { properties: { source: { address: "203.0.113.9:1111" } } });
    assert.equal(text(upstreamReceives(host, CLIENT_V4)), "PROXY TCP4 203.0.113.9 10.4.0.7 1111 8080\r\nping");
  });

  test("connections are independent: each gets its own header exactly once", async () => {
    const host = await start(plugin.configJson);
    const a = host.newTcpConnection({ sourceAddress: "192.0.2.1:1000", destinationAddress: "10.0.0.1:80" });
    const b = host.newTcpConnection({ sourceAddress: "192.0.2.2:2000", destinationAddress: "10.0.0.1:80" });
    b.sendDownstreamData("b1");
    a.sendDownstreamData("a1");
    a.sendDownstreamData("a2");
    b.sendDownstreamData("b2");
    assert.equal(a.downstream.forwardedText, "PROXY TCP4 192.0.2.1 10.0.0.1 1000 80\r\na1a2");
    assert.equal(b.downstream.forwardedText, "PROXY TCP4 192.0.2.2 10.0.0.1 2000 80\r\nb1b2");
  });
});

describe("tcp-proxy-protocol: version 2", () => {
  test("IPv4: signature, PROXY command, TCP over IPv4, 12 address bytes, then the client's bytes", async () => {
    const host = await start({ version: 2 });
    const expected = bytes(SIGNATURE, [0x21, 0x11, 0x00, 0x0c], [192, 0, 2, 10], [10, 4, 0, 7], [0xc8, 0x22], [0x1f, 0x90], "ping");
    assert.deepEqual(upstreamReceives(host, CLIENT_V4), expected);
  });

  test("IPv6: TCP over IPv6, 36 address bytes", async () => {
    const host = await start({ version: 2 });
    const src = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    const dst = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const expected = bytes(SIGNATURE, [0x21, 0x21, 0x00, 0x24], src, dst, [0x9c, 0x40], [0x01, 0xbb], "ping");
    assert.deepEqual(upstreamReceives(host, CLIENT_V6), expected);
  });

  test("IPv6 with an embedded IPv4 tail and a compressed middle", async () => {
    const host = await start({ version: 2 });
    const forwarded = upstreamReceives(host, { sourceAddress: "[64:ff9b::192.0.2.33]:1", destinationAddress: "[::1]:2" });
    const src = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 33];
    const dst = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    assert.deepEqual(forwarded, bytes(SIGNATURE, [0x21, 0x21, 0x00, 0x24], src, dst, [0, 1], [0, 2], "ping"));
  });

  test("unknown endpoints: the UNSPEC family with no address bytes", async () => {
    const host = await start({ version: 2 });
    const forwarded = upstreamReceives(host, { sourceAddress: "[2001:db8::7]:1", destinationAddress: "10.0.0.1:80" });
    assert.deepEqual(forwarded, bytes(SIGNATURE, [0x21, 0x00, 0x00, 0x00], "ping"));
  });
});

describe("tcp-proxy-protocol: configuration", () => {
  test("empty, absent and {} mean version 1", async () => {
    for (const config of ["", undefined, "{}"]) {
      const host = await start(config);
      assert.match(text(upstreamReceives(host, CLIENT_V4)), /^PROXY TCP4 /, String(config));
    }
  });

  const rejected: [string, string][] = [
    ["{\"version\": 1,}", "tcp-proxy-protocol: the configuration is not valid JSON: expected a field name in double quotes at line 1, column 15"],
    ["[1]", "tcp-proxy-protocol: the configuration must be a JSON object such as {\"version\": 1}, not array"],
    ["{\"verison\": 2}", "tcp-proxy-protocol: unknown setting \"verison\" (the only setting is \"version\")"],
    ["{\"version\": \"2\"}", "tcp-proxy-protocol: \"version\" must be the number 1 or 2, not string"],
    ["{\"version\": 3}", "tcp-proxy-protocol: \"version\" must be 1 or 2"],
    ["{\"version\": 1.5}", "tcp-proxy-protocol: \"version\" must be 1 or 2"],
  ];
  for (const [config, line] of rejected) {
    test(`rejects ${config} with one error line`, async () => {
      const host = await plugin.load({ rootId: ROOT_ID, pluginConfig: config });
      const result = host.start();
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.reason, "configureFailed");
      const errors = host.logsAt(LogLevel.Error);
      assert.equal(errors.length, 1);
      assert.equal(errors[0], line);
      assert.equal(host.logs.length, 1);
    });
  }

  test("wasmplugin.yaml is a NETWORK plugin with config.json's configuration and the registered root id", () => {
    const yaml = plugin.wasmPluginYaml;
    assert.match(yaml, /^\s*type: NETWORK\s*$/m);
    assert.match(yaml, new RegExp(`^\\s*pluginName: ${ROOT_ID}\\s*$`, "m"));
    assert.deepEqual(wasmPluginConfig(yaml), JSON.parse(plugin.configJson));
  });
});

describe("tcp-proxy-protocol: a long-running proxy", () => {
  test("linear memory stays flat over 10,000 connections", async () => {
    const host = await start(plugin.configJson);
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const connection = host.newTcpConnection(CLIENT_V4);
        connection.sendDownstreamData("GET / HTTP/1.1\r\n\r\n", true);
        connection.sendUpstreamData("HTTP/1.1 204 No Content\r\n\r\n", true);
        assert.equal(connection.closed, true);
      }
    };
    run(1_000);
    const after1k = host.memoryBytes;
    run(9_000);
    assert.equal(host.memoryBytes, after1k);
  });
});
