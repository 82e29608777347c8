// WASI as cpp-host implements it (ABI.md §5.1, §5.2, §5.16), called directly against a real
// WebAssembly.Memory, then through a real module.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import wabtInit from "wabt";
import { PluginMemory } from "../runtime-mock/wasm/memory.js";
import { createWasiFunctions, RANDOM_GET_MAX_BYTES, type WasiHost } from "../runtime-mock/wasm/wasi.js";
import { checkImports, hostFunctionTypes, WASI_FUNCTIONS, WASI_MODULES } from "../runtime-mock/wasm/signatures.js";
import { inspectModule } from "../runtime-mock/wasm/module.js";
import { LogLevel, WasiErrno } from "../runtime-mock/wasm/types.js";

const PAGE = 65536;
const REALTIME = 1_700_000_000_123_456_789n;
const MONOTONIC = 42_000_000_007n;

interface Fixture {
  wasi: ReturnType<typeof createWasiFunctions>;
  memory: PluginMemory;
  bytes: Uint8Array;
  view: DataView;
  logs: Array<[LogLevel, string]>;
  randomCalls: number[];
}

function setup(env: Record<string, string> = {}, pages = 1): Fixture {
  const raw = new WebAssembly.Memory({ initial: pages });
  const memory = new PluginMemory();
  memory.bind(raw, undefined);
  const logs: Array<[LogLevel, string]> = [];
  const randomCalls: number[] = [];
  const host: WasiHost = {
    memory,
    log: (level, message) => void logs.push([level, message]),
    environment: () => env,
    realtimeNs: () => REALTIME,
    monotonicNs: () => MONOTONIC,
    randomBytes: (n) => {
      randomCalls.push(n);
      return new Uint8Array(n).fill(0xab);
    },
  };
  return { wasi: createWasiFunctions(host), memory, bytes: new Uint8Array(raw.buffer), view: new DataView(raw.buffer), logs, randomCalls };
}

const text = (s: string) => new TextEncoder().encode(s);

/** Writes iovecs at `at` pointing at the given chunks (placed from `dataAt` on). */
function iovecs(f: Fixture, at: number, dataAt: number, chunks: string[]): void {
  chunks.forEach((chunk, i) => {
    f.bytes.set(text(chunk), dataAt);
    f.view.setUint32(at + 8 * i, dataAt, true);
    f.view.setUint32(at + 8 * i + 4, chunk.length, true);
    dataAt += chunk.length;
  });
}

const SENTINEL = 0xdeadbeef;

