// Fault handling (ABI.md §8.2 "VM failure", §10.1): a trap in any plugin call fails the VM
// for good. The failing stream and every later one get Envoy's fail-closed 503 (or pass
// untouched when failing open), and no export is called again: not even on_log, on_done
// or on_delete of the failing stream. Also: host calls with pointers outside memory answer
// INVALID_MEMORY_ACCESS and never throw out of the host (property-tested).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { FilterHeadersStatus, Host, LogLevel, ModuleLoadError, WasmResult, type HostOptions, type HttpStream } from "../runtime-mock/index.js";
import type { AbiVersion } from "../runtime-mock/wasm/types.js";
import { buildForwarder, callIn, envFunctions, MEMORY_BYTES } from "./support/host-call-forwarder.js";
// These tests exercise traps on purpose: the VM's failure is inspected, not thrown (see test/harness-failures.test.ts for the default).
const FAULTS: HostOptions = { throwOnTrap: false };
import { buildPlugin, compileWat, events, rec, recordingCallbacks, slotValue, type CallbackBody, type EventName } from "./support/plugin.js";

type Policy = NonNullable<HostOptions["failStrategy"]>;

/** Every frame of an exchange; frames after the stream ended are dropped by the host. */
function fullStream(host: Host): HttpStream {
  const stream = host.newHttpStream();
  stream.sendRequestHeaders({ ":method": "POST", ":path": "/", ":authority": "example.com" });
  stream.sendRequestBody("b");
  stream.sendRequestTrailers({ "x-request-trailer": "1" });
  stream.sendResponseHeaders({ ":status": "200" });
  stream.sendResponseBody("r");
  stream.sendResponseTrailers({ "x-response-trailer": "1" });
  return stream;
}

function assertFailClosedReply(stream: HttpStream): void {
  assert.equal(stream.localResponse?.status, 503);
  assert.equal(stream.localResponse?.generatedBy, "envoy");
  assert.equal(stream.responseCodeDetails, "wasm_fail_stream");
  assert.equal(stream.completed, true);
}

function assertPassedUntouched(stream: HttpStream): void {
  assert.equal(stream.localResponse, undefined);
  assert.equal(stream.resetReason, undefined);
  assert.equal(stream.request.bodyText, "b");
  assert.equal(stream.request.trailers?.get("x-request-trailer"), "1");
  assert.equal(stream.request.endStreamForwarded, true);
  assert.equal(stream.response.bodyText, "r");
  assert.equal(stream.response.endStreamForwarded, true);
  assert.equal(stream.completed, true);
}

const trapUnless = (condition: string): CallbackBody => ({ code: `(if ${condition} (then (unreachable)))` });
const trap: CallbackBody = { code: "(unreachable)" };
const ROOT = "(i32.eq (local.get $ctx) (i32.const 1))";
const NOT_ROOT = "(i32.ne (local.get $ctx) (i32.const 1))";

interface TrapPoint {
  /** The export that traps (= host.failure.phase). */
  fn: string;
  /** Its recorded event: the last thing the plugin ever does. */
  event: EventName;
  overrides: Partial<Record<EventName, CallbackBody>>;
  /** What triggers it. */
  during: "start" | "stream" | "tick" | "shutdown";
  /** The trapping stream, failing closed: a 503, a reset (response already downstream), or finished normally (teardown). */
  closed?: "503" | "reset" | "finished";
}

