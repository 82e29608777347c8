// WASI preview1 as proxy-wasm-cpp-host implements it (ABI.md §5.1, §5.2, §5.16): stdout and
// stderr go to the log, clocks, random bytes and the VM's environment work, every file,
// path and socket call answers a fixed errno. The same table is registered under both
// `wasi_snapshot_preview1` and `wasi_unstable`; the types are in signatures.ts.
//
// Calling convention: i32 arguments arrive as signed JS numbers (pointers are turned
// unsigned with `>>> 0`), i64 arguments as BigInt. A host function never throws: memory
// outside the module is errno FAULT (21), as in cpp-host.
import type { PluginMemory } from "./memory.js";
import { LogLevel, WasiErrno } from "./types.js";
import { utf8Bytes } from "./utf8.js";

export interface WasiHost {
  memory: PluginMemory;
  log(level: LogLevel, message: string): void;
  environment(): Record<string, string>;
  /** WASI clock 0: wall-clock time, ns since the epoch. */
  realtimeNs(): bigint;
  /** WASI clock 1. */
  monotonicNs(): bigint;
  randomBytes(length: number): Uint8Array;
}

export type WasiFunction = (...args: any[]) => number | void;

/** cpp-host PROXY_WASM_HOST_WASI_RANDOM_GET_MAX_SIZE_BYTES. */
export const RANDOM_GET_MAX_BYTES = 65536;
const IOVEC_SIZE = 8; // { u32 buf, u32 buf_len }
const RIGHTS_FD_WRITE = 64n;
const ADDRESS_LIMIT = 2 ** 32;

const utf8 = new TextDecoder("utf-8");