describe("fd_write (ABI.md §5.1)", () => {
  test('"hello\\n" on fd 1 logs Info "hello" and reports 6 bytes', () => {
    const f = setup();
    iovecs(f, 100, 200, ["hello\n"]);
    assert.equal(f.wasi.fd_write!(1, 100, 1, 300), WasiErrno.Success);
    assert.deepEqual(f.logs, [[LogLevel.Info, "hello"]]);
    assert.equal(f.view.getUint32(300, true), 6);
  });

  test("fd 2 logs at Error", () => {
    const f = setup();
    iovecs(f, 100, 200, ["boom"]);
    assert.equal(f.wasi.fd_write!(2, 100, 1, 300), WasiErrno.Success);
    assert.deepEqual(f.logs, [[LogLevel.Error, "boom"]]);
  });

  test("any other fd is BADF (8), nothing logged or written", () => {
    const f = setup();
    iovecs(f, 100, 200, ["x"]);
    f.view.setUint32(300, SENTINEL, true);
    for (const fd of [0, 3, -1]) assert.equal(f.wasi.fd_write!(fd, 100, 1, 300), WasiErrno.BadF);
    assert.deepEqual(f.logs, []);
    assert.equal(f.view.getUint32(300, true), SENTINEL);
  });

  test("iovecs are concatenated and only ONE trailing newline is dropped", () => {
    const f = setup();
    iovecs(f, 100, 200, ["hel", "", "lo\n", "\n"]);
    assert.equal(f.wasi.fd_write!(1, 100, 4, 300), WasiErrno.Success);
    assert.deepEqual(f.logs, [[LogLevel.Info, "hello\n"]]);
    assert.equal(f.view.getUint32(300, true), 7);
  });

  test("an empty iovec's pointer is never read", () => {
    const f = setup();
    iovecs(f, 100, 200, ["ok"]);
    f.view.setUint32(108, 0xfffffff0, true); // second iovec: bad pointer, length 0
    f.view.setUint32(112, 0, true);
    assert.equal(f.wasi.fd_write!(1, 100, 2, 300), WasiErrno.Success);
    assert.deepEqual(f.logs, [[LogLevel.Info, "ok"]]);
  });

  test("no data: nothing logged, nwritten 0", () => {
    const f = setup();
    f.view.setUint32(300, SENTINEL, true);
    assert.equal(f.wasi.fd_write!(1, 100, 0, 300), WasiErrno.Success);
    iovecs(f, 100, 200, [""]);
    assert.equal(f.wasi.fd_write!(1, 100, 1, 300), WasiErrno.Success);
    assert.deepEqual(f.logs, []);
    assert.equal(f.view.getUint32(300, true), 0);
  });

  test("a bad iovec array or buffer pointer is FAULT (21) and logs nothing", () => {
    const f = setup();
    f.view.setUint32(300, SENTINEL, true);
    assert.equal(f.wasi.fd_write!(1, PAGE - 4, 1, 300), WasiErrno.Fault);
    assert.equal(f.wasi.fd_write!(1, -8, 1, 300), WasiErrno.Fault); // 0xfffffff8 as a signed i32
    assert.equal(f.wasi.fd_write!(1, 0, 0x7fffffff, 300), WasiErrno.Fault);
    iovecs(f, 100, 200, ["a"]);
    f.view.setUint32(100, PAGE - 1, true);
    f.view.setUint32(104, 2, true);
    assert.equal(f.wasi.fd_write!(1, 100, 1, 300), WasiErrno.Fault);
    assert.deepEqual(f.logs, []);
    assert.equal(f.view.getUint32(300, true), SENTINEL);
  });

  test("an iovec array crossing 4 GiB faults instead of wrapping to address 0", () => {
    const f = setup();
    iovecs(f, 0, 200, ["wrapped"]);
    assert.equal(f.wasi.fd_write!(1, 0xfffffff8 | 0, 2, 300), WasiErrno.Fault);
    assert.deepEqual(f.logs, []);
  });

  test("a bad nwritten pointer is FAULT, after the message was logged (cpp-host order)", () => {
    const f = setup();
    iovecs(f, 100, 200, ["late\n"]);
    assert.equal(f.wasi.fd_write!(1, 100, 1, PAGE - 2), WasiErrno.Fault);
    assert.deepEqual(f.logs, [[LogLevel.Info, "late"]]);
  });

  test("UTF-8 text is decoded; nwritten counts bytes", () => {
    const f = setup();
    f.bytes.set(text("héllo\n"), 200);
    f.view.setUint32(100, 200, true);
    f.view.setUint32(104, 7, true);
    assert.equal(f.wasi.fd_write!(1, 100, 1, 300), WasiErrno.Success);
    assert.deepEqual(f.logs, [[LogLevel.Info, "héllo"]]);
    assert.equal(f.view.getUint32(300, true), 7);
  });

  test("fd_pwrite behaves like fd_write on fd 1/2 (offset ignored), BADF elsewhere", () => {
    const f = setup();
    iovecs(f, 100, 200, ["p\n"]);
    assert.equal(f.wasi.fd_pwrite!(2, 100, 1, 123n, 300), WasiErrno.Success);
    assert.deepEqual(f.logs, [[LogLevel.Error, "p"]]);
    assert.equal(f.view.getUint32(300, true), 2);
    assert.equal(f.wasi.fd_pwrite!(5, 100, 1, 0n, 300), WasiErrno.BadF);
  });
});