const TRAP_POINTS: TrapPoint[] = [
  { fn: "proxy_on_context_create", event: "contextCreate", overrides: { contextCreate: trapUnless("(i32.eqz (local.get $parent))") }, during: "start" },
  { fn: "proxy_on_vm_start", event: "vmStart", overrides: { vmStart: trap }, during: "start" },
  { fn: "proxy_on_configure", event: "configure", overrides: { configure: trap }, during: "start" },
  { fn: "proxy_on_context_create", event: "contextCreate", overrides: { contextCreate: trapUnless("(local.get $parent)") }, during: "stream", closed: "503" },
  { fn: "proxy_on_request_headers", event: "requestHeaders", overrides: { requestHeaders: trap }, during: "stream", closed: "503" },
  { fn: "proxy_on_request_body", event: "requestBody", overrides: { requestBody: trap }, during: "stream", closed: "503" },
  { fn: "proxy_on_request_trailers", event: "requestTrailers", overrides: { requestTrailers: trap }, during: "stream", closed: "503" },
  { fn: "proxy_on_response_headers", event: "responseHeaders", overrides: { responseHeaders: trap }, during: "stream", closed: "503" },
  { fn: "proxy_on_response_body", event: "responseBody", overrides: { responseBody: trap }, during: "stream", closed: "reset" },
  { fn: "proxy_on_response_trailers", event: "responseTrailers", overrides: { responseTrailers: trap }, during: "stream", closed: "reset" },
  { fn: "proxy_on_log", event: "log", overrides: { log: trap }, during: "stream", closed: "finished" },
  { fn: "proxy_on_done", event: "done", overrides: { done: trapUnless(NOT_ROOT) }, during: "stream", closed: "finished" },
  { fn: "proxy_on_delete", event: "delete", overrides: { delete: trapUnless(NOT_ROOT) }, during: "stream", closed: "finished" },
  {
    fn: "proxy_on_tick",
    event: "tick",
    overrides: { vmStart: { code: "(drop (call $proxy_set_tick_period_milliseconds (i32.const 5)))" }, tick: trap },
    during: "tick",
  },
  { fn: "proxy_on_done", event: "done", overrides: { done: trapUnless(ROOT) }, during: "shutdown" },
  { fn: "proxy_on_delete", event: "delete", overrides: { delete: trapUnless(ROOT) }, during: "shutdown" },
];

