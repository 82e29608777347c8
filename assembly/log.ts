// Logging through the host. The host's level is fetched at most once per stream (on
// the first log call) and cached, so a message below the level costs no host call;
// guard expensive message building with `log.enabled(level)`.
import { proxy_get_log_level, proxy_log } from "./abi/imports";
import { EXTRA_OUT } from "./abi/memory";
import { LogLevel, WasmResult } from "./types";

const UNKNOWN: i32 = -1;
let cachedLevel: i32 = UNKNOWN;

/** Forgets the cached level; the dispatcher calls it when a context is created. */
export function invalidateLogLevel(): void {
  cachedLevel = UNKNOWN;
}

function hostLevel(): i32 {
  if (cachedLevel == UNKNOWN) {
    cachedLevel = proxy_get_log_level(EXTRA_OUT) == WasmResult.Ok ? load<i32>(EXTRA_OUT) : <i32>LogLevel.Trace;
  }
  return cachedLevel;
}

export namespace log {
  /** True when the host would keep a message at `level`. */
  export function enabled(level: LogLevel): bool {
    return <i32>level >= hostLevel();
  }

  /** Logs `message` at `level`; returns the host's status (Ok when skipped below the level). */
  export function at(level: LogLevel, message: string): WasmResult {
    if (<i32>level < hostLevel()) return WasmResult.Ok;
    return write(level, message);
  }

  export function trace(message: string): void { at(LogLevel.Trace, message); }
  export function debug(message: string): void { at(LogLevel.Debug, message); }
  export function info(message: string): void { at(LogLevel.Info, message); }
  export function warn(message: string): void { at(LogLevel.Warn, message); }
  export function error(message: string): void { at(LogLevel.Error, message); }
  export function critical(message: string): void { at(LogLevel.Critical, message); }
}

/** Unconditional write, used where no level check may run (abort handler). */
export function write(level: LogLevel, message: string): WasmResult {
  const bytes = String.UTF8.encode(message, false);
  return <WasmResult>proxy_log(<u32>level, changetype<usize>(bytes), bytes.byteLength);
}
