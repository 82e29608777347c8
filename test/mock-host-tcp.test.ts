// TCP (network filter) connections in the mock host, driven by hand-written plugins for exact
// statuses and callback order (ABI.md §3.3, §3.4, §4.5, §5.7, §7, §8.3): Envoy's order of
// callbacks, data held by StopIteration and re-presented or released, buffers 2/3 only where
// Envoy has them, stream control for DOWNSTREAM/UPSTREAM, half-closes, and a failed VM.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FilterStatus, LogLevel, PeerType, WasmResult, type Host, type HostOptions } from "../runtime-mock/index.js";
import {
  buildPlugin,
  EVENT_COUNT,
  OUT_A,
  OUT_B,
  OUT_PTR,
  OUT_SIZE,
  put,
  readU32,
  rec,
  recordingCallbacks,
  saveOut,
  savedText,
  slotValue,
  startPlugin,
  type CallbackBody,
  type Kit,
} from "./support/plugin.js";

// The event log that support/plugin.ts's `$event` writes: 16 bytes per event (code, context, a, b) from this address.
const EVENT_LOG = 2048;
const TCP = { newConnection: 40, downstreamData: 41, upstreamData: 42, downstreamClose: 43, upstreamClose: 44 } as const;
const NAMES: Record<number, string> = {
  1: "contextCreate",
  10: "log",
  11: "done",
  12: "delete",
  13: "tick",
  ...Object.fromEntries(Object.entries(TCP).map(([name, code]) => [code, name])),
};

type TcpCallback = keyof typeof TCP;
type Overrides = Partial<Record<TcpCallback | "tick" | "vmStart" | "log" | "done" | "delete" | "contextCreate", CallbackBody>>;

/** Core callbacks (recording), plus the five TCP callbacks recording codes 40–44; TCP ones return Continue unless told. */
function tcpCallbacks(o: Overrides): string {
  const fn = (name: TcpCallback, exportName: string, params: string, ev: string, returns: boolean) => {
    const body = o[name] ?? {};
    const result = body.result ?? 0;
    return `(func (export "${exportName}") ${params} ${returns ? "(result i32)" : ""}
      (call $event (i32.const ${TCP[name]}) (local.get $ctx) ${ev})
      ${body.code ?? ""}
      ${returns ? (typeof result === "number" ? `(i32.const ${result})` : result) : ""})`;
  };
  const { newConnection, downstreamData, upstreamData, downstreamClose, upstreamClose, ...core } = o;
  return [
    recordingCallbacks(core),
    fn("newConnection", "proxy_on_new_connection", "(param $ctx i32)", "(i32.const 0) (i32.const 0)", true),
    fn("downstreamData", "proxy_on_downstream_data", "(param $ctx i32) (param $size i32) (param $eos i32)", "(local.get $size) (local.get $eos)", true),
    fn("upstreamData", "proxy_on_upstream_data", "(param $ctx i32) (param $size i32) (param $eos i32)", "(local.get $size) (local.get $eos)", true),
    fn("downstreamClose", "proxy_on_downstream_connection_close", "(param $ctx i32) (param $peer i32)", "(local.get $peer) (i32.const 0)", false),
    fn("upstreamClose", "proxy_on_upstream_connection_close", "(param $ctx i32) (param $peer i32)", "(local.get $peer) (i32.const 0)", false),
  ].join("\n");
}

const plugin = (build: (kit: Kit) => Overrides) => buildPlugin((kit) => ({ body: tcpCallbacks(build(kit)) }));

/** Events of stream contexts (id ≥ 2) as "name(a,b)". */
function connectionEvents(host: Host): string[] {
  const out: string[] = [];
  for (let i = 0; i < readU32(host, EVENT_COUNT); i++) {
    const at = EVENT_LOG + 16 * i;
    const [code, ctx, a, b] = [0, 4, 8, 12].map((o) => readU32(host, at + o)) as [number, number, number, number];
    if (ctx >= 2) out.push(`${NAMES[code] ?? code}(${a},${b})`);
  }
  return out;
}

/** The context id of the connection's callback, kept in slot 0 for a tick to act on it. */
const keepContext = put(0, "(local.get $ctx)");
const TICKS = "(drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))";
const onKeptContext = (code: string) => `(drop (call $proxy_set_effective_context (i32.load (i32.const 1024)))) ${code}`;