describe("clocks (ABI.md §5.2)", () => {
  test("clock 0 is realtime, clock 1 monotonic, written as u64", () => {
    const f = setup();
    assert.equal(f.wasi.clock_time_get!(0, 1000n, 400), WasiErrno.Success);
    assert.equal(f.view.getBigUint64(400, true), REALTIME);
    assert.equal(f.wasi.clock_time_get!(1, 0n, 408), WasiErrno.Success);
    assert.equal(f.view.getBigUint64(408, true), MONOTONIC);
  });

  test("other clocks are NOTSUP (58) and nothing is written", () => {
    const f = setup();
    for (const id of [2, 3, -1]) assert.equal(f.wasi.clock_time_get!(id, 0n, 400), WasiErrno.NotSup);
    assert.equal(f.view.getBigUint64(400, true), 0n);
  });

  test("a bad result pointer is FAULT", () => {
    const f = setup();
    assert.equal(f.wasi.clock_time_get!(0, 0n, PAGE - 4), WasiErrno.Fault);
    assert.equal(f.wasi.clock_time_get!(1, 0n, -1), WasiErrno.Fault);
  });

  test("clock_res_get answers 1 ns for clocks 0 and 1", () => {
    const f = setup();
    assert.equal(f.wasi.clock_res_get!(1, 400), WasiErrno.Success);
    assert.equal(f.view.getBigUint64(400, true), 1n);
    assert.equal(f.wasi.clock_res_get!(2, 400), WasiErrno.NotSup);
    assert.equal(f.wasi.clock_res_get!(0, PAGE), WasiErrno.Fault);
  });
});

describe("random_get", () => {
  test("65536 bytes is the maximum", () => {
    const f = setup({}, 2);
    assert.equal(f.wasi.random_get!(16, RANDOM_GET_MAX_BYTES), WasiErrno.Success);
    assert.equal(f.bytes[16], 0xab);
    assert.equal(f.bytes[16 + RANDOM_GET_MAX_BYTES - 1], 0xab);
    assert.equal(f.bytes[16 + RANDOM_GET_MAX_BYTES], 0);
  });

  test("65537 bytes is INVAL (28), checked before anything else", () => {
    const f = setup({}, 2);
    assert.equal(f.wasi.random_get!(-1, RANDOM_GET_MAX_BYTES + 1), WasiErrno.Inval);
    assert.deepEqual(f.randomCalls, []);
  });

  test("0 bytes succeeds without generating anything, even at a bad pointer", () => {
    const f = setup();
    assert.equal(f.wasi.random_get!(-1, 0), WasiErrno.Success);
    assert.deepEqual(f.randomCalls, []);
  });

  test("a buffer outside memory is FAULT", () => {
    const f = setup();
    assert.equal(f.wasi.random_get!(PAGE - 8, 16), WasiErrno.Fault);
    assert.equal(f.bytes[PAGE - 8], 0);
  });
});

