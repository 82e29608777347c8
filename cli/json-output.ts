// The one shape of every `--json` output: a single JSON object on stdout whose first
// fields are `command` (the pwas command) and `ok`, followed by the command's own fields.
// A command that fails prints `{ command, ok: false, error: { message, hint, exitCode } }`
// instead, and exits with that code, so a script reads stdout the same way either way.
import type { CliError } from "./errors.js";

export function jsonResult(command: string, fields: object, ok = true): string {
  return `${JSON.stringify({ command, ok, ...fields }, null, 2)}\n`;
}

export function jsonFailure(command: string, error: CliError): string {
  return `${JSON.stringify({ command, ok: false, error: { message: error.message, hint: error.hint ?? null, exitCode: error.exitCode } }, null, 2)}\n`;
}

/** Whether the command line asks for JSON (before the parser has run, for failures it reports). */
export const wantsJson = (argv: readonly string[]): boolean => argv.slice(2).includes("--json");
