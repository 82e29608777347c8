// Where `pwas serve` sends traffic (the upstream, each callout cluster) and in which
// protocol, as an Envoy cluster declares it: HTTP/1.1 by default, HTTP/2 when the cluster
// has http2_protocol_options (h2c over http://, h2 over https:// with ALPN).
import { CliError, ExitCode } from "../errors.js";

export interface UpstreamTarget {
  url: URL;
  /** Speak HTTP/2 to it (Envoy's http2_protocol_options); HTTP/1.1 otherwise. */
  http2: boolean;
}

const HTTP2_SUFFIX = ",http2";

/** "http://host:port" or "https://host:port", with ",http2" for an HTTP/2 cluster. */
export function parseTarget(text: string, what: string, http2 = false): UpstreamTarget {
  const wantsHttp2 = text.endsWith(HTTP2_SUFFIX);
  const address = wantsHttp2 ? text.slice(0, -HTTP2_SUFFIX.length) : text;
  let url: URL;
  try {
    url = new URL(address);
  } catch (error) {
    throw new CliError(`${what} "${text}" is not a usable URL: ${(error as Error).message}`, ExitCode.Usage, "e.g. http://127.0.0.1:9000, or http://127.0.0.1:9000,http2 for HTTP/2");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`${what} "${text}" is not a usable URL: only http:// and https:// are supported`, ExitCode.Usage, "e.g. http://127.0.0.1:9000, or https://host:443,http2 for h2 over TLS");
  }
  if (url.pathname !== "/" || url.search || url.hash) {
    throw new CliError(`${what} "${text}" has a path: Envoy's clusters are addresses, the request keeps its own :path`, ExitCode.Usage, `use ${url.origin}`);
  }
  return { url, http2: http2 || wantsHttp2 };
}

/** How the target reads in messages: "http://127.0.0.1:9000 (HTTP/2)". */
export function describeTarget(target: UpstreamTarget): string {
  return `${target.url.origin}${target.http2 ? " (HTTP/2)" : ""}`;
}
