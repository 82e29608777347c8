// A Kubernetes Secret of type kubernetes.io/dockerconfigjson, the pull secret a WasmPlugin's
// imagePullSecret names (PACKAGING.md §1.6). Reading the same file pwas pushes/pulls with
// proves the secret istio-agent gets will work.
import { CliError, ExitCode } from "../errors.js";
import { parseYamlDocuments, readTextInput } from "../yaml-source.js";
import type { CredentialLookup } from "./credential.js";
import { entryCredential, findAuthEntry, parseDockerConfig, type DockerConfig } from "./docker-config.js";

const TYPE = "kubernetes.io/dockerconfigjson";
const KEY = ".dockerconfigjson";

interface SecretDoc {
  kind?: string;
  type?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  items?: SecretDoc[];
}

export async function readDockerConfigSecret(file: string): Promise<DockerConfig> {
  const docs: SecretDoc[] = [];
  for (const doc of parseYamlDocuments(await readTextInput(file), file)) {
    const value = doc.value as SecretDoc | null;
    if (value?.kind === "List" && Array.isArray(value.items)) docs.push(...value.items);
    else if (value) docs.push(value);
  }
  const secrets = docs.filter((d) => d.kind === "Secret");
  const secret = secrets.find((d) => d.type === TYPE);
  if (!secret) {
    const found = secrets.map((s) => `${s.metadata?.name ?? "?"} (type ${s.type ?? "Opaque"})`).join(", ");
    throw new CliError(
      `${file} holds no Secret of type ${TYPE}${found ? `; found ${found}` : ""}`,
      ExitCode.Invalid,
      `istio-agent only reads ${TYPE} secrets; create one with: kubectl create secret docker-registry <name> --docker-server=<registry> --docker-username=<user> --docker-password=<password> --dry-run=client -o yaml`,
    );
  }
  const name = secret.metadata?.name ?? "?";
  let json: string | undefined = secret.stringData?.[KEY];
  if (json === undefined && secret.data?.[KEY] !== undefined) json = Buffer.from(secret.data[KEY], "base64").toString("utf8");
  if (json === undefined) throw new CliError(`Secret ${name} in ${file} has no ${KEY} key`, ExitCode.Invalid, `put the docker config JSON under data["${KEY}"] (base64)`);
  return parseDockerConfig(Buffer.from(json, "utf8"), `Secret ${name} (${file})`);
}

export async function secretCredential(file: string, registry: string): Promise<CredentialLookup> {
  const config = await readDockerConfigSecret(file);
  const source = `secret ${file}`;
  const entry = findAuthEntry(config.auths, registry);
  const credential = entry ? entryCredential(entry, source) : undefined;
  if (credential) return { credential, notes: [] };
  const hosts = Object.keys(config.auths ?? {});
  return { notes: [`${source} has no entry for ${registry} (it has: ${hosts.join(", ") || "none"}); istio-agent would pull anonymously too`] };
}