describe("a trap in any callback fails the VM (ABI.md §8.2)", () => {
  for (const point of TRAP_POINTS) {
    for (const policy of ["failClosed", "failOpen"] as Policy[]) {
      const label = point.during === "shutdown" || point.during === "tick" ? `${point.fn} (root, ${point.during})` : `${point.fn} (${point.during})`;
      test(`${label}, ${policy}: no further calls; later streams ${policy === "failClosed" ? "get 503" : "pass untouched"}`, async () => {
        const host = await Host.load(buildPlugin(() => ({ body: recordingCallbacks(point.overrides) })), { failStrategy: policy, ...FAULTS });
        const started = host.start();
        if (point.during === "start") {
          assert.equal(started.ok === false && started.reason, "vmFailed");
          assert.equal(!started.ok && started.failure, host.failure, "start() carries the failure report");
        }
        else assert.deepEqual(started, { ok: true });

        if (point.during === "stream") {
          const stream = fullStream(host);
          if (policy === "failOpen" || point.closed === "finished") assertPassedUntouched(stream);
          else if (point.closed === "503") assertFailClosedReply(stream);
          else {
            assert.equal(stream.resetReason, "local reset");
            assert.equal(stream.completed, true);
          }
        } else if (point.during === "tick") {
          assert.equal(host.tick(), true);
        } else if (point.during === "shutdown") {
          host.shutdown();
        }

        assert.equal(host.state, point.during === "shutdown" ? "shutdown" : "failed");
        assert.equal(host.failure?.phase, point.fn);
        assert.deepEqual(host.logsAt(LogLevel.Error), [`Function: ${point.fn} failed: Uncaught RuntimeError: unreachable\n${host.failure?.report}`]);
        const recorded = events(host);
        assert.equal(recorded.at(-1)?.name, point.event, "the trapping callback is the last call into the VM");

        host.tick();
        if (point.during !== "shutdown") {
          const later = fullStream(host);
          assert.equal(later.contextId, 0, "a failed VM gives new streams Envoy's empty context");
          if (policy === "failClosed") {
            assertFailClosedReply(later);
            assert.equal(later.request.headersForwarded, false);
          } else {
            assertPassedUntouched(later);
          }
          host.shutdown();
        }
        assert.equal(events(host).length, recorded.length, "nothing reached the VM after the trap");
      });
    }
  }

  test("every kind of trap, a stack overflow (a RangeError in V8) included, fails the VM with V8's message", async () => {
    const kinds: [string, string][] = [
      ["(drop (i32.load (i32.const -4)))", "RuntimeError: memory access out of bounds"],
      ["(drop (i32.div_u (i32.const 1) (i32.const 0)))", "RuntimeError: divide by zero"],
      ["(drop (i32.trunc_f32_s (f32.const nan)))", "RuntimeError: float unrepresentable in integer range"],
      ["(call $recurse)", "RangeError: Maximum call stack size exceeded"],
    ];
    for (const [code, error] of kinds) {
      const body = `(func $recurse (call $recurse)) ${recordingCallbacks({ requestHeaders: { code } })}`;
      const host = await Host.load(buildPlugin(() => ({ body })), FAULTS);
      host.start();
      assertFailClosedReply(fullStream(host));
      assert.equal(host.failure?.message, `Function: proxy_on_request_headers failed: Uncaught ${error}`);
      assert.equal(events(host).at(-1)?.name, "requestHeaders");
    }
  });

  test("a stream already open when another one traps: failing closed, its next callback gets the 503; no teardown calls", async () => {
    const host = await Host.load(buildPlugin(() => ({ body: recordingCallbacks({ requestBody: trap }) })), FAULTS);
    host.start();
    const open = host.newHttpStream();
    assert.equal(open.sendRequestHeaders({ ":path": "/a" }), FilterHeadersStatus.Continue);
    const trapping = host.newHttpStream();
    trapping.sendRequestHeaders({ ":path": "/b" });
    trapping.sendRequestBody("x", true);
    assertFailClosedReply(trapping);
    const count = events(host).length;
    open.sendRequestBody("y", true);
    assertFailClosedReply(open);
    assert.equal(events(host).length, count);
  });

  test("the same, failing open: the open stream goes on untouched", async () => {
    const host = await Host.load(buildPlugin(() => ({ body: recordingCallbacks({ requestBody: trap }) })), { failStrategy: "failOpen", ...FAULTS });
    host.start();
    const open = host.newHttpStream();
    open.sendRequestHeaders({ ":path": "/a" });
    const trapping = host.newHttpStream();
    trapping.sendRequestHeaders({ ":path": "/b" });
    trapping.sendRequestBody("x", true);
    const count = events(host).length;
    open.sendRequestBody("y", true);
    open.sendResponseHeaders({ ":status": "200" }, true);
    assert.equal(open.request.bodyText, "y");
    assert.equal(open.response.endStreamForwarded, true);
    assert.equal(open.localResponse, undefined);
    assert.equal(events(host).length, count);
  });

  test("a trap in the plugin's own response callback for its local reply: Envoy's 503 replaces the reply, no teardown calls", async () => {
    const reply = "(drop (call $proxy_send_local_response (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))";
    const host = await Host.load(buildPlugin(() => ({ body: recordingCallbacks({ requestHeaders: { code: reply }, responseHeaders: trap }) })), FAULTS);
    host.start();
    const stream = host.newHttpStream();
    stream.sendRequestHeaders({ ":path": "/" }, true);
    assert.equal(host.failure?.phase, "proxy_on_response_headers");
    assertFailClosedReply(stream);
    assert.deepEqual(stream.response.headers.pairs(), [[":status", "503"]]);
    assert.equal(events(host).at(-1)?.name, "responseHeaders");
  });
});

