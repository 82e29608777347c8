// Where credentials come from, in order: --secret <file> (a Kubernetes dockerconfigjson
// Secret), the PWAS_REGISTRY_* environment variables, then the Docker config (credHelpers,
// credsStore, auths). No credential means anonymous access.
import { CliError, ExitCode } from "../errors.js";
import type { CredentialLookup } from "./credential.js";
import { dockerConfigCredential } from "./docker-config.js";
import { secretCredential } from "./k8s-secret.js";

export const ENV_USERNAME = "PWAS_REGISTRY_USERNAME";
export const ENV_PASSWORD = "PWAS_REGISTRY_PASSWORD";
export const ENV_TOKEN = "PWAS_REGISTRY_TOKEN";

export interface CredentialOptions {
  /** --secret: YAML of a kubernetes.io/dockerconfigjson Secret. */
  secretFile?: string;
  env?: NodeJS.ProcessEnv;
}

export function envCredential(env: NodeJS.ProcessEnv): CredentialLookup {
  const token = env[ENV_TOKEN];
  if (token) return { credential: { registryToken: token, source: ENV_TOKEN }, notes: [] };
  const username = env[ENV_USERNAME];
  const password = env[ENV_PASSWORD];
  if (username === undefined && password === undefined) return { notes: [] };
  if (!username || password === undefined) {
    throw new CliError(`set both ${ENV_USERNAME} and ${ENV_PASSWORD} (only one is set)`, ExitCode.Usage, `or unset both to use the Docker config`);
  }
  return { credential: { username, password, source: `${ENV_USERNAME}/${ENV_PASSWORD}` }, notes: [] };
}

export async function resolveCredential(registry: string, options: CredentialOptions = {}): Promise<CredentialLookup> {
  const env = options.env ?? process.env;
  if (options.secretFile !== undefined) return secretCredential(options.secretFile, registry);
  const fromEnv = envCredential(env);
  if (fromEnv.credential) return fromEnv;
  return dockerConfigCredential(registry, env);
}
