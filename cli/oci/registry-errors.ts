// Turning what went wrong on the wire into one clear CliError: unreachable registry, TLS,
// HTTP status with the registry's error codes.
import { CliError, ExitCode } from "../errors.js";
import { networkErrorCode, networkErrorMessage } from "./retry.js";

/** A response with a status the operation did not expect (kept for retry decisions and messages). */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly body: string,
    readonly what: string,
  ) {
    super(`${what}: HTTP ${status}`);
  }

  /** The registry's error codes/messages from an OCI error body {"errors":[{code,message}]}. */
  registryErrors(): string {
    try {
      const parsed = JSON.parse(this.body) as { errors?: Array<{ code?: string; message?: string }> };
      if (Array.isArray(parsed.errors) && parsed.errors.length) {
        return parsed.errors.map((e) => [e.code, e.message].filter(Boolean).join(": ")).join("; ");
      }
    } catch {
      // not JSON: fall through
    }
    return this.body.trim().slice(0, 200);
  }
}

const TLS_CODE = /^(ERR_SSL|ERR_TLS|EPROTO|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_OSSL)/;

export const isTlsError = (error: unknown): boolean => {
  const code = networkErrorCode(error);
  return (code !== undefined && TLS_CODE.test(code)) || /SSL|TLS|certificate/i.test(networkErrorMessage(error));
};

/** A network-level failure (no HTTP response) as a Registry error naming the cause and the fix. */
export function networkFailure(error: unknown, registry: string, url: string): CliError {
  const code = networkErrorCode(error);
  const name = (error as { name?: string })?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return new CliError(`registry ${registry} did not answer in time (${url})`, ExitCode.Registry, "check the network and the registry, then try again");
  }
  if (isTlsError(error)) {
    return new CliError(
      `TLS with registry ${registry} failed (${networkErrorMessage(error)})`,
      ExitCode.Registry,
      "if the registry speaks plain HTTP pass --plain-http (or --insecure to fall back to HTTP); for a private CA set NODE_EXTRA_CA_CERTS=<ca.pem>",
    );
  }
  const reasons: Record<string, string> = {
    ECONNREFUSED: "connection refused",
    ENOTFOUND: "host not found",
    EAI_AGAIN: "DNS lookup failed",
    ECONNRESET: "connection reset",
    EHOSTUNREACH: "host unreachable",
    ENETUNREACH: "network unreachable",
  };
  const reason = (code && reasons[code]) ?? networkErrorMessage(error);
  return new CliError(`cannot reach registry ${registry} at ${url}: ${reason}`, ExitCode.Registry, "check the registry address and that the registry is running and reachable from here");
}
