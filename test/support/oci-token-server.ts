// The token service of the distribution token-auth spec, for tests against a real registry
// configured with `auth: token:`: it checks Basic credentials (or an OAuth2 refresh token on
// POST) and issues RS256 JWTs with an x5c header holding a self-signed certificate, which
// the registry trusts through `rootcertbundle`.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { TokenAuthConfig } from "./registry.js";

// ---- a minimal DER encoder, enough for one self-signed X.509 certificate ----
function der(tag: number, content: Buffer): Buffer {
  const len = content.length;
  let header: Buffer;
  if (len < 0x80) header = Buffer.from([tag, len]);
  else {
    const bytes: number[] = [];
    for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
function integer(value: Buffer): Buffer {
  let v = value;
  while (v.length > 1 && v[0] === 0 && (v[1]! & 0x80) === 0) v = v.subarray(1);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return der(0x02, v);
}
function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const bytes = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let n = Math.floor(p / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift((n & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}
const utf8 = (s: string) => der(0x0c, Buffer.from(s, "utf8"));
function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, "0");
  return der(0x17, Buffer.from(`${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`));
}

/** A self-signed RSA certificate (DER) for `privateKey`, valid from an hour ago for a day. */
export function selfSignedCertificate(privateKey: KeyObject, publicKeyDer: Buffer, commonName: string): Buffer {
  const sha256WithRsa = seq(oid("1.2.840.113549.1.1.11"), Buffer.from([0x05, 0x00]));
  const name = seq(set(seq(oid("2.5.4.3"), utf8(commonName))));
  const now = Date.now();
  const tbs = seq(
    der(0xa0, integer(Buffer.from([2]))), // v3
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(8)])),
    sha256WithRsa,
    name,
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 86400_000))),
    name,
    publicKeyDer,
  );
  const signature = sign("sha256", tbs, privateKey);
  return seq(tbs, sha256WithRsa, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

const pem = (derBytes: Buffer) => `-----BEGIN CERTIFICATE-----\n${derBytes.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END CERTIFICATE-----\n`;
const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export interface TokenRequest {
  method: string;
  user?: string;
  scopes: string[];
  service?: string;
  grantType?: string;
}

export interface TokenServer {
  auth: TokenAuthConfig;
  /** Every token request seen, in order. */
  requests: TokenRequest[];
  stop(): Promise<void>;
}

export interface TokenServerOptions {
  /** user → password accepted with Basic on GET. */
  users: Record<string, string>;
  /** refresh tokens accepted on POST (identity tokens). */
  refreshTokens?: Record<string, string>;
  /** Give anonymous callers pull-only tokens (like Docker Hub); default: refuse them. */
  anonymousPull?: boolean;
}

function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const m = /^([a-z]+):(.+):([a-z*,]+)$/.exec(scope);
  return m ? { type: m[1]!, name: m[2]!, actions: m[3]!.split(",") } : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of req) body += String(chunk);
  return body;
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const certDer = selfSignedCertificate(createPrivateKey(privateKey.export({ format: "pem", type: "pkcs8" })), publicKey.export({ format: "der", type: "spki" }) as Buffer, "pwas test token issuer");
  const service = "pwas-test-registry";
  const issuer = "pwas-test-issuer";
  const requests: TokenRequest[] = [];

  const issue = (subject: string, scopes: string[], pullOnly: boolean): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes
      .map(parseScope)
      .filter((s): s is NonNullable<typeof s> => s !== undefined)
      .map((s) => ({ ...s, actions: pullOnly ? s.actions.filter((a) => a === "pull") : s.actions }));
    const header = { typ: "JWT", alg: "RS256", x5c: [certDer.toString("base64")] };
    const claims = { iss: issuer, sub: subject, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign("sha256", Buffer.from(input), privateKey))}`;
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== "/token") return reply(404, { error: "not found" });
    if (req.method === "POST") {
      const form = new URLSearchParams(await readBody(req));
      const scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
      const grantType = form.get("grant_type") ?? undefined;
      const user = Object.entries(options.refreshTokens ?? {}).find(([, t]) => t === form.get("refresh_token"))?.[0];
      requests.push({ method: "POST", scopes, service: form.get("service") ?? undefined, ...(grantType ? { grantType } : {}), ...(user ? { user } : {}) });
      if (grantType !== "refresh_token" || !user) return reply(401, { error: "invalid_grant" });
      return reply(200, { access_token: issue(user, scopes, false), expires_in: 300 });
    }
    const scopes = url.searchParams.getAll("scope");
    const auth = req.headers.authorization;
    let user: string | undefined;
    if (auth?.startsWith("Basic ")) {
      const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const [name, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
      requests.push({ method: "GET", user: name, scopes, service: url.searchParams.get("service") ?? undefined });
      if (options.users[name] === undefined || options.users[name] !== password) return reply(401, { details: "invalid credentials" });
      user = name;
    } else {
      requests.push({ method: "GET", scopes, service: url.searchParams.get("service") ?? undefined });
      if (!options.anonymousPull) return reply(401, { details: "authentication required" });
    }
    return reply(200, { token: issue(user ?? "anonymous", scopes, user === undefined), expires_in: 300 });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    auth: { realm: `http://127.0.0.1:${port}/token`, service, issuer, rootCertPem: pem(certDer) },
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** sha256 fingerprint, for debugging certificate problems. */
export const fingerprint = (derBytes: Buffer): string => createHash("sha256").update(derBytes).digest("hex");
