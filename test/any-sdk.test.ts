// Modules built by other SDKs load and run in the mock host (README "The mock host").
// The modules in test/fixtures/sdk-patterns/ imitate the Rust, Go (TinyGo) and C++ SDKs:
// their ABI markers, imports (env + WASI under either module name), allocators, start-up
// exports, context bookkeeping, and the statuses each SDK's host-call wrappers accept.
// They trap on anything else, so a stream that completes with no failure proves the host
// answered every call with the status that SDK expects from Envoy (ABI.md §5, §9).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FilterDataStatus, FilterHeadersStatus, Host, LogLevel, type HostOptions } from "../runtime-mock/index.js";
import { sdkPattern } from "./support/sdk-patterns.js";

/** Loads and starts a pattern module; fails the test with the plugin's logs if it does not start. */
async function start(bytes: Uint8Array, options: HostOptions = {}): Promise<Host> {
  const host = await Host.load(bytes, options);
  const result = host.start();
  assert.ok(result.ok, `start failed: ${JSON.stringify(result)} ${host.logs.map((e) => e.message).join(" | ")}`);
  return host;
}

/** No trap and no panic message so far. */
function assertHealthy(host: Host): void {
  assert.equal(host.failure, undefined, host.failure?.message);
  assert.deepEqual(host.logsAt(LogLevel.Critical), []);
}

const info = (host: Host) => host.logsAt(LogLevel.Info);

const request = (path: string): [string, string][] => [
  [":method", "POST"],
  [":path", path],
  [":authority", "example.com"],
  ["x-drop", "1"],
];

describe("Rust SDK (ABI 0.2.1)", () => {
  for (const variant of ["unknown", "wasi"] as const) {
    const allocator = variant === "unknown" ? "malloc" : "proxy_on_memory_allocate";
    const options: HostOptions = { rootId: "rust_filter", pluginConfig: "from-config", environment: { REGION: "eu" } };

    test(`${variant} (${allocator}): headers both ways, a buffered body replaced, an empty response body`, async () => {
      const host = await start(sdkPattern("rust-sdk", variant), options);
      assert.equal(host.abiVersion, "0.2.1");
      const stream = host.newHttpStream();
      assert.equal(stream.sendRequestHeaders(request("/allowed")), FilterHeadersStatus.Continue);
      assert.equal(stream.request.headers.get("x-rust"), "1");
      assert.equal(stream.request.headers.has("x-drop"), false);
      assert.equal(stream.sendRequestBody("hello"), FilterDataStatus.StopIterationAndBuffer);
      assert.equal(stream.sendRequestBody("world", true), FilterDataStatus.Continue);
      assert.equal(stream.request.bodyText, "REPLACED");
      assert.equal(stream.sendResponseHeaders({ ":status": "200" }), FilterHeadersStatus.Continue);
      assert.equal(stream.response.headers.get("x-rust-config"), "from-config");
      // An empty last chunk: get_buffer_bytes answers Ok with a null pointer, which Rust reads as None.
      assert.equal(stream.sendResponseBody("", true), FilterDataStatus.Continue);
      assert.equal(stream.completed, true);
      assertHealthy(host);
      assert.deepEqual(info(host), [
        "vm config: none",
        ...(variant === "wasi" ? ["rust wasi: REGION=eu"] : []),
        "x-missing: none, request.path: /allowed, no.such: none, my_state: v1, headers: 4",
        "request body: helloworld",
        "response :status 200",
        "response body: none",
        "log: path /allowed, response.code 200, request trailers 0",
        "done 2",
        "delete 2",
      ]);
    });

    test(`${variant}: send_http_response from the request headers; the reply runs through the plugin's response callbacks`, async () => {
      const host = await start(sdkPattern("rust-sdk", variant), options);
      host.clearLogs();
      const stream = host.newHttpStream();
      assert.equal(stream.sendRequestHeaders(request("/deny")), FilterHeadersStatus.StopAllIterationAndWatermark);
      assert.equal(stream.localResponse?.status, 403);
      assert.equal(stream.response.headers.get("x-reason"), "denied");
      assert.equal(stream.response.headers.get("x-rust-config"), "from-config");
      assert.equal(stream.response.bodyText, "forbidden");
      assert.equal(stream.completed, true);
      assert.equal(stream.sendRequestBody("late", true), FilterDataStatus.StopIterationNoBuffer);
      assertHealthy(host);
      assert.deepEqual(info(host).slice(1), [
        "response :status 403",
        "response body: forbidden",
        "log: path /deny, response.code 403, request trailers 0",
        "done 2",
        "delete 2",
      ]);
    });

    test(`${variant}: Pause from the request headers, resumed from on_tick through set_effective_context`, async () => {
      const host = await start(sdkPattern("rust-sdk", variant), options);
      const stream = host.newHttpStream();
      assert.equal(stream.sendRequestHeaders(request("/pause"), true), FilterHeadersStatus.StopAllIterationAndWatermark);
      assert.equal(stream.request.headersForwarded, false);
      assert.equal(host.tick(), true);
      assert.equal(stream.request.headersForwarded, true);
      assert.equal(stream.request.endStreamForwarded, true);
      stream.sendResponseHeaders({ ":status": "204" }, true);
      assert.equal(stream.completed, true);
      host.shutdown();
      assertHealthy(host);
      assert.deepEqual(info(host).filter((m) => /^(resumed|done|delete)/.test(m)), ["resumed 2", "done 2", "delete 2", "done 1", "delete 1"]);
    });
  }

  test("a panic (critical log, then a trap) fails the VM: the module's checks are live", async () => {
    const host = await start(sdkPattern("rust-sdk", "unknown"), { pluginConfig: "c" });
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(request("/allowed"), true);
    const failure = host.expectTrap(() => stream.sendResponseHeaders({ ":status": "200", "x-nothing": "1" }, true));
    assert.deepEqual(host.logsAt(LogLevel.Critical), ["panicked at 'x-nothing is set'"]);
    assert.equal(failure, host.failure);
    assert.equal(failure.phase, "proxy_on_response_headers");
    // The panic hook's critical line, then unreachable: the report calls it an abort and quotes the panic.
    assert.equal(failure.kind, "abort");
    assert.equal(failure.detail, "panicked at 'x-nothing is set'");
    assert.equal(stream.localResponse?.status, 503);
    assert.equal(stream.localResponse?.generatedBy, "envoy");
  });
});

