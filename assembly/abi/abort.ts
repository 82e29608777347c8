// Replacements for AssemblyScript's `abort`, `trace` and `seed` imports, which Envoy
// does not provide (a module importing `env.abort` fails to load). The SDK's build
// settings map them here with `--use abort=__proxy_abort` etc. (see asconfig.json).
import { proxy_log } from "./imports";

function logCritical(message: string): void {
  const bytes = String.UTF8.encode(message, false);
  proxy_log(5, changetype<usize>(bytes), bytes.byteLength);
}

/** An assertion failure or `throw`: one critical log line with the position, then a trap. */
// @ts-ignore: decorator
@global export function __proxy_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) {
    text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  }
  logCritical(text);
  unreachable();
}

/** `trace()` becomes a debug log line rather than an import. */
// @ts-ignore: decorator
@global export function __proxy_trace(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let text = "trace: " + message;
  if (n > 0) text += " " + a0.toString();
  if (n > 1) text += " " + a1.toString();
  if (n > 2) text += " " + a2.toString();
  if (n > 3) text += " " + a3.toString();
  if (n > 4) text += " " + a4.toString();
  const bytes = String.UTF8.encode(text, false);
  proxy_log(1, changetype<usize>(bytes), bytes.byteLength);
}

/** Seed for Math.random from the host clock (no `env.seed` import). */
// @ts-ignore: decorator
@global export function __proxy_seed(): f64 {
  const out = memory.data(8, 8);
  store<u64>(out, 0);
  // proxy_get_current_time_nanoseconds may not be called from a start function, but
  // Math.random is only seeded on first use, inside a callback.
  proxy_get_current_time_nanoseconds(out);
  return <f64>load<u64>(out);
}

// @ts-ignore: decorator
@external("env", "proxy_get_current_time_nanoseconds")
declare function proxy_get_current_time_nanoseconds(timePtr: usize): u32;
