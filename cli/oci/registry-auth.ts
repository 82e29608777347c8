// Registry authentication: the challenge → token → Bearer exchange of the distribution
// token spec (GET realm with Basic credentials, or POST with an identity token), Basic
// auth, registry tokens, anonymous tokens. Tokens are cached per scope.
import { CliError, ExitCode } from "../errors.js";
import { describeCredential, type Credential, type CredentialLookup } from "./credential.js";
import { ENV_PASSWORD, ENV_TOKEN, ENV_USERNAME } from "./credentials.js";
import { hostname, isLoopback } from "./reference.js";
import { HttpStatusError, networkFailure } from "./registry-errors.js";
import { parseWwwAuthenticate, type Challenge } from "./www-authenticate.js";

export type FetchLike = typeof fetch;

export interface AuthOptions {
  registry: string;
  lookup: () => Promise<CredentialLookup>;
  fetch: FetchLike;
  timeoutMs: number;
  userAgent: string;
  onWarning?: (message: string) => void;
}

const CLIENT_ID = "pwas";

const isPrivateHost = (host: string): boolean =>
  isLoopback(host) || /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)/.test(host) || /^f[cd]/i.test(host) || host.toLowerCase() === "metadata.google.internal";

export class RegistryAuth {
  private readonly tokens = new Map<string, string>();
  private challenge?: Challenge;
  private credentialLookup?: Promise<CredentialLookup>;
  private warnedRealm = false;

  constructor(private readonly options: AuthOptions) {}

  /** The Authorization header to send for `scope`, if one is known already. */
  cached(scope: string): string | undefined {
    if (this.challenge?.scheme === "basic") return this.tokens.get("basic");
    return this.tokens.get(scope);
  }

  /** Remembers the challenge from GET /v2/ so the first real request can carry a token. */
  remember(header: string | null): void {
    const challenge = pickChallenge(header);
    if (challenge) this.challenge = challenge;
  }

  get knowsChallenge(): boolean {
    return this.challenge !== undefined;
  }

  credential(): Promise<CredentialLookup> {
    this.credentialLookup ??= this.options.lookup();
    return this.credentialLookup;
  }

  /**
   * Answers a challenge (the 401's WWW-Authenticate, or the remembered one) for `scope`;
   * returns the Authorization header value. Throws Auth errors a user can act on.
   */
  async authorize(header: string | null, scope: string): Promise<string> {
    const challenge = pickChallenge(header) ?? this.challenge;
    if (!challenge) {
      throw new CliError(`registry ${this.options.registry} answered 401 without a WWW-Authenticate challenge`, ExitCode.Registry, "the registry or a proxy in front of it is misconfigured");
    }
    this.challenge = challenge;
    const { credential } = await this.credential();
    let value: string;
    if (challenge.scheme === "basic") {
      if (!credential || credential.password === undefined) throw await this.needCredentials(scope, "Basic");
      value = `Basic ${Buffer.from(`${credential.username ?? ""}:${credential.password}`).toString("base64")}`;
      this.tokens.set("basic", value);
      return value;
    }
    if (challenge.scheme !== "bearer") {
      throw new CliError(`registry ${this.options.registry} asks for ${challenge.scheme} authentication, which pwas does not speak`, ExitCode.Auth, "use a registry with Basic or Bearer token authentication");
    }
    if (credential?.registryToken !== undefined) {
      value = `Bearer ${credential.registryToken}`;
    } else {
      value = `Bearer ${await this.fetchToken(challenge, scope, credential)}`;
    }
    this.tokens.set(scope, value);
    return value;
  }

  /** The error for a request the registry still refuses after authenticating. */
  async refused(status: number, scope: string): Promise<CliError> {
    const { credential } = await this.credential();
    const action = scope.endsWith("push") ? "push to" : "pull from";
    const repo = scope.split(":")[1] ?? "";
    if (status === 403) {
      return new CliError(
        `registry ${this.options.registry} denied access: ${credential ? describeCredential(credential) : "anonymous access"} may not ${action} ${repo}`,
        ExitCode.Auth,
        "use an account with that permission, or check the repository name",
      );
    }
    if (!credential) return this.needCredentials(scope, "Bearer");
    return new CliError(
      `registry ${this.options.registry} refused ${describeCredential(credential)} to ${action} ${repo}`,
      ExitCode.Auth,
      credential.registryToken !== undefined ? `the token in ${ENV_TOKEN} is wrong or expired; get a new one` : "check the username and password (or token), e.g. log in again with docker login",
    );
  }