describe("environment and arguments", () => {
  const env = { A: "1", PATH: "/usr/bin", "É": "ü" };
  const entries = ["A=1\0", "PATH=/usr/bin\0", "É=ü\0"].map(text);

  test("environ_sizes_get: count and total bytes of KEY=VALUE\\0", () => {
    const f = setup(env);
    assert.equal(f.wasi.environ_sizes_get!(500, 504), WasiErrno.Success);
    assert.equal(f.view.getUint32(500, true), 3);
    assert.equal(f.view.getUint32(504, true), entries.reduce((n, e) => n + e.length, 0));
  });

  test("environ_get: pointer array plus packed strings", () => {
    const f = setup(env);
    assert.equal(f.wasi.environ_get!(600, 700), WasiErrno.Success);
    let at = 700;
    entries.forEach((entry, i) => {
      assert.equal(f.view.getUint32(600 + 4 * i, true), at);
      assert.deepEqual(f.bytes.slice(at, at + entry.length), entry);
      at += entry.length;
    });
  });

  test("an empty environment is 0 / 0 and environ_get writes nothing", () => {
    const f = setup();
    f.view.setUint32(500, SENTINEL, true);
    assert.equal(f.wasi.environ_sizes_get!(500, 504), WasiErrno.Success);
    assert.equal(f.view.getUint32(500, true), 0);
    assert.equal(f.view.getUint32(504, true), 0);
    assert.equal(f.wasi.environ_get!(-1, -1), WasiErrno.Success);
  });

  test("bad pointers are FAULT", () => {
    const f = setup(env);
    assert.equal(f.wasi.environ_sizes_get!(PAGE, 504), WasiErrno.Fault);
    assert.equal(f.wasi.environ_sizes_get!(500, PAGE - 3), WasiErrno.Fault);
    assert.equal(f.wasi.environ_get!(PAGE - 4, 700), WasiErrno.Fault); // second slot is outside
    assert.equal(f.wasi.environ_get!(600, PAGE - 5), WasiErrno.Fault); // strings run out of memory
  });

  test("arguments: zero of them", () => {
    const f = setup();
    f.view.setUint32(500, SENTINEL, true);
    f.view.setUint32(504, SENTINEL, true);
    assert.equal(f.wasi.args_sizes_get!(500, 504), WasiErrno.Success);
    assert.equal(f.view.getUint32(500, true), 0);
    assert.equal(f.view.getUint32(504, true), 0);
    assert.equal(f.wasi.args_sizes_get!(500, PAGE), WasiErrno.Fault);
    assert.equal(f.wasi.args_get!(-1, -1), WasiErrno.Success);
  });
});

