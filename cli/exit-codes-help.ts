// The exit-code table shown by `pwas --help`, kept next to nothing but ExitCode so the two
// cannot drift: every ExitCode member must have a line here (checked by the type).
import { ExitCode } from "./errors.js";

const MEANING: Record<ExitCode, string> = {
  [ExitCode.Ok]: "success",
  [ExitCode.Failure]: "any other failure: plugin code that does not compile, npm failing, an I/O error",
  [ExitCode.Usage]: "bad command line: unknown option, missing argument, a file that does not exist",
  [ExitCode.Invalid]: "input checked and rejected: a module Envoy would not load, an image Istio would not accept, an invalid WasmPlugin, malformed YAML",
  [ExitCode.Registry]: "the registry could not be reached or answered with an error",
  [ExitCode.Auth]: "the registry refused the credentials (401/403), or none were found",
  [ExitCode.DigestMismatch]: "a digest or sha256 did not match",
};

export function exitCodesHelp(): string {
  const rows = (Object.entries(MEANING) as [string, string][]).map(([code, meaning]) => `  ${code}  ${meaning}`);
  return `\nExit codes:\n${rows.join("\n")}\n\nEvery failure prints one line "pwas: <what went wrong>" and, where it helps, "hint: <what to change>".`;
}
