// The registry options of the commands that read images (verify, wasmplugin --resolve,
// migrate --image) and the client they configure, from cli/oci.
import type { Command } from "commander";
import { RegistryClient, type RegistryClientOptions } from "./oci/registry-client.js";
import { cachingSource, registrySource } from "./oci/registry-source.js";
import type { ImageSource } from "./oci/image-source.js";
import type { ImageReference } from "./oci/reference.js";

export interface RegistryFlags {
  plainHttp?: boolean;
  insecure?: boolean;
  secret?: string;
}

export function addRegistryOptions(command: Command): Command {
  return command
    .option("--plain-http", "speak plain HTTP to the registry (loopback registries always do)")
    .option("--insecure", "fall back to plain HTTP when the registry's TLS handshake fails (as istio-agent does)")
    .option("--secret <file>", "registry credentials from a Kubernetes dockerconfigjson Secret (YAML); default: PWAS_REGISTRY_* variables, then the Docker config");
}

/** Client options from the flags, for RegistryClient or cli/oci's openImage. */
export function registryClientOptions(flags: RegistryFlags): Omit<RegistryClientOptions, "registry"> {
  return {
    ...(flags.plainHttp ? { plainHttp: true } : {}),
    ...(flags.insecure ? { insecure: true } : {}),
    ...(flags.secret !== undefined ? { credentials: { secretFile: flags.secret } } : {}),
    onWarning: (message) => process.stderr.write(`pwas: warning: ${message}\n`),
  };
}

export function registryClient(registry: string, flags: RegistryFlags): RegistryClient {
  return new RegistryClient({ registry, ...registryClientOptions(flags) });
}

/** The image `ref` names, read through a cache so checking it downloads each blob once. */
export function remoteImage(ref: ImageReference, flags: RegistryFlags): ImageSource {
  return cachingSource(registrySource(registryClient(ref.registry, flags), ref));
}