describe("process, files, paths, sockets (ABI.md §5.16)", () => {
  test("proc_exit logs and returns: it does not trap", () => {
    const f = setup();
    assert.equal(f.wasi.proc_exit!(3), undefined);
    assert.deepEqual(f.logs, [[LogLevel.Trace, "wasi_unstable proc_exit"]]);
  });

  test("fd_seek and fd_close log an error and succeed", () => {
    const f = setup();
    assert.equal(f.wasi.fd_seek!(1, 0n, 0, 400), WasiErrno.Success);
    assert.equal(f.wasi.fd_close!(1), WasiErrno.Success);
    assert.deepEqual(f.logs, [[LogLevel.Trace, "wasi_unstable fd_seek"], [LogLevel.Trace, "wasi_unstable fd_close"]]);
  });

  test("fd_fdstat_get: 24 bytes with rights_base FD_WRITE on stdout/stderr; BADF elsewhere", () => {
    const f = setup();
    f.bytes.fill(0xff, 800, 824);
    assert.equal(f.wasi.fd_fdstat_get!(2, 800), WasiErrno.Success);
    assert.equal(f.view.getBigUint64(800, true), 0n);
    assert.equal(f.view.getBigUint64(808, true), 64n);
    assert.equal(f.view.getBigUint64(816, true), 0n);
    assert.equal(f.wasi.fd_fdstat_get!(3, 800), WasiErrno.BadF);
    // ⚠ cpp-host ignores a failed write here
    assert.equal(f.wasi.fd_fdstat_get!(1, PAGE - 8), WasiErrno.Success);
  });

  test("fd_tell: 0 on stdout/stderr, BADF elsewhere, FAULT on a bad pointer", () => {
    const f = setup();
    f.view.setBigUint64(400, 99n, true);
    assert.equal(f.wasi.fd_tell!(1, 400), WasiErrno.Success);
    assert.equal(f.view.getBigUint64(400, true), 0n);
    assert.equal(f.wasi.fd_tell!(4, 400), WasiErrno.BadF);
    assert.equal(f.wasi.fd_tell!(2, PAGE - 4), WasiErrno.Fault);
  });

  test("stdio-only stubs", () => {
    const f = setup();
    for (const [name, args] of [
      ["fd_fdstat_set_rights", [0n, 0n]],
      ["fd_allocate", [0n, 0n]],
      ["fd_datasync", []],
      ["fd_sync", []],
      ["fd_filestat_set_size", [0n]],
      ["fd_filestat_set_times", [0n, 0n, 0]],
    ] as const) {
      assert.equal(f.wasi[name]!(1, ...args), WasiErrno.Success, name);
      assert.equal(f.wasi[name]!(2, ...args), WasiErrno.Success, name);
      assert.equal(f.wasi[name]!(3, ...args), WasiErrno.BadF, name);
    }
  });

  test("fixed answers", () => {
    const f = setup();
    assert.equal(f.wasi.fd_read!(0, 0, 0, 0), WasiErrno.NoSys);
    assert.equal(f.wasi.fd_pread!(0, 0, 0, 0n, 0), WasiErrno.NoSys);
    assert.equal(f.wasi.fd_fdstat_set_flags!(1, 0), WasiErrno.NoSys);
    assert.equal(f.wasi.fd_advise!(9, 0n, 0n, 0), WasiErrno.Success);
    assert.equal(f.wasi.fd_filestat_get!(1, 0), WasiErrno.BadF);
    assert.equal(f.wasi.fd_prestat_get!(3, 0), WasiErrno.BadF);
    assert.equal(f.wasi.fd_prestat_dir_name!(3, 0, 0), WasiErrno.NoSys);
    assert.equal(f.wasi.fd_renumber!(1, 5), WasiErrno.NotSup);
    assert.equal(f.wasi.fd_renumber!(7, 5), WasiErrno.BadF);
    assert.equal(f.wasi.path_open!(3, 0, 0, 0, 0, 0n, 0n, 0, 0), WasiErrno.NoEnt);
    for (const name of ["path_create_directory", "path_filestat_get", "path_filestat_set_times", "path_link", "path_remove_directory", "path_rename", "path_symlink", "path_unlink_file", "sock_shutdown"]) {
      assert.equal(f.wasi[name]!(3, 0, 0, 0, 0, 0, 0), WasiErrno.NotSup, name);
    }
    assert.equal(f.wasi.sched_yield!(), WasiErrno.Success);
  });

  test("calls with out-params zero them, and FAULT on a bad pointer", () => {
    const f = setup();
    const zeroed = (ptr: number, call: () => number | void, errno: number) => {
      f.view.setUint32(ptr, SENTINEL, true);
      assert.equal(call(), errno);
      assert.equal(f.view.getUint32(ptr, true), 0);
    };
    zeroed(400, () => f.wasi.fd_readdir!(3, 0, 0, 0n, 400), WasiErrno.NotDir);
    zeroed(400, () => f.wasi.path_readlink!(3, 0, 0, 0, 0, 400), WasiErrno.NotSup);
    zeroed(400, () => f.wasi.sock_accept!(3, 0, 400), WasiErrno.NotSup);
    zeroed(400, () => f.wasi.sock_send!(3, 0, 0, 0, 400), WasiErrno.NotSup);
    zeroed(400, () => f.wasi.poll_oneoff!(0, 0, 1, 400), WasiErrno.Success);
    f.view.setUint32(404, SENTINEL, true);
    zeroed(400, () => f.wasi.sock_recv!(3, 0, 0, 0, 400, 404), WasiErrno.NotSup);
    assert.equal(f.view.getUint16(404, true), 0); // roflags is a u16
    assert.equal(f.view.getUint16(406, true), 0xdead);

    assert.equal(f.wasi.fd_readdir!(3, 0, 0, 0n, PAGE), WasiErrno.Fault);
    assert.equal(f.wasi.path_readlink!(3, 0, 0, 0, 0, -4), WasiErrno.Fault);
    assert.equal(f.wasi.sock_accept!(3, 0, PAGE - 1), WasiErrno.Fault);
    assert.equal(f.wasi.sock_recv!(3, 0, 0, 0, 400, PAGE - 1), WasiErrno.Fault);
    assert.equal(f.wasi.sock_send!(3, 0, 0, 0, PAGE), WasiErrno.Fault);
    assert.equal(f.wasi.poll_oneoff!(0, 0, 1, PAGE), WasiErrno.Fault);
  });

  test("implements exactly the functions the host registers", () => {
    assert.deepEqual(Object.keys(setup().wasi).sort(), Object.keys(WASI_FUNCTIONS).sort());
  });

  test("property: never throws; always an errno, or nothing for proc_exit", () => {
    const f = setup({ K: "v" });
    const errnos = new Set<number>(Object.values(WasiErrno).filter((v): v is number => typeof v === "number"));
    const i32 = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -16, max: PAGE + 16 }));
    for (const [name, type] of Object.entries(WASI_FUNCTIONS)) {
      const args = fc.tuple(...type.params.map((p) => (p === "i64" ? fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) : i32)));
      fc.assert(
        fc.property(args, (values) => {
          const result = f.wasi[name]!(...values);
          if (type.results.length === 0) assert.equal(result, undefined);
          else assert.ok(errnos.has(result as number), `${name} returned ${String(result)}`);
        }),
        { numRuns: 50 },
      );
    }
  });
});

