// Content digests ("sha256:<64 hex>"): what registries, layouts and Istio compare.
import { createHash } from "node:crypto";
import { CliError, ExitCode } from "../errors.js";

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
export const sha256Digest = (bytes: Uint8Array): string => `sha256:${sha256Hex(bytes)}`;

export const isDigest = (value: string): boolean => DIGEST_RE.test(value);

/** The 64 hex characters of a digest: the form a WasmPlugin's `sha256` field takes. */
export function digestHex(digest: string): string {
  assertDigestSyntax(digest, "digest");
  return digest.slice("sha256:".length);
}

export function assertDigestSyntax(digest: string, what: string): void {
  if (!DIGEST_RE.test(digest)) {
    throw new CliError(
      `${what} ${JSON.stringify(digest)} is not a sha256 digest`,
      ExitCode.Invalid,
      "digests look like sha256:<64 lowercase hex characters>; other algorithms are not supported",
    );
  }
}

/** Throws DigestMismatch when `bytes` do not hash to `expected`. */
export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) {
    throw new CliError(
      `${what}: content does not match its digest (expected ${expected}, got ${actual})`,
      ExitCode.DigestMismatch,
      "the content was changed or corrupted; re-create it (pwas package) or pull/push it again",
    );
  }
}