const bufferStatus = (i: number, type: number) => `${rec(i, `(call $proxy_get_buffer_status (i32.const ${type}) (i32.const ${OUT_A}) (i32.const ${OUT_B}))`)} ${put(i + 1, `(i32.load (i32.const ${OUT_A}))`)}`;
const readBuffer = (i: number, type: number) => `${rec(i, `(call $proxy_get_buffer_bytes (i32.const ${type}) (i32.const 0) (i32.const -1) (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(i + 1)}`;
const setBuffer = (kit: Kit, i: number, type: number, start: number, size: number, text: string) =>
  rec(i, `(call $proxy_set_buffer_bytes (i32.const ${type}) (i32.const ${start}) (i32.const ${size}) ${kit.str(text)})`);

async function open(bytes: Uint8Array, options: HostOptions = {}) {
  const host = await startPlugin(bytes, options);
  return { host, connection: host.newTcpConnection() };
}

describe("callback order (ABI.md §8.3)", () => {
  test("new connection, data both ways, upstream end of stream, client close: on_done → on_log → on_delete after the close", async () => {
    const { host, connection } = await open(plugin(() => ({})));
    assert.equal(connection.contextId, 2);
    assert.equal(connection.newConnectionStatus, FilterStatus.Continue);
    assert.equal(connection.upstreamConnected, true);
    assert.equal(connection.sendDownstreamData("hello"), FilterStatus.Continue);
    assert.equal(connection.sendUpstreamData("world!"), FilterStatus.Continue);
    assert.equal(connection.sendUpstreamData("", true), FilterStatus.Continue);
    assert.equal(connection.closed, false, "the client has not half-closed yet");
    connection.closeDownstream();
    assert.deepEqual(connectionEvents(host), [
      "contextCreate(1,0)",
      "newConnection(0,0)",
      "downstreamData(5,0)",
      "upstreamData(6,0)",
      "upstreamData(0,1)",
      "upstreamClose(0,0)",
      "downstreamClose(2,0)",
      "done(0,0)",
      "log(0,0)",
      "delete(0,0)",
    ]);
    assert.equal(connection.closed, true);
    assert.equal(connection.closeType, PeerType.Remote);
    assert.equal(connection.closeDetails, undefined);
    assert.equal(connection.downstream.forwardedText, "hello");
    assert.equal(connection.upstream.forwardedText, "world!");
    assert.equal(connection.upstream.endStreamForwarded, true);
  });

  test("both halves closed: LOCAL when the write half (upstream end of stream) closes last, REMOTE when the client's does", async () => {
    const bytes = plugin(() => ({}));
    const first = await open(bytes);
    first.connection.sendDownstreamData("q", true);
    assert.equal(first.connection.downstream.endStreamForwarded, true);
    assert.equal(first.connection.closed, false);
    first.connection.sendUpstreamData("a", true);
    assert.equal(first.connection.closeType, PeerType.Local);
    assert.deepEqual(connectionEvents(first.host).slice(2), [
      "downstreamData(1,1)",
      "upstreamData(1,1)",
      "upstreamClose(0,0)",
      "downstreamClose(1,0)",
      "done(0,0)",
      "log(0,0)",
      "delete(0,0)",
    ]);

    const second = await open(bytes);
    second.connection.sendUpstreamData("banner", true);
    assert.equal(second.connection.closed, false);
    second.connection.sendDownstreamData("", true);
    assert.equal(second.connection.closeType, PeerType.Remote);
    assert.deepEqual(connectionEvents(second.host).slice(2), [
      "upstreamData(6,1)",
      "upstreamClose(0,0)",
      "downstreamData(0,1)",
      "downstreamClose(2,0)",
      "done(0,0)",
      "log(0,0)",
      "delete(0,0)",
    ]);
  });

  test("the upstream connection closing makes tcp_proxy close the client connection: LOCAL, and no on_upstream_connection_close", async () => {
    const { host, connection } = await open(plugin(() => ({})));
    connection.sendDownstreamData("x");
    connection.closeUpstream();
    assert.equal(connection.closeType, PeerType.Local);
    assert.deepEqual(connectionEvents(host).slice(3), ["downstreamClose(1,0)", "done(0,0)", "log(0,0)", "delete(0,0)"]);
    connection.closeUpstream(); // already closed: nothing happens
    connection.closeDownstream();
    assert.equal(connectionEvents(host).length, 7);
  });

  test("the upstream closing after its end of stream was held still closes the client connection; the held bytes are dropped", async () => {
    const { host, connection } = await open(plugin(() => ({ upstreamData: { result: 1 } })));
    connection.sendDownstreamData("req", true);
    assert.equal(connection.sendUpstreamData("resp", true), FilterStatus.StopIteration);
    assert.equal(connection.closeType, PeerType.Local, "both halves of the upstream connection closed");
    assert.equal(connection.upstream.forwardedText, "");
    assert.equal(connection.upstream.heldText, "");
    assert.deepEqual(connectionEvents(host).slice(3), ["upstreamData(4,1)", "upstreamClose(0,0)", "downstreamClose(1,0)", "done(0,0)", "log(0,0)", "delete(0,0)"]);
  });

  test("an empty chunk without end of stream is no read event; closeDownstream accepts only LOCAL and REMOTE", async () => {
    const { host, connection } = await open(plugin(() => ({})));
    assert.equal(connection.sendDownstreamData(""), FilterStatus.Continue);
    assert.equal(connection.sendUpstreamData(new Uint8Array(0)), FilterStatus.Continue);
    assert.deepEqual(connectionEvents(host), ["contextCreate(1,0)", "newConnection(0,0)"]);
    assert.throws(() => connection.closeDownstream(PeerType.Unknown), RangeError);
    connection.sendDownstreamData("a", true);
    assert.throws(() => connection.sendDownstreamData("more"), /already sent its end of stream/);
  });

  test("after the close, bytes are dropped (StopIteration) and nothing is called", async () => {
    const { host, connection } = await open(plugin(() => ({})));
    connection.closeDownstream(PeerType.Local);
    const count = connectionEvents(host).length;
    assert.equal(connection.sendDownstreamData("late"), FilterStatus.StopIteration);
    assert.equal(connection.sendUpstreamData("late", true), FilterStatus.StopIteration);
    assert.equal(connectionEvents(host).length, count);
    assert.equal(connection.downstream.forwardedText, "");
  });

  test("host.shutdown() closes live connections LOCAL before the root's on_done", async () => {
    const { host, connection } = await open(plugin(() => ({})));
    host.shutdown();
    assert.equal(connection.closeType, PeerType.Local);
    assert.deepEqual(connectionEvents(host).slice(2), ["downstreamClose(1,0)", "done(0,0)", "log(0,0)", "delete(0,0)"]);
  });

  test("a module without TCP callbacks: the bytes pass, Envoy still announces the context and tears it down", async () => {
    const host = await startPlugin(buildPlugin(() => ({ body: recordingCallbacks() })));
    const connection = host.newTcpConnection();
    assert.equal(connection.sendDownstreamData("abc", true), FilterStatus.Continue);
    connection.sendUpstreamData("def", true);
    assert.equal(connection.upstream.forwardedText, "def");
    assert.equal(connection.closeType, PeerType.Local);
    assert.deepEqual(connectionEvents(host), ["contextCreate(1,0)", "done(0,0)", "log(0,0)", "delete(0,0)"]);
  });
});

describe("statuses and held data (ABI.md §3.3, §8.3)", () => {
  test("any non-zero result is StopIteration; a local reply does not force the result for TCP", async () => {
    const { connection, host } = await open(
      plugin((kit) => ({
        newConnection: { result: 7 },
        downstreamData: { code: rec(1, `(call $proxy_send_local_response (i32.const 403) ${kit.str("")} ${kit.str("no")} (i32.const 0) (i32.const 0) (i32.const -1))`) },
      })),
    );
    assert.equal(connection.newConnectionStatus, FilterStatus.StopIteration);
    assert.equal(connection.upstreamConnected, false, "tcp_proxy is not reached while the filter stops");
    assert.throws(() => connection.sendUpstreamData("x"), /no upstream connection yet/);
    assert.equal(connection.sendDownstreamData("go"), FilterStatus.Continue);
    assert.equal(slotValue(host, 1), WasmResult.Ok);
    assert.equal(connection.upstreamConnected, true);
    assert.equal(connection.downstream.forwardedText, "go");
  });

  test("StopIteration holds the bytes; the next chunk comes with them (cumulative size); Continue passes everything", async () => {
    const { host, connection } = await open(
      plugin(() => ({
        downstreamData: { result: "(i32.lt_u (local.get $size) (i32.const 6))" },
        upstreamData: { result: "(i32.eqz (local.get $eos))" },
      })),
    );
    assert.equal(connection.sendDownstreamData("abc"), FilterStatus.StopIteration);
    assert.equal(connection.downstream.heldText, "abc");
    assert.equal(connection.downstream.forwardedText, "");
    assert.equal(connection.sendDownstreamData("def"), FilterStatus.Continue);
    assert.equal(connection.downstream.heldText, "");
    assert.equal(connection.downstream.forwardedText, "abcdef");
    assert.equal(connection.sendUpstreamData("12"), FilterStatus.StopIteration);
    assert.equal(connection.sendUpstreamData("345"), FilterStatus.StopIteration);
    assert.equal(connection.upstream.heldText, "12345");
    assert.equal(connection.sendUpstreamData("6", true), FilterStatus.Continue);
    assert.equal(connection.upstream.forwardedText, "123456");
    assert.equal(connection.upstream.endStreamForwarded, true);
    assert.deepEqual(connectionEvents(host).slice(2, 7), ["downstreamData(3,0)", "downstreamData(6,0)", "upstreamData(2,0)", "upstreamData(5,0)", "upstreamData(6,1)"]);
  });

  test("proxy_continue_stream(DOWNSTREAM) from a tick releases the held bytes without another on_downstream_data; UPSTREAM is Unimplemented", async () => {
    const { host, connection } = await open(
      plugin(() => ({
        vmStart: { code: TICKS },
        downstreamData: { code: keepContext, result: 1 },
        tick: { code: onKeptContext(`${rec(1, "(call $proxy_continue_stream (i32.const 3))")} ${rec(2, "(call $proxy_continue_stream (i32.const 2))")}`) },
      })),
    );
    connection.sendDownstreamData("held", true);
    assert.equal(connection.downstream.heldText, "held");
    assert.equal(connection.downstream.endStreamForwarded, false);
    host.tick();
    assert.equal(slotValue(host, 1), WasmResult.Unimplemented);
    assert.equal(slotValue(host, 2), WasmResult.Ok);
    assert.equal(connection.downstream.forwardedText, "held");
    assert.equal(connection.downstream.endStreamForwarded, true);
    assert.deepEqual(connectionEvents(host).slice(2), ["downstreamData(4,1)"]);
  });

  test("a continue at new connection connects the upstream later (tcp_proxy reached on resume)", async () => {
    const { host, connection } = await open(
      plugin(() => ({
        vmStart: { code: TICKS },
        newConnection: { code: keepContext, result: 1 },
        tick: { code: onKeptContext(rec(1, "(call $proxy_continue_stream (i32.const 2))")) },
      })),
    );
    assert.equal(connection.upstreamConnected, false);
    host.tick();
    assert.equal(slotValue(host, 1), WasmResult.Ok);
    assert.equal(connection.upstreamConnected, true);
  });

  test("stream types above 3 are BadArgument; HTTP types are a no-op Ok on a connection", async () => {
    const { host } = await open(
      plugin(() => ({
        newConnection: {
          code: [
            rec(1, "(call $proxy_continue_stream (i32.const 4))"),
            rec(2, "(call $proxy_close_stream (i32.const 4))"),
            rec(3, "(call $proxy_continue_stream (i32.const 0))"),
            rec(4, "(call $proxy_close_stream (i32.const 1))"),
          ].join(" "),
        },
      })),
    );
    assert.deepEqual([1, 2, 3, 4].map((i) => slotValue(host, i)), [WasmResult.BadArgument, WasmResult.BadArgument, WasmResult.Ok, WasmResult.Ok]);
  });
});

describe("buffers 2 and 3 (ABI.md §3.4, §5.6)", () => {
  test("edits in the data callbacks are what goes on: prepend, append, replace the first bytes", async () => {
    const { connection } = await open(
      plugin((kit) => ({
        downstreamData: { code: `${setBuffer(kit, 1, 2, 0, 0, "PROXY ")} ${setBuffer(kit, 2, 2, 0xffffffff, 0, "\r\n")}` },
        upstreamData: { code: setBuffer(kit, 3, 3, 0, 3, "HTTP") },
      })),
    );
    connection.sendDownstreamData("hello");
    connection.sendUpstreamData("XYZ/1.1 200");
    assert.equal(connection.downstream.forwardedText, "PROXY hello\r\n");
    assert.equal(connection.upstream.forwardedText, "HTTP/1.1 200");
  });

  test("outside its callback a data buffer is empty: get OK with size 0, set BadArgument", async () => {
    const { host, connection } = await open(
      plugin((kit) => ({
        newConnection: { code: `${bufferStatus(1, 2)} ${setBuffer(kit, 3, 2, 0, 0, "x")} ${bufferStatus(4, 3)} ${setBuffer(kit, 6, 3, 0, 0, "x")}` },
        downstreamData: { code: `${bufferStatus(7, 3)} ${setBuffer(kit, 9, 3, 0, 0, "x")}` },
        upstreamData: { code: `${bufferStatus(10, 2)} ${setBuffer(kit, 12, 2, 0, 0, "x")} ${readBuffer(13, 3)}` },
      })),
    );
    connection.sendDownstreamData("abc");
    connection.sendUpstreamData("up");
    const statuses = [1, 3, 4, 6, 7, 9, 10, 12].map((i) => slotValue(host, i));
    assert.deepEqual(statuses, [WasmResult.Ok, WasmResult.BadArgument, WasmResult.Ok, WasmResult.BadArgument, WasmResult.Ok, WasmResult.BadArgument, WasmResult.Ok, WasmResult.BadArgument]);
    assert.deepEqual([2, 5, 8, 11].map((i) => slotValue(host, i)), [0, 0, 0, 0]);
    assert.equal(slotValue(host, 13), WasmResult.Ok);
    assert.equal(savedText(host, 14), "up");
  });

  test("while the filter holds bytes (StopIteration) Envoy keeps its pointer: a tick reads and edits them through the effective context", async () => {
    const { host, connection } = await open(
      plugin((kit) => ({
        vmStart: { code: TICKS },
        downstreamData: { code: keepContext, result: 1 },
        tick: { code: onKeptContext(`${readBuffer(1, 2)} ${setBuffer(kit, 4, 2, 0xffffffff, 0, "!")}`) },
      })),
    );
    connection.sendDownstreamData("wait");
    host.tick();
    assert.equal(slotValue(host, 1), WasmResult.Ok);
    assert.equal(savedText(host, 2), "wait");
    assert.equal(slotValue(host, 4), WasmResult.Ok);
    assert.equal(connection.downstream.heldText, "wait!");
  });
});

describe("closing from the plugin (ABI.md §5.7)", () => {
  test("proxy_close_stream(DOWNSTREAM) closes after the callback: the bytes are not forwarded, LOCAL close, teardown", async () => {
    const { host, connection } = await open(plugin(() => ({ downstreamData: { code: rec(1, "(call $proxy_close_stream (i32.const 2))") } })));
    assert.equal(connection.sendDownstreamData("bad"), FilterStatus.Continue);
    assert.equal(slotValue(host, 1), WasmResult.Ok);
    assert.equal(connection.downstream.forwardedText, "");
    assert.equal(connection.closed, true);
    assert.equal(connection.closeType, PeerType.Local);
    assert.equal(connection.closeDetails, "wasm_downstream_close");
    assert.deepEqual(connectionEvents(host).slice(2), ["downstreamData(3,0)", "downstreamClose(1,0)", "done(0,0)", "log(0,0)", "delete(0,0)"]);
  });

  test("proxy_close_stream(UPSTREAM) closes the client connection too (Envoy's write-filter callbacks sit on it)", async () => {
    const { host, connection } = await open(plugin(() => ({ newConnection: { code: rec(1, "(call $proxy_close_stream (i32.const 3))") } })));
    assert.equal(connection.newConnectionStatus, FilterStatus.Continue);
    assert.equal(connection.closeDetails, "wasm_upstream_close");
    assert.equal(connection.upstreamConnected, false, "the filter manager stops once the connection is closed");
    assert.deepEqual(connectionEvents(host).slice(2), ["downstreamClose(1,0)", "done(0,0)", "log(0,0)", "delete(0,0)"]);
  });

  test("closing from on_upstream_data at the end of stream: Envoy reports the upstream close after the teardown", async () => {
    const { host, connection } = await open(plugin(() => ({ upstreamData: { code: rec(1, "(call $proxy_close_stream (i32.const 2))") } })));
    connection.sendUpstreamData("bye", true);
    assert.deepEqual(connectionEvents(host).slice(2), ["upstreamData(3,1)", "downstreamClose(1,0)", "done(0,0)", "log(0,0)", "delete(0,0)", "upstreamClose(0,0)"]);
    assert.equal(connection.upstream.forwardedText, "");
  });
});

describe("properties of a connection (ABI.md §7)", () => {
  test("source, destination and connection come from the connection; request headers do not exist; set_property round-trips", async () => {
    const get = (kit: Kit, i: number, path: string[]) =>
      `${rec(i, `(call $proxy_get_property ${kit.str(path.join("\0"))} (i32.const ${OUT_PTR}) (i32.const ${OUT_SIZE}))`)} ${saveOut(i + 1)}`;
    const bytes = plugin((kit) => ({
      newConnection: {
        code: [
          get(kit, 1, ["source", "address"]),
          get(kit, 4, ["destination", "address"]),
          get(kit, 7, ["connection", "requested_server_name"]),
          get(kit, 10, ["plugin_root_id"]),
          rec(13, `(call $proxy_set_property ${kit.str("tenant")} ${kit.str("blue")})`),
          get(kit, 14, ["tenant"]),
          get(kit, 17, ["request", "headers", "host"]),
          get(kit, 20, ["connection_id"]),
          get(kit, 23, ["connection", "mtls"]),
        ].join(" "),
      },
    }));
    const host = await startPlugin(bytes, { rootId: "tcp" });
    host.newTcpConnection({ sourceAddress: "[2001:db8::7]:40000", destinationAddress: "10.0.0.5:5432", requestedServerName: "db.example.com", mtls: true });
    assert.equal(savedText(host, 2), "[2001:db8::7]:40000");
    assert.equal(savedText(host, 5), "10.0.0.5:5432");
    assert.equal(savedText(host, 8), "db.example.com");
    assert.equal(savedText(host, 11), "tcp");
    assert.equal(slotValue(host, 13), WasmResult.Ok);
    assert.equal(savedText(host, 15), "blue");
    assert.equal(slotValue(host, 17), WasmResult.NotFound);
    assert.equal(slotValue(host, 20), WasmResult.Ok);
    assert.equal(slotValue(host, 22), 8, "connection_id is a uint (8 bytes)");
    assert.equal(slotValue(host, 23), WasmResult.Ok);
    assert.equal(slotValue(host, 25), 1, "connection.mtls is a bool (1 byte)");
  });
});

describe("a failed VM (ABI.md §8.2, §10: CHECK_FAIL for network filters)", () => {
  const trapping = plugin(() => ({ downstreamData: { code: "(if (i32.eq (local.get $size) (i32.const 4)) (then unreachable))" } }));

  test("fail closed: the trapping callback answers StopIteration and Envoy closes the connection; no more calls; later connections close at once", async () => {
    const { host, connection } = await open(trapping, { throwOnTrap: false });
    assert.equal(connection.sendDownstreamData("boom"), FilterStatus.StopIteration);
    assert.equal(host.state, "failed");
    assert.equal(connection.closed, true);
    assert.equal(connection.closeType, PeerType.Local);
    assert.equal(connection.downstream.forwardedText, "");
    assert.deepEqual(connectionEvents(host), ["contextCreate(1,0)", "newConnection(0,0)", "downstreamData(4,0)"]);
    assert.match(host.logsAt(LogLevel.Error)[0] ?? "", /proxy_on_downstream_data failed/);

    const later = host.newTcpConnection();
    assert.equal(later.contextId, 0);
    assert.equal(later.newConnectionStatus, FilterStatus.StopIteration);
    assert.equal(later.closed, true);
    assert.equal(later.closeType, PeerType.Local);
    assert.equal(later.sendDownstreamData("x"), FilterStatus.StopIteration);
    assert.equal(connectionEvents(host).length, 3);
  });

  test("fail open: the callbacks answer Continue and the bytes pass untouched; later connections get no filter at all", async () => {
    const { host, connection } = await open(trapping, { failStrategy: "failOpen", throwOnTrap: false });
    assert.equal(connection.sendDownstreamData("boom"), FilterStatus.Continue);
    assert.equal(connection.downstream.forwardedText, "boom");
    assert.equal(connection.sendUpstreamData("ok", true), FilterStatus.Continue);
    assert.equal(connection.upstream.forwardedText, "ok");
    connection.closeDownstream();
    assert.deepEqual(connectionEvents(host), ["contextCreate(1,0)", "newConnection(0,0)", "downstreamData(4,0)"]);

    const later = host.newTcpConnection();
    assert.equal(later.newConnectionStatus, FilterStatus.Continue);
    assert.equal(later.sendDownstreamData("fine", true), FilterStatus.Continue);
    assert.equal(later.downstream.forwardedText, "fine");
    assert.equal(later.downstream.endStreamForwarded, true);
    assert.equal(connectionEvents(host).length, 3);
  });

  test("connections need a started plugin", async () => {
    const host = await (await import("../runtime-mock/index.js")).Host.load(plugin(() => ({})));
    assert.throws(() => host.newTcpConnection(), /call start\(\)/);
  });
});
