// Credentials from a Docker config file ($DOCKER_CONFIG/config.json or ~/.docker/config.json)
// and from Kubernetes dockerconfigjson Secrets, which have the same `auths` shape: `auth`
// (base64 user:password), `username`/`password`, `identitytoken`, `registrytoken`; plus
// `credHelpers` and `credsStore`, run as `docker-credential-<name> get`.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { CliError, ExitCode } from "../errors.js";
import type { Credential, CredentialLookup } from "./credential.js";
import { DOCKER_HUB, DOCKER_HUB_AUTH_KEY } from "./reference.js";

export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** The host part of an `auths` key: keys may be "https://host/v1/", "http://host" or "host". */
const keyHost = (key: string): string => key.replace(/^[a-z]+:\/\//i, "").split("/")[0]!.toLowerCase();

/** The names a registry goes by in docker config keys (Docker Hub has several). */
export function registryKeys(registry: string): string[] {
  return registry === DOCKER_HUB ? ["index.docker.io", "docker.io", "registry-1.docker.io"] : [registry.toLowerCase()];
}

/** The server URL docker hands to credential helpers for a registry. */
export const helperServerUrl = (registry: string): string => (registry === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : registry);

export function findAuthEntry(auths: Record<string, AuthEntry> | undefined, registry: string): AuthEntry | undefined {
  if (!auths) return undefined;
  const wanted = registryKeys(registry);
  // An exact key first (what `docker login` writes), then any key for the same host.
  const exact = Object.keys(auths).find((k) => wanted.includes(k.toLowerCase()) || (registry === DOCKER_HUB && k === DOCKER_HUB_AUTH_KEY));
  const key = exact ?? Object.keys(auths).find((k) => wanted.includes(keyHost(k)));
  return key === undefined ? undefined : auths[key];
}

/** Turns an `auths` entry into a credential; undefined when the entry is empty (a credsStore placeholder). */
export function entryCredential(entry: AuthEntry, source: string): Credential | undefined {
  if (entry.registrytoken) return { registryToken: entry.registrytoken, source };
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) {
      throw new CliError(`the auth entry in ${source} is not base64 of user:password`, ExitCode.Auth, "log in again (docker login) or fix the entry");
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (entry.identitytoken) return { username, identityToken: entry.identitytoken, source };
  if (username === undefined && password === undefined) return undefined;
  return { username: username ?? "", password: password ?? "", source };
}

export function parseDockerConfig(bytes: Uint8Array, source: string): DockerConfig {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw new CliError(`${source} is not valid JSON: ${(error as Error).message}`, ExitCode.Auth, "fix the file or point DOCKER_CONFIG at another directory");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new CliError(`${source} is not a JSON object`, ExitCode.Auth, "fix the file");
  return value as DockerConfig;
}

export interface HelperOptions {
  /** Directories searched for docker-credential-* (default: PATH). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Runs `docker-credential-<helper> get` with the server URL on stdin. Returns undefined when
 * the helper has no credentials for it; throws when the helper is missing or fails.
 */
export function runCredentialHelper(helper: string, serverUrl: string, options: HelperOptions = {}): Promise<Credential | undefined> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ["get"], { env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === "ENOENT"
          ? new Error(`credential helper ${program} is not installed (not found in PATH)`)
          : new Error(`credential helper ${program} could not run: ${error.message}`),
      );
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const output = `${stdout}${stderr}`.trim();
      if (code !== 0) {
        if (/credentials not found/i.test(output)) resolve(undefined);
        else reject(new Error(`credential helper ${program} failed (exit ${code}): ${output || "no output"}`));
        return;
      }
      try {
        const { Username, Secret } = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (!Secret) return resolve(undefined);
        const source = `credential helper ${program}`;
        resolve(Username === "<token>" ? { identityToken: Secret, source } : { username: Username ?? "", password: Secret, source });
      } catch {
        reject(new Error(`credential helper ${program} printed something that is not JSON`));
      }
    });
    child.stdin.on("error", () => undefined); // a helper that exits without reading stdin
    child.stdin.end(serverUrl);
  });
}

export const dockerConfigPath = (env: NodeJS.ProcessEnv = process.env): string => join(env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json");

/** Docker's order: credHelpers[registry], then credsStore, then the file's own auths. */
export async function dockerConfigCredential(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<CredentialLookup> {
  const path = dockerConfigPath(env);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { notes: [`no docker config at ${path}`] };
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, ExitCode.Auth, "fix its permissions or point DOCKER_CONFIG elsewhere");
  }
  const config = parseDockerConfig(bytes, path);
  const notes: string[] = [];
  const helper = registryKeys(registry).map((k) => config.credHelpers?.[k]).find(Boolean) ?? config.credsStore;
  if (helper) {
    try {
      const credential = await runCredentialHelper(helper, helperServerUrl(registry), { env });
      if (credential) return { credential, notes };
      notes.push(`docker-credential-${helper} has no credentials for ${registry}`);
    } catch (error) {
      notes.push((error as Error).message);
    }
  }
  const entry = findAuthEntry(config.auths, registry);
  const credential = entry ? entryCredential(entry, path) : undefined;
  if (!credential) notes.push(`${path} has no credentials for ${registry}`);
  return credential ? { credential, notes } : { notes };
}
