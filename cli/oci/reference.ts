// Image references: [oci://][registry[:port]/]repository[:tag][@sha256:digest], with the
// Docker Hub defaults (docker.io, library/) that docker, go-containerregistry and so
// istio-agent apply.
import { CliError, ExitCode } from "../errors.js";
import { isDigest } from "./digest.js";

export const DOCKER_HUB = "docker.io";
/** Docker Hub's API endpoint and the key docker config files use for it. */
export const DOCKER_HUB_API = "registry-1.docker.io";
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

export interface ImageReference {
  /** Registry as written (docker.io when omitted), host[:port]. */
  readonly registry: string;
  /** Repository path, e.g. `acme/header-append` (library/ prefixed on Docker Hub). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REPOSITORY_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const TAG_RE = /^[\w][\w.-]{0,127}$/;
const HOST_RE = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?)(?::[0-9]+)?$/;

function invalid(input: string, why: string): CliError {
  return new CliError(
    `invalid image reference ${JSON.stringify(input)}: ${why}`,
    ExitCode.Usage,
    "write it as [oci://]registry.example.com[:port]/repository[:tag][@sha256:<digest>], e.g. oci://ghcr.io/acme/header-append:v1",
  );
}

export function parseReference(input: string): ImageReference {
  let rest = input.trim().replace(/^(?:oci|docker):\/\//, "");
  if (rest === "") throw invalid(input, "it is empty");
  if (/^[a-z]+:\/\//i.test(rest)) throw invalid(input, "only the oci:// scheme names a registry image");

  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw invalid(input, `${JSON.stringify(digest)} is not a sha256:<64 hex> digest`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(input, `tag ${JSON.stringify(tag)} is not valid (letters, digits, _ . -, at most 128)`);
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  // Like docker: the first component names a registry if it looks like a host.
  const hasRegistry = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["));
  let registry = hasRegistry ? first : DOCKER_HUB;
  let repository = hasRegistry ? rest.slice(slash + 1) : rest;
  if (!HOST_RE.test(registry)) throw invalid(input, `registry ${JSON.stringify(registry)} is not a host[:port]`);
  if (registry === "index.docker.io" || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  if (!REPOSITORY_RE.test(repository)) {
    throw invalid(input, `repository ${JSON.stringify(repository)} must be lowercase letters, digits and separators (. _ - /)`);
  }
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `registry/repository[:tag][@digest]`, the form a WasmPlugin URL takes after `oci://`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** The host:port requests go to (Docker Hub's API lives elsewhere than its name). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** Host without the port, brackets removed for IPv6. */
export function hostname(registry: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(registry);
  if (m) return m[1]!;
  return registry.replace(/:\d+$/, "");
}

/** Loopback registries are spoken to over plain HTTP, as go-containerregistry (and so istio-agent) does. */
export function isLoopback(registry: string): boolean {
  const host = hostname(registry).toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1";
}
