// A small client for the OCI distribution API (v2): the calls pwas needs to push and pull
// whole images, over Node's fetch. Every byte read is checked against its digest; every
// digest a registry reports back is checked against the one pwas computed.
import { CliError, ExitCode } from "../errors.js";
import { sha256Digest } from "./digest.js";
import type { CredentialLookup } from "./credential.js";
import { resolveCredential, type CredentialOptions } from "./credentials.js";
import type { Descriptor, StoredManifest } from "./manifest.js";
import { effectiveMediaType } from "./manifest.js";
import { MANIFEST_ACCEPT } from "./media-types.js";
import { apiHost, isLoopback } from "./reference.js";
import { RegistryAuth, type FetchLike } from "./registry-auth.js";
import { HttpStatusError, isTlsError, networkFailure } from "./registry-errors.js";
import { DEFAULT_RETRY, isRetryableStatus, isTransientNetworkError, withRetry, type RetryPolicy } from "./retry.js";
import { verifyAgainst } from "./image-source.js";

export interface RegistryClientOptions {
  /** host[:port] as written in the reference (docker.io for Docker Hub). */
  registry: string;
  credentials?: CredentialOptions;
  /** Replaces the credential lookup (tests, embedding). */
  lookupCredential?: () => Promise<CredentialLookup>;
  /** Speak plain HTTP (loopback registries always do). */
  plainHttp?: boolean;
  /** Try HTTPS and fall back to plain HTTP when the TLS handshake fails (as istio-agent and helm do). */
  insecure?: boolean;
  retry?: RetryPolicy;
  /** Per-request timeout. */
  timeoutMs?: number;
  fetch?: FetchLike;
  onWarning?: (message: string) => void;
  /** Told about each retry (for a "retrying" line). */
  onRetry?: (message: string) => void;
}

type Scope = "pull" | "push";

interface RequestSpec {
  method: string;
  /** A path below the registry root (/v2/…) or an absolute URL (upload Location). */
  target: string;
  repository?: string;
  scope: Scope;
  headers?: Record<string, string>;
  body?: Uint8Array;
  onProgress?: (sent: number, total: number) => void;
  what: string;
}

const USER_AGENT = "pwas (proxy-wasm-as)";

export class RegistryClient {
  readonly registry: string;
  private scheme: "http" | "https";
  private readonly fetchImpl: FetchLike;
  private readonly auth: RegistryAuth;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private pinged = false;