describe("Go SDK, TinyGo build (ABI 0.2.0)", () => {
  const options: HostOptions = { vmConfig: "go-vm", pluginConfig: "x-go:tinygo", environment: { GOGC: "off" } };
  /** TinyGo prints a panic to stdout (an Info line) before it traps. */
  const assertNoPanic = (host: Host) => {
    assertHealthy(host);
    assert.deepEqual(info(host).filter((m) => m.startsWith("panic:")), []);
  };

  test("_start (the runtime's WASI calls and println) runs on the VM context before the plugin starts", async () => {
    const host = await start(sdkPattern("go-sdk"), options);
    assert.equal(host.abiVersion, "0.2.0");
    assert.deepEqual(host.logs.slice(0, 2).map((e) => [e.contextId, e.level, e.message]), [
      [0, LogLevel.Info, "main: vm context set"],
      [1, LogLevel.Info, "vm config: go-vm"],
    ]);
    assertNoPanic(host);
  });

  test("headers both ways with Go's header logging, a buffered body appended to, then the pause/resume pattern", async () => {
    const host = await start(sdkPattern("go-sdk"), options);
    host.clearLogs();
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders([[":method", "PUT"], [":path", "/items"], [":authority", "example.com"], ["test", "x"], ["test", "y"]]), FilterHeadersStatus.Continue);
    assert.deepEqual(stream.request.headers.getAll("test"), ["best"]);
    assert.equal(stream.sendRequestBody("ping"), FilterDataStatus.StopIterationAndBuffer);
    assert.equal(stream.sendRequestBody("", true), FilterDataStatus.Continue);
    assert.equal(stream.request.bodyText, "ping (go)");
    assert.equal(stream.sendResponseHeaders([[":status", "201"], ["content-type", "text/plain"]]), FilterHeadersStatus.Continue);
    assert.equal(stream.response.headers.get("x-go"), "tinygo");
    stream.sendResponseBody("ok", true);
    assert.deepEqual(info(host), [
      "request header --> :method: PUT",
      "request header --> :path: /items",
      "request header --> :authority: example.com",
      "request header --> test: x",
      "request header --> test: y",
      "body: ping",
      "response header <-- :status: 201",
      "response header <-- content-type: text/plain",
      "2 finished",
    ]);

    const paused = host.newHttpStream();
    assert.equal(paused.sendRequestHeaders({ ":path": "/slow", "x-pause": "1" }, true), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(paused.request.headersForwarded, false);
    host.tick();
    assert.equal(paused.request.endStreamForwarded, true);
    assert.equal(paused.request.headers.get("test"), "best");
    paused.sendResponseHeaders({ ":status": "200" }, true);
    assert.equal(paused.completed, true);
    host.shutdown();
    assertNoPanic(host);
  });
});

