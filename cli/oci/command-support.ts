// What push, pull (and other registry-facing commands) share: the registry options, a
// client built from them, and how warnings are printed.
import { Option, type Command } from "commander";
import type { Finding } from "./istio-acceptance.js";
import type { ImageReference } from "./reference.js";
import { RegistryClient } from "./registry-client.js";

export interface RegistryCliOptions {
  secret?: string;
  insecure?: boolean;
  plainHttp?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export function addRegistryOptions(command: Command): Command {
  return command
    .option("--secret <file>", "credentials from a Kubernetes Secret of type kubernetes.io/dockerconfigjson (YAML), the one a WasmPlugin's imagePullSecret names")
    .option("--plain-http", "speak plain HTTP to the registry (automatic for localhost/127.0.0.1/::1)")
    .option("--insecure", "try HTTPS, fall back to plain HTTP if the registry does not speak TLS")
    .option("-q, --quiet", "no progress display and no warnings")
    .addOption(new Option("--json", "print the result as JSON on stdout"));
}

export const warn = (options: { quiet?: boolean }, message: string): void => {
  if (!options.quiet) process.stderr.write(`warning: ${message}\n`);
};

export function printFindings(options: { quiet?: boolean }, findings: { errors?: Finding[]; warnings?: Finding[] }): void {
  for (const e of findings.errors ?? []) process.stderr.write(`error: ${e.message}\n  fix: ${e.fix}\n`);
  if (options.quiet) return;
  for (const w of findings.warnings ?? []) process.stderr.write(`warning: ${w.message}\n  fix: ${w.fix}\n`);
}

export function clientFor(ref: ImageReference, options: RegistryCliOptions): RegistryClient {
  return new RegistryClient({
    registry: ref.registry,
    credentials: { ...(options.secret !== undefined ? { secretFile: options.secret } : {}) },
    ...(options.plainHttp ? { plainHttp: true } : {}),
    ...(options.insecure ? { insecure: true } : {}),
    onWarning: (message) => warn(options, message),
    onRetry: (message) => warn(options, message),
  });
}

export const out = (text: string): void => {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
};