  constructor(private readonly options: RegistryClientOptions) {
    this.registry = options.registry;
    this.scheme = options.plainHttp || isLoopback(options.registry) ? "http" : "https";
    this.fetchImpl = options.fetch ?? fetch;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.auth = new RegistryAuth({
      registry: options.registry,
      lookup: options.lookupCredential ?? (() => resolveCredential(options.registry, options.credentials)),
      fetch: this.fetchImpl,
      timeoutMs: this.timeoutMs,
      userAgent: USER_AGENT,
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
  }

  get baseUrl(): string {
    return `${this.scheme}://${apiHost(this.registry)}`;
  }

  /** GET /v2/: is this a registry, and how does it want us to authenticate? */
  async ping(): Promise<void> {
    await this.retrying("checking the registry API (GET /v2/)", async () => {
      const response = await this.fetchOnce("GET", `${this.baseUrl}/v2/`, {}, undefined);
      await response.body?.cancel();
      if (response.status === 401) this.auth.remember(response.headers.get("www-authenticate"));
      else if (response.status === 404) {
        throw new CliError(`${this.baseUrl} has no registry API (GET /v2/ answered 404)`, ExitCode.Registry, "check the registry host and port");
      } else if (!response.ok) throw new HttpStatusError(response.status, `${this.baseUrl}/v2/`, "", "GET /v2/");
    });
    this.pinged = true;
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    return this.retrying(`checking blob ${digest}`, async () => {
      const r = await this.send({ method: "HEAD", target: `/v2/${repository}/blobs/${digest}`, repository, scope: "push", what: `HEAD blob ${digest}` });
      await r.body?.cancel();
      if (r.status === 200) return true;
      if (r.status === 404) return false;
      throw new HttpStatusError(r.status, r.url, "", `HEAD blob ${digest}`);
    });
  }

  /** Monolithic upload: POST an upload session, PUT the bytes with ?digest=. Retried as a whole. */
  async pushBlob(repository: string, descriptor: Descriptor, bytes: Uint8Array, onProgress?: (sent: number, total: number) => void): Promise<void> {
    await this.retrying(`uploading blob ${descriptor.digest}`, async () => {
      const start = await this.send({ method: "POST", target: `/v2/${repository}/blobs/uploads/`, repository, scope: "push", what: `starting the upload of ${descriptor.digest}` });
      const startBody = await start.text();
      if (start.status !== 202) throw new HttpStatusError(start.status, start.url, startBody, `starting the upload of ${descriptor.digest}`);
      const location = start.headers.get("location");
      if (!location) throw new CliError(`registry ${this.registry} started an upload without a Location header`, ExitCode.Registry, "the registry does not follow the OCI distribution spec");
      const url = new URL(location, `${this.baseUrl}/`);
      url.searchParams.set("digest", descriptor.digest);
      const put = await this.send({
        method: "PUT",
        target: url.href,
        repository,
        scope: "push",
        headers: { "content-type": "application/octet-stream" },
        body: bytes,
        ...(onProgress ? { onProgress } : {}),
        what: `uploading ${descriptor.digest}`,
      });
      const putBody = await put.text();
      if (put.status !== 201) throw new HttpStatusError(put.status, put.url, putBody, `uploading ${descriptor.digest}`);
      this.checkReportedDigest(put, descriptor.digest, `blob ${descriptor.digest}`);
    });
  }

  async getBlob(repository: string, descriptor: Descriptor): Promise<Uint8Array> {
    const what = `blob ${descriptor.digest} from ${this.registry}/${repository}`;
    if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0 || descriptor.size > MAX_BLOB_BYTES) {
      throw new CliError(`${what}: the manifest declares ${descriptor.size} bytes, more than any Wasm image layer may hold (${MAX_BLOB_BYTES})`, ExitCode.Invalid, "this is not a Wasm plugin image, or its manifest is damaged; check the reference");
    }
    const bytes = await this.retrying(`downloading blob ${descriptor.digest}`, async () => {
      const r = await this.send({ method: "GET", target: `/v2/${repository}/blobs/${descriptor.digest}`, repository, scope: "pull", what: `GET blob ${descriptor.digest}` });
      if (r.status !== 200) throw new HttpStatusError(r.status, r.url, await r.text(), `GET blob ${descriptor.digest}`);
      // Never more than the descriptor says: a registry that sends more is refused as soon as it does.
      return readAtMost(r, descriptor.size, what);
    });
    return verifyAgainst(bytes, descriptor, what);
  }

  /** GET a manifest by tag or digest; checks Docker-Content-Digest and, by digest, the content. */
  async getManifest(repository: string, reference: string): Promise<StoredManifest> {
    return this.retrying(`fetching manifest ${reference}`, async () => {
      const r = await this.send({
        method: "GET",
        target: `/v2/${repository}/manifests/${reference}`,
        repository,
        scope: "pull",
        headers: { accept: MANIFEST_ACCEPT },
        what: `GET manifest ${repository}:${reference}`,
      });
      if (r.status !== 200) throw new HttpStatusError(r.status, r.url, await r.text(), `GET manifest ${repository}:${reference}`);
      const bytes = await readAtMost(r, MAX_MANIFEST_BYTES, `manifest ${this.registry}/${repository}:${reference}`);
      const digest = sha256Digest(bytes);
      const what = `manifest ${this.registry}/${repository}${reference.startsWith("sha256:") ? "@" : ":"}${reference}`;
      if (reference.startsWith("sha256:") && digest !== reference) {
        throw new CliError(`${what}: content does not match its digest (got ${digest})`, ExitCode.DigestMismatch, "the registry served different content than asked for; try again or report it to the registry operator");
      }
      this.checkReportedDigest(r, digest, what);
      return { digest, mediaType: effectiveMediaType(bytes, r.headers.get("content-type") ?? undefined), bytes };
    });
  }

  /** HEAD a manifest: its digest, or undefined when absent. */
  async headManifest(repository: string, reference: string): Promise<string | undefined> {
    return this.retrying(`checking manifest ${reference}`, async () => {
      const r = await this.send({ method: "HEAD", target: `/v2/${repository}/manifests/${reference}`, repository, scope: "pull", headers: { accept: MANIFEST_ACCEPT }, what: `HEAD manifest ${reference}` });
      await r.body?.cancel();
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw new HttpStatusError(r.status, r.url, "", `HEAD manifest ${reference}`);
      return r.headers.get("docker-content-digest") ?? undefined;
    });
  }

  /** PUT a manifest under a tag or its digest; returns the digest, checked against the registry's. */
  async putManifest(repository: string, reference: string, manifest: StoredManifest): Promise<string> {
    return this.retrying(`uploading manifest ${reference}`, async () => {
      const r = await this.send({
        method: "PUT",
        target: `/v2/${repository}/manifests/${reference}`,
        repository,
        scope: "push",
        headers: { "content-type": manifest.mediaType },
        body: manifest.bytes,
        what: `PUT manifest ${repository}:${reference}`,
      });
      const body = await r.text();
      if (r.status !== 201 && r.status !== 200) throw new HttpStatusError(r.status, r.url, body, `PUT manifest ${repository}:${reference}`);
      this.checkReportedDigest(r, manifest.digest, `manifest ${this.registry}/${repository}:${reference}`);
      return manifest.digest;
    });
  }

  private checkReportedDigest(response: Response, expected: string, what: string): void {
    const reported = response.headers.get("docker-content-digest");
    if (reported && reported !== expected) {
      throw new CliError(
        `${what}: the registry reports digest ${reported}, but the content's digest is ${expected}`,
        ExitCode.DigestMismatch,
        "the registry (or a proxy) changed the content; a WasmPlugin's sha256 must match what istio-agent downloads, so do not use this registry path as is",
      );
    }
  }

  /** Runs one operation with retries on transient failures, and turns failures into CliErrors. */
  private async retrying<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(
        operation,
        (error) => (error instanceof HttpStatusError && isRetryableStatus(error.status)) || (!(error instanceof CliError) && isTransientNetworkError(error)),
        this.retry,
        (error, attempt, delay) =>
          this.options.onRetry?.(`${what} failed (${error instanceof HttpStatusError ? `HTTP ${error.status}` : (error as Error).message}); retry ${attempt}/${this.retry.attempts - 1} in ${delay} ms`),
      );
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (error instanceof HttpStatusError) throw this.statusFailure(error);
      throw networkFailure(error, this.registry, this.baseUrl);
    }
  }

  private statusFailure(error: HttpStatusError): CliError {
    const detail = error.registryErrors();
    const message = `${error.what} at ${this.registry} failed: HTTP ${error.status}${detail ? ` (${detail})` : ""}`;
    if (error.status === 404) return new CliError(message, ExitCode.Registry, "check the repository, tag or digest");
    if (error.status === 413) return new CliError(message, ExitCode.Registry, "the registry refuses content this large");
    return new CliError(message, ExitCode.Registry, isRetryableStatus(error.status) ? "the registry kept failing; try again later" : "the registry refused the request; see its error above");
  }

  /** One request, authenticated: sends the known credentials, answers a 401 challenge once. */
  private async send(spec: RequestSpec): Promise<Response> {
    if (!this.pinged) await this.ping();
    const scope = `repository:${spec.repository ?? ""}:${spec.scope === "push" ? "pull,push" : "pull"}`;
    const url = spec.target.startsWith("/") ? `${this.baseUrl}${spec.target}` : spec.target;
    let authorization = this.auth.cached(scope);
    if (authorization === undefined && this.auth.knowsChallenge) authorization = await this.auth.authorize(null, scope);
    let response = await this.fetchOnce(spec.method, url, this.headersFor(spec, url, authorization), spec);
    if (response.status === 401) {
      const challenge = response.headers.get("www-authenticate");
      await response.body?.cancel();
      const retried = authorization;
      authorization = await this.auth.authorize(challenge, scope);
      if (retried !== undefined && retried === authorization) throw await this.auth.refused(401, scope);
      response = await this.fetchOnce(spec.method, url, this.headersFor(spec, url, authorization), spec);
      if (response.status === 401) {
        await response.body?.cancel();
        throw await this.auth.refused(401, scope);
      }
    }
    if (response.status === 403) {
      await response.body?.cancel();
      throw await this.auth.refused(403, scope);
    }
    return response;
  }

  private headersFor(spec: RequestSpec, url: string, authorization: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { "user-agent": USER_AGENT, ...spec.headers };
    // Credentials go only to the registry itself, never to another origin (e.g. a storage redirect).
    if (authorization && new URL(url).host === new URL(this.baseUrl).host) headers.authorization = authorization;
    return headers;
  }

  private async fetchOnce(method: string, url: string, headers: Record<string, string>, spec: RequestSpec | undefined): Promise<Response> {
    const init: RequestInit & { duplex?: "half" } = { method, headers, signal: AbortSignal.timeout(this.timeoutMs) };
    if (spec?.body) {
      if (spec.onProgress) {
        init.body = progressStream(spec.body, spec.onProgress);
        init.duplex = "half";
        headers["content-length"] = String(spec.body.byteLength);
      } else init.body = spec.body as Uint8Array<ArrayBuffer>;
    }
    try {
      return await this.fetchImpl(url, init);
    } catch (error) {
      // --insecure: an HTTPS handshake failure means "try plain HTTP", like istio-agent's fallback.
      if (this.options.insecure && this.scheme === "https" && isTlsError(error)) {
        this.scheme = "http";
        this.options.onWarning?.(`registry ${this.registry} did not speak TLS; using plain HTTP (--insecure)`);
        return this.fetchOnce(method, url.replace(/^https:/, "http:"), headers, spec);
      }
      throw error;
    }
  }
}