describe("a trap in the allocator or at initialization", () => {
  const readPath = rec(0, "(call $proxy_get_header_map_value (i32.const 0) (i32.const 8192) (i32.const 5) (i32.const 256) (i32.const 260))");

  test("malloc traps inside a host call: the call answers INVALID_MEMORY_ACCESS, the callback finishes, the stream gets 503, nothing else is called", async () => {
    const bytes = buildPlugin((kit) => {
      kit.str(":path"); // at 8192
      return {
        allocator: "proxy_on_memory_allocate",
        body: `(func (export "malloc") (param i32) (result i32) (unreachable))
          ${recordingCallbacks({ requestHeaders: { code: `${readPath} ${rec(1, "(i32.const 77)")}` } })}`,
      };
    });
    const host = await Host.load(bytes, FAULTS);
    host.start();
    const stream = fullStream(host);
    assert.equal(slotValue(host, 0), WasmResult.InvalidMemoryAccess);
    assert.equal(slotValue(host, 1), 77, "the plugin ran on after the failed host call");
    assert.equal(host.failure?.phase, "malloc");
    assertFailClosedReply(stream);
    assert.equal(events(host).at(-1)?.name, "requestHeaders");
  });

  test("proxy_on_memory_allocate (the only allocator) traps: the same", async () => {
    const bytes = compileWat(`(module
      (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) ":path")
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (unreachable))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (i32.store (i32.const 128) (call $get (i32.const 0) (i32.const 64) (i32.const 5) (i32.const 256) (i32.const 260)))
        (i32.const 0))
      (func (export "proxy_on_log") (param i32) (i32.store (i32.const 132) (i32.const 1))))`);
    const host = await Host.load(bytes, { failStrategy: "failOpen", ...FAULTS });
    host.start();
    const stream = fullStream(host);
    assert.equal(host.vm.memory.readU32(128), WasmResult.InvalidMemoryAccess);
    assert.equal(host.failure?.phase, "proxy_on_memory_allocate");
    assertPassedUntouched(stream);
    assert.equal(host.vm.memory.readU32(132), 0, "proxy_on_log never ran");
  });

  const initCases: [string, string][] = [
    ["main", `(func (export "_initialize")) (func (export "main") (param i32 i32) (result i32) (unreachable))`],
    ["__main_void", `(func (export "_initialize")) (func (export "__main_void") (result i32) (unreachable))`],
    ["_start", `(func (export "_start") (unreachable))`],
  ];
  for (const [fn, exports] of initCases) {
    test(`a trap in ${fn} fails the load: "Failed to initialize Wasm code", the trap in the hint`, async () => {
      const bytes = compileWat(`(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
        (func (export "malloc") (param i32) (result i32) (i32.const 0)) ${exports})`);
      await assert.rejects(Host.load(bytes), (error: unknown) => {
        assert.ok(error instanceof ModuleLoadError);
        assert.equal(error.message, "Failed to initialize Wasm code");
        assert.match(error.hint ?? "", new RegExp(`Function: ${fn} failed: Uncaught RuntimeError: unreachable`));
        return true;
      });
    });
  }
});

// --- bad pointers -----------------------------------------------------------------------

/**
 * The role of each parameter, from ABI.md §5: `enum:N` is checked (> N → BAD_ARGUMENT)
 * before memory; `in` + `len` is a region read from the plugin; `out` / `out8` a 4- / 8-byte
 * slot written on success; `out?` an optional slot (0 = not wanted); `u32` / `i64` values.
 */
