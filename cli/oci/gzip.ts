// gzip with a fixed header (no file name, mtime 0, OS "unknown"), so compressing the same
// bytes with the same zlib always gives the same output; and a bounded gunzip.
import { gunzipSync, gzipSync, constants } from "node:zlib";
import { CliError, ExitCode } from "../errors.js";

const OS_BYTE = 9;
const OS_UNKNOWN = 0xff;

export function gzipDeterministic(bytes: Uint8Array): Uint8Array {
  const out = gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY });
  // zlib writes mtime 0 and no name already; the OS byte depends on the platform zlib was built for.
  out[OS_BYTE] = OS_UNKNOWN;
  return out;
}

export const isGzip = (b: Uint8Array): boolean => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Decompression stopped at its limit: the input is too large (or a gzip bomb). */
export class InflateLimitError extends CliError {
  constructor(what: string, readonly limit: number) {
    super(`${what} is too large: it decompresses to more than ${limit} bytes`, ExitCode.Invalid, "make the module smaller; no module may exceed Istio's 256 MiB (ISTIO_WASM_MAX_BINARY_SIZE_BYTES)");
  }
}

/** Gunzips, stopping at `maxBytes` of output (InflateLimitError). `what` names the input in the error. */
export function gunzip(bytes: Uint8Array, what: string, maxBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.min(maxBytes, 2 ** 31 - 1) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || error instanceof RangeError) throw new InflateLimitError(what, maxBytes);
    throw new CliError(`${what} is not valid gzip: ${(error as Error).message}`, ExitCode.Invalid, "the layer or file is corrupt; package it again with `pwas package`");
  }
}