function progressStream(bytes: Uint8Array, onProgress: (sent: number, total: number) => void): ReadableStream<Uint8Array> {
  const CHUNK = 256 * 1024;
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) {
        controller.close();
        return;
      }
      const chunk = bytes.subarray(offset, Math.min(offset + CHUNK, bytes.byteLength));
      offset += chunk.byteLength;
      controller.enqueue(chunk);
      onProgress(offset, bytes.byteLength);
    },
  });
}

/** The largest layer a Wasm image can need: Istio's 256 MiB module limit, gzip's worst case and tar's headers. */
export const MAX_BLOB_BYTES = 256 * 1024 * 1024 + 2 * 1024 * 1024;
/** The OCI distribution spec lets registries refuse manifests over 4 MiB; pwas reads no more. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A response body of at most `limit` bytes; a larger one (declared or sent) is cut off and refused. */
export async function readAtMost(response: Response, limit: number, what: string): Promise<Uint8Array> {
  const tooLarge = (got: string) =>
    new CliError(`${what}: the registry sends ${got}, more than the ${limit} bytes expected`, ExitCode.DigestMismatch, "the registry (or a proxy) serves different content than the manifest describes; do not use this image");
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel();
    throw tooLarge(`${declared} bytes`);
  }
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge("more");
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}