const ROLES: Record<string, string[]> = {
  proxy_log: ["enum:5", "in", "len"],
  proxy_get_log_level: ["out"],
  proxy_get_status: ["out", "out", "out"],
  proxy_set_property: ["in", "len", "in", "len"],
  proxy_get_property: ["in", "len", "out", "out"],
  proxy_send_local_response: ["u32", "in", "len", "in", "len", "in", "len", "u32"],
  proxy_get_shared_data: ["in", "len", "out", "out", "out"],
  proxy_set_shared_data: ["in", "len", "in", "len", "u32"],
  proxy_register_shared_queue: ["in", "len", "out"],
  proxy_resolve_shared_queue: ["in", "len", "in", "len", "out"],
  proxy_dequeue_shared_queue: ["u32", "out", "out"],
  proxy_enqueue_shared_queue: ["u32", "in", "len"],
  proxy_get_header_map_value: ["enum:7", "in", "len", "out", "out"],
  proxy_add_header_map_value: ["enum:7", "in", "len", "in", "len"],
  proxy_replace_header_map_value: ["enum:7", "in", "len", "in", "len"],
  proxy_remove_header_map_value: ["enum:7", "in", "len"],
  proxy_get_header_map_pairs: ["enum:7", "out", "out"],
  proxy_set_header_map_pairs: ["enum:7", "in", "len"],
  proxy_get_header_map_size: ["enum:7", "out"],
  proxy_get_buffer_status: ["enum:8", "out", "out"],
  proxy_get_buffer_bytes: ["enum:8", "u32", "u32", "out", "out"],
  proxy_set_buffer_bytes: ["enum:8", "u32", "u32", "in", "len"],
  proxy_http_call: ["in", "len", "in", "len", "in", "len", "in", "len", "u32", "out"],
  proxy_grpc_call: ["in", "len", "in", "len", "in", "len", "in", "len", "in", "len", "u32", "out"],
  proxy_grpc_stream: ["in", "len", "in", "len", "in", "len", "in", "len", "out"],
  proxy_grpc_close: ["u32"],
  proxy_grpc_cancel: ["u32"],
  proxy_grpc_send: ["u32", "in", "len", "u32"],
  proxy_set_tick_period_milliseconds: ["u32"],
  proxy_get_current_time_nanoseconds: ["out8"],
  proxy_define_metric: ["u32", "in", "len", "out"], // the type is checked after the name's memory
  proxy_increment_metric: ["u32", "i64"],
  proxy_record_metric: ["u32", "i64"],
  proxy_get_metric: ["u32", "out8"],
  proxy_set_effective_context: ["u32"],
  proxy_done: [],
  proxy_call_foreign_function: ["in", "len", "in", "len", "out?", "out?"],
  proxy_continue_stream: ["enum:3"],
  proxy_close_stream: ["enum:3"],
  pthread_equal: ["u32", "u32"],
  emscripten_notify_memory_growth: ["u32"],
  envoy_resolve_dns: ["in", "len", "out"],
  // ABI 0.1.0 only
  proxy_get_configuration: ["out", "out"],
  proxy_continue_request: [],
  proxy_continue_response: [],
  proxy_clear_route_cache: [],
};
/** Buffers that are NOT_FOUND outside their callbacks (callout body, plugin configuration): set_buffer_bytes looks them up before the memory (§5.6). */
const UNAVAILABLE_BUFFERS = new Set([4, 7]);

const u32 = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 7, 8, 9, 0x7fffffff, 0xffffffff), fc.nat({ max: 0xffffffff }));
const enumArg = (max: number) => fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max }) }, { weight: 1, arbitrary: fc.integer({ min: max + 1, max: 0xffffffff }) });
/** An input region: mostly inside memory, with the edges (empty at the end, one past it, wrapping) and anything. */
const region = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: MEMORY_BYTES }).chain((ptr) => fc.tuple(fc.constant(ptr), fc.nat({ max: Math.min(64, MEMORY_BYTES - ptr) }))) },
  { weight: 1, arbitrary: fc.constantFrom([MEMORY_BYTES, 0], [MEMORY_BYTES + 1, 0], [MEMORY_BYTES - 1, 2], [0, MEMORY_BYTES + 1], [0xffffffff, 1], [1, 0xffffffff], [0, 0]) },
  { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })) },
);
const outSlot = (width: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.nat({ max: MEMORY_BYTES - width }) },
    { weight: 1, arbitrary: fc.constantFrom(MEMORY_BYTES - width + 1, MEMORY_BYTES, 0xffffffff, 0xfffffffc) },
    { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) },
  );
const i64 = fc.oneof(fc.constantFrom(0n, 1n, -1n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));

interface Param {
  role: string;
  value: number | bigint;
  /** For `in`: the region's length. */
  len?: number;
}