describe("C++ SDK, Emscripten build with wasi_unstable imports (ABI 0.2.1)", () => {
  const options: HostOptions = { rootId: "cpp_root", pluginConfig: "cpp-config", vmConfig: "vm-cfg" };
  const MALLOC_CALLS = 32768;
  const PROXY_ON_MEMORY_ALLOCATE_CALLS = 32772;
  const readU32 = (host: Host, address: number) => host.vm.memory.readU32(address)!;

  test("_initialize then main(0, 0); plugin_root_id picks the factory; onStart gets the VM configuration size", async () => {
    const host = await start(sdkPattern("cpp-sdk"), options);
    assert.deepEqual(host.logs.map((e) => [e.contextId, e.message]), [
      [0, "cpp main: argc=0 argv=0"],
      [1, "onStart vm_configuration_size=6 vm_configuration=vm-cfg"],
    ]);
    assert.ok(host.memoryBytes > 65536, "sbrk grew memory in _initialize and notified the host");
    assertHealthy(host);
  });

  test("no x-api-key: a local 401 runs back through onResponseHeaders; with it: the key is removed, body chunks stream", async () => {
    const host = await start(sdkPattern("cpp-sdk"), options);
    host.clearLogs();
    const denied = host.newHttpStream();
    assert.equal(denied.sendRequestHeaders({ ":method": "GET", ":path": "/", ":authority": "example.com" }), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(denied.localResponse?.status, 401);
    assert.equal(denied.responseCodeDetails, "missing_key");
    assert.equal(denied.response.headers.get("www-authenticate"), 'Key realm="cpp"');
    assert.equal(denied.response.headers.get("x-cpp"), "cpp-config");
    assert.equal(denied.response.bodyText, "missing key");
    assert.equal(denied.completed, true);

    const allowed = host.newHttpStream();
    const headers: [string, string][] = [[":method", "GET"], [":path", "/"], [":authority", "example.com"], ["x-api-key", "secret"]];
    assert.equal(allowed.sendRequestHeaders(headers), FilterHeadersStatus.Continue);
    assert.equal(allowed.request.headers.has("x-api-key"), false);
    assert.equal(allowed.sendRequestBody("a"), FilterDataStatus.Continue);
    assert.equal(allowed.sendRequestBody("b", true), FilterDataStatus.Continue);
    assert.equal(allowed.request.bodyText, "ab");
    allowed.sendResponseHeaders({ ":status": "200" }, true);
    assert.equal(allowed.response.headers.get("x-cpp"), "cpp-config");
    const byteSize = headers.reduce((sum, [k, v]) => sum + k.length + v.length, 0);
    assert.deepEqual(info(host), [
      "onLog response.code=401",
      `request header bytes: ${byteSize}`,
      "body chunk: a end_of_stream=0",
      "body chunk: b end_of_stream=1",
      "onLog response.code=200",
    ]);
    assert.ok(readU32(host, MALLOC_CALLS) > 0);
    assert.equal(readU32(host, PROXY_ON_MEMORY_ALLOCATE_CALLS), 0, "malloc wins over proxy_on_memory_allocate");
    assertHealthy(host);
  });

  test("a root id with no registered factory: the SDK warns and streams pass without a filter", async () => {
    const host = await start(sdkPattern("cpp-sdk"), { ...options, rootId: "other" });
    assert.deepEqual(host.logsAt(LogLevel.Warn), ["no context factory for root_id: other"]);
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":path": "/" }, true), FilterHeadersStatus.Continue);
    stream.sendResponseHeaders({ ":status": "200" }, true);
    assert.equal(stream.response.headers.has("x-cpp"), false);
    assertHealthy(host);
  });
});

describe("an ABI 0.1.0 module (proxy-wasm-rust-sdk 0.1.x era)", () => {
  test("two-argument header callbacks; proxy_get_configuration: plugin config in on_configure, VM config elsewhere; OK + empty for a missing header; continue_request / continue_response", async () => {
    const host = await start(sdkPattern("abi-0.1.0"), { pluginConfig: "plugin-010", vmConfig: "vm-010" });
    assert.equal(host.abiVersion, "0.1.0");
    const stream = host.newHttpStream();
    assert.equal(stream.sendRequestHeaders({ ":method": "POST", ":path": "/legacy", ":authority": "example.com" }), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(stream.request.headersForwarded, false);
    assert.equal(stream.sendRequestBody("abc", true), FilterDataStatus.StopIterationAndWatermark);
    host.tick();
    assert.equal(stream.request.bodyText, "abc");
    assert.equal(stream.request.endStreamForwarded, true);
    assert.equal(stream.sendResponseHeaders({ ":status": "200" }, true), FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(stream.response.headersForwarded, false);
    host.tick();
    assert.equal(stream.response.endStreamForwarded, true);
    assert.equal(stream.response.headers.get("x-legacy"), "plugin-010");
    assert.equal(stream.completed, true);
    assertHealthy(host);
    assert.deepEqual(info(host), [
      "on_vm_start configuration: vm-010",
      "on_configure configuration: plugin-010",
      "path /legacy, x-missing none, configuration vm-010",
      "body abc",
      "on_log",
    ]);
  });
});