  private async needCredentials(scope: string, scheme: string): Promise<CliError> {
    const { notes } = await this.credential();
    const action = scope.endsWith("push") ? "push to" : "pull from";
    return new CliError(
      `registry ${this.options.registry} needs credentials (${scheme}) to ${action} ${scope.split(":")[1] ?? ""}, and none were found${notes.length ? ` (${notes.join("; ")})` : ""}`,
      ExitCode.Auth,
      `log in with \`docker login ${this.options.registry}\`, set ${ENV_USERNAME}/${ENV_PASSWORD} (or ${ENV_TOKEN}), or pass --secret <dockerconfigjson secret.yaml>`,
    );
  }

  private async fetchToken(challenge: Challenge, scope: string, credential: Credential | undefined): Promise<string> {
    const realm = challenge.params.realm;
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm ?? "");
    } catch {
      throw new CliError(`registry ${this.options.registry} sent a Bearer challenge with an invalid realm ${JSON.stringify(realm)}`, ExitCode.Registry, "the registry's token auth is misconfigured");
    }
    this.warnAboutRealm(realmUrl);
    const scopes = [...new Set([challenge.params.scope, scope].filter((s): s is string => Boolean(s)))];
    const service = challenge.params.service;
    const headers: Record<string, string> = { "user-agent": this.options.userAgent, accept: "application/json" };
    let response: Response;
    const send = async (init: RequestInit, url: URL) => {
      try {
        return await this.options.fetch(url, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs) });
      } catch (error) {
        throw networkFailure(error, `${this.options.registry}'s token server`, url.origin + url.pathname);
      }
    };
    if (credential?.identityToken !== undefined) {
      // OAuth2 refresh-token grant, what docker does with an identity token.
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credential.identityToken, client_id: CLIENT_ID });
      if (service) form.set("service", service);
      form.set("scope", scopes.join(" "));
      response = await send({ method: "POST", headers: { ...headers, "content-type": "application/x-www-form-urlencoded" }, body: form.toString() }, realmUrl);
      if (response.status === 404 || response.status === 405) {
        await response.body?.cancel();
        response = await send({ headers: { ...headers, authorization: basic("<token>", credential.identityToken) } }, tokenGetUrl(realmUrl, service, scopes));
      }
    } else {
      if (credential?.password !== undefined) headers.authorization = basic(credential.username ?? "", credential.password);
      response = await send({ headers }, tokenGetUrl(realmUrl, service, scopes));
    }
    const body = await response.text();
    if (response.status === 401 || response.status === 403) {
      if (!credential) throw await this.needCredentials(scope, "Bearer");
      throw new CliError(
        `the token server ${realmUrl.origin}${realmUrl.pathname} refused ${describeCredential(credential)} (HTTP ${response.status})`,
        ExitCode.Auth,
        "check the username and password (or token); log in again with docker login, or fix the environment variables or secret",
      );
    }
    if (!response.ok) throw new HttpStatusError(response.status, realmUrl.href, body, `token request to ${realmUrl.origin}${realmUrl.pathname}`);
    let token: unknown;
    try {
      const parsed = JSON.parse(body) as { token?: unknown; access_token?: unknown };
      token = parsed.token ?? parsed.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== "string" || token === "") {
      throw new CliError(`the token server ${realmUrl.origin}${realmUrl.pathname} answered without a token`, ExitCode.Registry, "the registry's token service is misconfigured");
    }
    return token;
  }

  private warnAboutRealm(realm: URL): void {
    if (this.warnedRealm || !this.options.onWarning) return;
    const host = hostname(realm.host);
    if (isPrivateHost(host)) {
      this.warnedRealm = true;
      this.options.onWarning(
        `the token realm ${realm.origin} is a private/loopback address: istio-agent (1.27.8+, 1.28.5+, 1.29.1+, 1.30+) refuses such realms, so in-mesh pulls from this registry will fail unless it allows anonymous pulls`,
      );
    }
  }
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

function tokenGetUrl(realm: URL, service: string | undefined, scopes: string[]): URL {
  const url = new URL(realm.href);
  if (service) url.searchParams.set("service", service);
  for (const s of scopes) url.searchParams.append("scope", s);
  return url;
}

/** Bearer wins over Basic when a registry offers both. */
function pickChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const all = parseWwwAuthenticate(header);
  return all.find((c) => c.scheme === "bearer") ?? all.find((c) => c.scheme === "basic") ?? all[0];
}
