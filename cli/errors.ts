// How pwas fails: one clear message (what went wrong and what to change) and a
// documented exit code. Commands throw CliError; cli/index.ts prints it and exits.

/** pwas exit codes (documented in the README and in `pwas --help`). */
export enum ExitCode {
  Ok = 0,
  /** Something went wrong that is not one of the cases below. */
  Failure = 1,
  /** Bad command line: unknown option, missing argument. */
  Usage = 2,
  /** The input was checked and rejected: a module Envoy would not load, an image Istio would not accept, an invalid WasmPlugin or YAML. */
  Invalid = 3,
  /** The registry could not be reached or answered with an error. */
  Registry = 4,
  /** The registry refused the credentials (401/403), or none were found. */
  Auth = 5,
  /** A digest or sha256 did not match. */
  DigestMismatch = 6,
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Failure,
    /** What the user should change, printed on its own line. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}