export function createWasiFunctions(host: WasiHost): Record<string, WasiFunction> {
  // Pointer arithmetic happens in plain numbers; an address past 4 GiB must fault rather
  // than wrap around (PluginMemory would reduce it modulo 2^32).
  const inRange = (ptr: number) => ptr < ADDRESS_LIMIT;
  const writeU32 = (ptr: number, value: number) => inRange(ptr) && host.memory.writeU32(ptr, value);
  const writeU64 = (ptr: number, value: bigint) => inRange(ptr) && host.memory.writeU64(ptr, value);
  const write = (ptr: number, data: Uint8Array) => inRange(ptr) && host.memory.write(ptr, data);
  const readU32 = (ptr: number) => (inRange(ptr) ? host.memory.readU32(ptr) : undefined);

  const isStdio = (fd: number) => fd >>> 0 === 1 || fd >>> 0 === 2;
  const errnoIf = (ok: boolean, errno: WasiErrno) => (ok ? errno : WasiErrno.Fault);

  /** Concatenates the iovecs, or undefined when any of them is outside memory. */
  const gather = (iovs: number, count: number): Uint8Array | undefined => {
    // cpp-host reads the iovecs one by one and faults on the first one outside memory;
    // bounding the whole array first gives the same answer without walking a bogus count.
    if (iovs + count * IOVEC_SIZE > host.memory.byteLength) return undefined;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      const at = iovs + i * IOVEC_SIZE;
      const len = readU32(at + 4)!;
      if (len === 0) continue; // an empty iovec's pointer is never looked at
      const part = host.memory.read(readU32(at)!, len);
      if (!part) return undefined;
      parts.push(part);
      total += len;
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  };

  /** fd_write/fd_pwrite: stdout → Info, stderr → Error, one trailing "\n" dropped. */
  const writeToLog = (fd: number, iovs: number, count: number, nwrittenPtr: number): number => {
    const level = fd >>> 0 === 1 ? LogLevel.Info : fd >>> 0 === 2 ? LogLevel.Error : undefined;
    if (level === undefined) return WasiErrno.BadF;
    const data = gather(iovs >>> 0, count >>> 0);
    if (!data) return WasiErrno.Fault;
    if (data.length > 0) {
      const end = data[data.length - 1] === 0x0a ? data.length - 1 : data.length;
      host.log(level, utf8.decode(data.subarray(0, end)));
    }
    // nwritten counts the bytes before the newline was dropped; written after logging.
    return errnoIf(writeU32(nwrittenPtr >>> 0, data.length), WasiErrno.Success);
  };

  /** `KEY=VALUE\0` for each VM environment variable. */
  const environ = () => Object.entries(host.environment()).map(([k, v]) => utf8Bytes(`${k}=${v}\0`));

  /** Envoy reports these through `Context::error()`, which it logs at trace level. */
  const traceError = (message: string): number => {
    host.log(LogLevel.Trace, message);
    return WasiErrno.Success;
  };

  const stdioOnly = (fd: number) => (isStdio(fd) ? WasiErrno.Success : WasiErrno.BadF);
  const notSupported = () => WasiErrno.NotSup;

  return {
    fd_write: (fd: number, iovs: number, count: number, nwrittenPtr: number) => writeToLog(fd, iovs, count, nwrittenPtr),
    fd_pwrite: (fd: number, iovs: number, count: number, _offset: bigint, nwrittenPtr: number) =>
      writeToLog(fd, iovs, count, nwrittenPtr),
    fd_read: () => WasiErrno.NoSys,
    fd_pread: () => WasiErrno.NoSys,
    fd_seek: () => traceError("wasi_unstable fd_seek"),
    fd_close: () => traceError("wasi_unstable fd_close"),

    fd_fdstat_get: (fd: number, statPtr: number) => {
      if (!isStdio(fd)) return WasiErrno.BadF;
      // 24-byte fdstat: filetype/flags 0, rights_base = FD_WRITE, rights_inheriting 0.
      const stat = new Uint8Array(24);
      new DataView(stat.buffer).setBigUint64(8, RIGHTS_FD_WRITE, true);
      write(statPtr >>> 0, stat); // ⚠ cpp-host ignores a failed write here and still succeeds
      return WasiErrno.Success;
    },
    fd_fdstat_set_flags: () => WasiErrno.NoSys,
    fd_fdstat_set_rights: stdioOnly,
    fd_allocate: stdioOnly,
    fd_datasync: stdioOnly,
    fd_sync: stdioOnly,
    fd_filestat_set_size: stdioOnly,
    fd_filestat_set_times: stdioOnly,
    fd_advise: () => WasiErrno.Success,
    // BADF on every fd also tells wasi-libc there are no preopened directories.
    fd_filestat_get: () => WasiErrno.BadF,
    fd_prestat_get: () => WasiErrno.BadF,
    fd_prestat_dir_name: () => WasiErrno.NoSys,
    fd_readdir: (_fd: number, _buf: number, _len: number, _cookie: bigint, bufusedPtr: number) =>
      errnoIf(writeU32(bufusedPtr >>> 0, 0), WasiErrno.NotDir),
    fd_renumber: (fd: number) => (isStdio(fd) ? WasiErrno.NotSup : WasiErrno.BadF),
    fd_tell: (fd: number, offsetPtr: number) =>
      isStdio(fd) ? errnoIf(writeU64(offsetPtr >>> 0, 0n), WasiErrno.Success) : WasiErrno.BadF,

    path_open: () => WasiErrno.NoEnt,
    path_create_directory: notSupported,
    path_filestat_get: notSupported,
    path_filestat_set_times: notSupported,
    path_link: notSupported,
    path_readlink: (_fd: number, _path: number, _pathLen: number, _buf: number, _bufLen: number, bufusedPtr: number) =>
      errnoIf(writeU32(bufusedPtr >>> 0, 0), WasiErrno.NotSup),
    path_remove_directory: notSupported,
    path_rename: notSupported,
    path_symlink: notSupported,
    path_unlink_file: notSupported,

    sock_accept: (_fd: number, _flags: number, fdPtr: number) => errnoIf(writeU32(fdPtr >>> 0, 0), WasiErrno.NotSup),
    sock_recv: (_fd: number, _data: number, _len: number, _flags: number, datalenPtr: number, roflagsPtr: number) =>
      errnoIf(writeU32(datalenPtr >>> 0, 0) && write(roflagsPtr >>> 0, new Uint8Array(2)), WasiErrno.NotSup),
    sock_send: (_fd: number, _data: number, _len: number, _flags: number, datalenPtr: number) =>
      errnoIf(writeU32(datalenPtr >>> 0, 0), WasiErrno.NotSup),
    sock_shutdown: notSupported,

    environ_sizes_get: (countPtr: number, sizePtr: number) => {
      const entries = environ();
      const size = entries.reduce((sum, e) => sum + e.length, 0);
      if (!writeU32(countPtr >>> 0, entries.length)) return WasiErrno.Fault;
      return errnoIf(writeU32(sizePtr >>> 0, size), WasiErrno.Success);
    },
    environ_get: (arrayPtr: number, bufPtr: number) => {
      let slot = arrayPtr >>> 0;
      let at = bufPtr >>> 0;
      for (const entry of environ()) {
        if (!writeU32(slot, at) || !write(at, entry)) return WasiErrno.Fault;
        slot += 4;
        at += entry.length;
      }
      return WasiErrno.Success;
    },
    args_sizes_get: (argcPtr: number, bufSizePtr: number) =>
      errnoIf(writeU32(argcPtr >>> 0, 0) && writeU32(bufSizePtr >>> 0, 0), WasiErrno.Success),
    args_get: () => WasiErrno.Success,

    clock_time_get: (clockId: number, _precision: bigint, timePtr: number) => {
      const id = clockId >>> 0;
      if (id !== 0 && id !== 1) return WasiErrno.NotSup; // no process/thread CPU clocks
      const now = id === 0 ? host.realtimeNs() : host.monotonicNs();
      return errnoIf(writeU64(timePtr >>> 0, now), WasiErrno.Success);
    },
    clock_res_get: (clockId: number, resolutionPtr: number) => {
      const id = clockId >>> 0;
      if (id !== 0 && id !== 1) return WasiErrno.NotSup;
      return errnoIf(writeU64(resolutionPtr >>> 0, 1n), WasiErrno.Success);
    },
    random_get: (bufPtr: number, length: number) => {
      const len = length >>> 0;
      if (len > RANDOM_GET_MAX_BYTES) return WasiErrno.Inval;
      if (len === 0) return WasiErrno.Success;
      return errnoIf(write(bufPtr >>> 0, host.randomBytes(len)), WasiErrno.Success);
    },
    sched_yield: () => WasiErrno.Success,
    // The Go runtime needs it to exist; nothing is ever ready.
    poll_oneoff: (_in: number, _out: number, _count: number, neventsPtr: number) =>
      errnoIf(writeU32(neventsPtr >>> 0, 0), WasiErrno.Success),
    // ⚠ Returns to the caller: code after proc_exit keeps running (verified in cpp-host).
    proc_exit: (_code: number): void => {
      host.log(LogLevel.Trace, "wasi_unstable proc_exit");
    },
  };
}