const wabt = await wabtInit();

describe("through a real module", () => {
  test("a WAT plugin links against the host table and its WASI calls work", async () => {
    const bytes = new Uint8Array(wabt.parseWat("plugin.wat", `(module
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_unstable" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
      (import "wasi_unstable" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "\\20\\00\\00\\00\\0c\\00\\00\\00")  ;; iovec { buf: 32, len: 12 }
      (data (i32.const 32) "from wasm!\\n\\n")
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) i32.const 0)
      (func (export "write") (result i32) (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
      (func (export "clock") (param i32) (result i32) (call $clock (local.get 0) (i64.const 1) (i32.const 48)))
      (func (export "random") (param i32) (result i32) (call $random (i32.const 64) (local.get 0)))
      (func (export "exit_then_continue") (result i32) (call $exit (i32.const 1)) (i32.const 7)))`).toBinary({}).buffer);

    checkImports(inspectModule(bytes));

    const memory = new PluginMemory();
    const logs: Array<[LogLevel, string]> = [];
    const wasi = createWasiFunctions({
      memory,
      log: (level, message) => void logs.push([level, message]),
      environment: () => ({}),
      realtimeNs: () => REALTIME,
      monotonicNs: () => MONOTONIC,
      randomBytes: (n) => new Uint8Array(n).fill(7),
    });
    // env: stubs for every env name of the table; WASI: the same object under both names.
    const env = Object.fromEntries(
      [...hostFunctionTypes("0.2.1").keys()].filter((k) => k.startsWith("env.")).map((k) => [k.slice(4), () => 0]),
    );
    const imports = { env, [WASI_MODULES[0]]: wasi, [WASI_MODULES[1]]: wasi };
    const { instance } = await WebAssembly.instantiate(bytes, imports);
    const exports = instance.exports as Record<string, (...args: number[]) => number>;
    const raw = instance.exports.memory as WebAssembly.Memory;
    memory.bind(raw, exports.malloc);
    const view = new DataView(raw.buffer);

    assert.equal(exports.write!(), WasiErrno.Success);
    assert.deepEqual(logs, [[LogLevel.Info, "from wasm!\n"]]);
    assert.equal(view.getUint32(8, true), 12);

    assert.equal(exports.clock!(0), WasiErrno.Success);
    assert.equal(view.getBigUint64(48, true), REALTIME);
    assert.equal(exports.clock!(2), WasiErrno.NotSup);

    assert.equal(exports.random!(65537), WasiErrno.Inval);
    assert.equal(exports.random!(4), WasiErrno.Success);
    assert.equal(view.getUint32(64, true), 0x07070707);

    assert.equal(exports.exit_then_continue!(), 7);
    assert.deepEqual(logs.at(-1), [LogLevel.Trace, "wasi_unstable proc_exit"]);
  });
});