function paramsArbitrary(roles: string[]): fc.Arbitrary<Param[]> {
  const parts: fc.Arbitrary<Param[]>[] = [];
  for (let i = 0; i < roles.length; i++) {
    const role = roles[i]!;
    if (role === "in") {
      parts.push(region.map(([ptr, len]) => [{ role, value: ptr, len }, { role: "len", value: len }]));
      i++; // the length is part of the region
    } else if (role.startsWith("enum:")) parts.push(enumArg(Number(role.slice(5))).map((value) => [{ role, value }]));
    else if (role === "out") parts.push(outSlot(4).map((value) => [{ role, value }]));
    else if (role === "out8") parts.push(outSlot(8).map((value) => [{ role, value }]));
    else if (role === "out?") parts.push(fc.oneof(fc.constant(0), outSlot(4)).map((value) => [{ role, value }]));
    else if (role === "i64") parts.push(i64.map((value) => [{ role, value }]));
    else parts.push(u32.map((value) => [{ role, value }]));
  }
  return fc.tuple(...parts).map((chunks) => chunks.flat());
}

const inBounds = (ptr: number, len: number) => ptr + len <= MEMORY_BYTES;

describe("host calls with pointers outside memory (ABI.md §2): INVALID_MEMORY_ACCESS, never a throw (fast-check)", () => {
  for (const version of ["0.2.1", "0.1.0"] as AbiVersion[]) {
    test(`every env import of ABI ${version}, called from a paused stream with random pointers and sizes`, async () => {
      const functions = envFunctions(version);
      const missing = [...functions.keys()].filter((name) => !(name in ROLES));
      assert.deepEqual(missing, [], "every env import needs its parameter roles here");
      const host = await Host.load(buildForwarder(version), { vmConfig: "vm configuration", pluginConfig: "plugin" });
      assert.ok(host.start().ok);
      let stream = host.newHttpStream();
      stream.sendRequestHeaders({ ":path": "/", ":authority": "h", ":method": "GET", "x-a": "1" });

      for (const [name, type] of functions) {
        const roles = ROLES[name]!;
        assert.equal(roles.length, type.params.length, `${name}: one role per parameter`);
        const returns = type.results.length > 0;
        fc.assert(
          fc.property(paramsArbitrary(roles), (params) => {
            if (stream.completed) {
              stream = host.newHttpStream();
              stream.sendRequestHeaders({ ":path": "/", ":authority": "h", ":method": "GET" });
            }
            const logged = host.logs.length;
            const result = callIn(host, stream.contextId, name, params.map((p) => p.value));
            // Nothing escaped the host: no exception (we got here), no host bug caught and logged, no VM failure.
            assert.deepEqual(host.logs.slice(logged).filter((e) => e.message.startsWith("mock host error")), []);
            assert.equal(host.failure, undefined);
            if (!returns) return assert.equal(result, undefined);
            if (name === "pthread_equal") return assert.ok(result === 0 || result === 1);
            assert.ok(Number.isInteger(result) && (result as number) >= 0 && (result as number) <= WasmResult.Unimplemented, `${name} → ${String(result)}`);

            const badEnum = params.some((p) => p.role.startsWith("enum:") && (p.value as number) > Number(p.role.slice(5)));
            const badInput = params.some((p) => p.role === "in" && !inBounds(p.value as number, p.len!));
            if (badEnum) assert.equal(result, WasmResult.BadArgument, `${name}: an invalid enum comes first`);
            else if (badInput) {
              const buffer = name === "proxy_set_buffer_bytes" ? (params[0]!.value as number) : -1;
              assert.equal(result, UNAVAILABLE_BUFFERS.has(buffer) ? WasmResult.NotFound : WasmResult.InvalidMemoryAccess, `${name}(${params.map((p) => p.value).join(", ")})`);
            }
            if (result === WasmResult.Ok) {
              for (const p of params) {
                const width = p.role === "out8" ? 8 : p.role === "out" || (p.role === "out?" && p.value !== 0) ? 4 : 0;
                if (width) assert.ok(inBounds(p.value as number, width), `${name} answered OK with an out-param outside memory`);
              }
            }
          }),
          { numRuns: 150 },
        );
      }
      host.shutdown();
    });
  }
});
