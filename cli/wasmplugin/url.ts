// spec.url: the schemes Istio accepts and how it reads a URL without one (PACKAGING.md
// §2.1): the CRD and webhook parse it with Go's url.Parse, so `localhost:5000/x` has the
// scheme "localhost" and is rejected, while `quay.io/x:1` has none and means oci://.
import { CliError } from "../errors.js";
import { parseReference, type ImageReference } from "../oci/reference.js";

export const URL_SCHEMES = ["oci", "http", "https", "file"] as const;
export type UrlScheme = (typeof URL_SCHEMES)[number];

/** The scheme Go's url.Parse finds ("" for none): letters first, then letters, digits, + - . up to ':'. */
export function goUrlScheme(url: string): string {
  for (let i = 0; i < url.length; i++) {
    const c = url[i]!;
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) return "";
      continue;
    }
    if (c === ":") return url.slice(0, i).toLowerCase();
    return "";
  }
  return "";
}

/** `host:port/...`: what Go mistakes for a scheme, and what a user meant as an image reference. */
export const looksLikeHostPort = (url: string): boolean => /^[a-zA-Z][a-zA-Z0-9.-]*:\d+(\/|$)/.test(url);

export interface PluginUrl {
  /** The URL with its scheme, as it should be written. */
  url: string;
  scheme: UrlScheme;
  /** For oci://: the parsed reference. */
  ref?: ImageReference;
}

export class PluginUrlError extends Error {
  override readonly name = "PluginUrlError";
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/**
 * Normalizes a URL given to `pwas wasmplugin`: a bare image reference (including
 * `host:port/repo`) becomes oci://…; other schemes must be ones Istio accepts.
 */
export function normalizePluginUrl(input: string): PluginUrl {
  const trimmed = input.trim();
  const scheme = goUrlScheme(trimmed);
  if (scheme === "" || looksLikeHostPort(trimmed)) return parsePluginUrl(`oci://${trimmed}`);
  return parsePluginUrl(trimmed);
}

/** Parses a URL that must carry an accepted scheme. */
export function parsePluginUrl(url: string): PluginUrl {
  const scheme = goUrlScheme(url);
  if (!(URL_SCHEMES as readonly string[]).includes(scheme)) {
    throw new PluginUrlError(
      scheme === "" ? `"${url}" has no scheme` : `scheme "${scheme}" is not one Istio accepts (oci, http, https, file)`,
      looksLikeHostPort(url) ? `Istio reads "${url}" as scheme "${scheme}": write oci://${url}.` : "Use oci://<registry>/<repository>:<tag>, https://…, or file:///path/in/proxy.",
    );
  }
  const rest = url.slice(scheme.length + 1);
  const s = scheme as UrlScheme;
  if (!rest.startsWith("//")) throw new PluginUrlError(`"${url}" must continue with // after ${scheme}:`, `Write ${scheme}://…`);
  const body = rest.slice(2);
  if (s === "oci") {
    try {
      return { url: `oci://${body}`, scheme: s, ref: parseReference(body) };
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      throw new PluginUrlError(error.message, error.hint ?? "Write oci://<registry>[:port]/<repository>[:tag][@sha256:<digest>].");
    }
  }
  if (s === "file") {
    if (!body.startsWith("/")) throw new PluginUrlError(`"${url}" is not an absolute file URL`, "Write file:///absolute/path/plugin.wasm (a path inside the proxy container).");
    return { url, scheme: s };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PluginUrlError(`"${url}" is not a valid ${scheme} URL`);
  }
  if (!parsed.hostname) throw new PluginUrlError(`"${url}" has no host`);
  return { url, scheme: s };
}
