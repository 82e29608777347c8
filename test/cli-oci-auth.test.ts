// Registry authentication against a real registry with token auth (distribution's
// `auth: token:`, JWTs signed by the test token server and verified by the registry through
// rootcertbundle): every credential source, and the failures a user can act on.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { stringify } from "yaml";
import { pwas, pwasProcess, testModule } from "./support/oci-cli.js";
import { startProxy, type RunningProxy } from "./support/oci-proxy.js";
import { startTokenServer, type TokenServer } from "./support/oci-token-server.js";
import { startRegistry, type RunningRegistry } from "./support/registry.js";

let tokens: TokenServer;
let registry: RunningRegistry;
let anonymous: RunningRegistry;
let basicProxy: RunningProxy;
let work: string;
let layout: string;
let module: Uint8Array;

const USER = "alice";
const PASSWORD = "s3cret";
const REFRESH = "refresh-abc";

/** No ambient credentials: an empty docker config dir and no PWAS_REGISTRY_* variables. */
async function cleanEnv(extra: Record<string, string | undefined> = {}): Promise<Record<string, string | undefined>> {
  const dockerConfig = await mkdtemp(join(work, "docker-"));
  return { DOCKER_CONFIG: dockerConfig, PWAS_REGISTRY_USERNAME: undefined, PWAS_REGISTRY_PASSWORD: undefined, PWAS_REGISTRY_TOKEN: undefined, ...extra };
}

const basicAuth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");

before(async () => {
  tokens = await startTokenServer({ users: { [USER]: PASSWORD }, refreshTokens: { [USER]: REFRESH } });
  registry = await startRegistry({ tokenAuth: tokens.auth });
  anonymous = await startRegistry();
  basicProxy = await startProxy(anonymous.host, { basic: { user: USER, password: PASSWORD } });
  work = await mkdtemp(join(tmpdir(), "pwas-auth-"));
  module = testModule("auth");
  await writeFile(join(work, "m.wasm"), module);
  layout = join(work, "layout");
  const r = await pwas(["package", join(work, "m.wasm"), "--layout", layout, "--tag", "v1"]);
  assert.equal(r.code, 0, r.stderr);
  // The image every pull test reads.
  const push = await pwas(["push", layout, `${registry.host}/plugins/auth:v1`], await cleanEnv({ PWAS_REGISTRY_USERNAME: USER, PWAS_REGISTRY_PASSWORD: PASSWORD }));
  assert.equal(push.code, 0, push.stderr);
});

after(async () => {
  await basicProxy?.stop();
  await registry?.stop();
  await anonymous?.stop();
  await tokens?.stop();
});

async function pullsWith(env: Record<string, string | undefined>, extra: string[] = []): Promise<void> {
  const out = join(await mkdtemp(join(work, "pull-")), "p.wasm");
  const r = await pwas(["pull", `${registry.host}/plugins/auth:v1`, "--output", out, ...extra], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readFile(out), Buffer.from(module));
}

test("environment credentials: challenge → token (Basic to the realm) → Bearer, for push and pull", async () => {
  const before = tokens.requests.length;
  const env = await cleanEnv({ PWAS_REGISTRY_USERNAME: USER, PWAS_REGISTRY_PASSWORD: PASSWORD });
  const push = await pwas(["push", layout, `${registry.host}/plugins/env:v1`], env);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stderr, /the token realm http:\/\/127\.0\.0\.1:\d+ is a private\/loopback address: istio-agent .* refuses such realms/);
  const seen = tokens.requests.slice(before);
  assert.ok(seen.some((r) => r.method === "GET" && r.user === USER && r.service === "pwas-test-registry" && r.scopes.includes("repository:plugins/env:pull,push")), JSON.stringify(seen));
  await pullsWith(env);
});

test("no credentials: Auth exit code, what was looked at, and how to log in", async () => {
  const env = await cleanEnv();
  const r = await pwas(["pull", `${registry.host}/plugins/auth:v1`, "--output", join(work, "none.wasm")], env);
  assert.equal(r.code, 5);
  assert.match(r.stderr, /registry 127\.0\.0\.1:\d+ needs credentials \(Bearer\) to pull from plugins\/auth, and none were found \(no docker config at /);
  assert.match(r.stderr, /hint: log in with `docker login 127\.0\.0\.1:\d+`, set PWAS_REGISTRY_USERNAME\/PWAS_REGISTRY_PASSWORD/);
});

test("a wrong password: Auth exit code (5) and a message naming the user and where it came from", async () => {
  const r = await pwasProcess(["push", layout, `${registry.host}/plugins/wrong:v1`], await cleanEnv({ PWAS_REGISTRY_USERNAME: USER, PWAS_REGISTRY_PASSWORD: "nope" }));
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /pwas: the token server http:\/\/127\.0\.0\.1:\d+\/token refused user "alice" from PWAS_REGISTRY_USERNAME\/PWAS_REGISTRY_PASSWORD \(HTTP 401\)/);
  assert.match(r.stderr, /hint: check the username and password/);
});

test("docker config: base64 auth, identitytoken (OAuth2 refresh grant), credHelpers and credsStore", async () => {
  // auths with user:password
  let env = await cleanEnv();
  await writeFile(join(env.DOCKER_CONFIG!, "config.json"), JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: basicAuth(USER, PASSWORD) } } }));
  await pullsWith(env);

  // identitytoken → POST grant_type=refresh_token
  env = await cleanEnv();
  await writeFile(join(env.DOCKER_CONFIG!, "config.json"), JSON.stringify({ auths: { [registry.host]: { auth: basicAuth("<token>", ""), identitytoken: REFRESH } } }));
  const before = tokens.requests.length;
  await pullsWith(env);
  assert.ok(tokens.requests.slice(before).some((r) => r.method === "POST" && r.grantType === "refresh_token" && r.user === USER));

  // credHelpers: a helper on PATH that knows the password
  const bin = join(work, "bin");
  await mkdir(bin, { recursive: true });
  const helper = (name: string, body: string) => writeFile(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${body}\n`).then(() => chmod(join(bin, `docker-credential-${name}`), 0o755));
  await helper("pwastest", `read server\nprintf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"`);
  await helper("empty", `echo "credentials not found in native keychain"\nexit 1`);
  const path = `${bin}${delimiter}${process.env.PATH}`;
  env = await cleanEnv({ PATH: path });
  await writeFile(join(env.DOCKER_CONFIG!, "config.json"), JSON.stringify({ credHelpers: { [registry.host]: "pwastest" } }));
  await pullsWith(env);

  // credsStore without an entry falls back to the file's auths
  env = await cleanEnv({ PATH: path });
  await writeFile(join(env.DOCKER_CONFIG!, "config.json"), JSON.stringify({ credsStore: "empty", auths: { [registry.host]: { auth: basicAuth(USER, PASSWORD) } } }));
  await pullsWith(env);

  // a helper that is not installed is named in the error
  env = await cleanEnv();
  await writeFile(join(env.DOCKER_CONFIG!, "config.json"), JSON.stringify({ credsStore: "not-installed" }));
  const r = await pwas(["pull", `${registry.host}/plugins/auth:v1`, "--output", join(work, "x.wasm")], env);
  assert.equal(r.code, 5);
  assert.match(r.stderr, /credential helper docker-credential-not-installed is not installed/);
});

test("--secret: a kubernetes.io/dockerconfigjson Secret (what imagePullSecret names)", async () => {
  const dockerconfigjson = JSON.stringify({ auths: { [registry.host]: { username: USER, password: PASSWORD, auth: basicAuth(USER, PASSWORD) } } });
  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "pull-secret", namespace: "istio-system" }, type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": Buffer.from(dockerconfigjson).toString("base64") } };
  await writeFile(join(work, "secret.yaml"), `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n---\n${stringify(secret)}`);
  // Environment credentials are wrong: the secret wins.
  await pullsWith(await cleanEnv({ PWAS_REGISTRY_USERNAME: USER, PWAS_REGISTRY_PASSWORD: "wrong" }), ["--secret", join(work, "secret.yaml")]);

  await writeFile(join(work, "opaque.yaml"), stringify({ ...secret, type: "Opaque" }));
  let r = await pwas(["pull", `${registry.host}/plugins/auth:v1`, "--output", join(work, "o.wasm"), "--secret", join(work, "opaque.yaml")], await cleanEnv());
  assert.equal(r.code, 3);
  assert.match(r.stderr, /holds no Secret of type kubernetes\.io\/dockerconfigjson; found pull-secret \(type Opaque\)/);
  assert.match(r.stderr, /kubectl create secret docker-registry/);

  const elsewhere = { ...secret, data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths: { "ghcr.io": { auth: basicAuth("a", "b") } } })).toString("base64") } };
  await writeFile(join(work, "elsewhere.yaml"), stringify(elsewhere));
  r = await pwas(["pull", `${registry.host}/plugins/auth:v1`, "--output", join(work, "e.wasm"), "--secret", join(work, "elsewhere.yaml")], await cleanEnv());
  assert.equal(r.code, 5);
  assert.match(r.stderr, /has no entry for 127\.0\.0\.1:\d+ \(it has: ghcr\.io\)/);
});

test("PWAS_REGISTRY_TOKEN is sent as the Bearer token without a token exchange", async () => {
  const response = await fetch(`${tokens.auth.realm}?service=${tokens.auth.service}&scope=repository:plugins/auth:pull`, { headers: { authorization: `Basic ${basicAuth(USER, PASSWORD)}` } });
  const { token } = (await response.json()) as { token: string };
  const before = tokens.requests.length;
  await pullsWith(await cleanEnv({ PWAS_REGISTRY_TOKEN: token }));
  assert.equal(tokens.requests.length, before, "no token request");
  const r = await pwas(["pull", `${registry.host}/plugins/auth:v1`, "--output", join(work, "t.wasm")], await cleanEnv({ PWAS_REGISTRY_TOKEN: "not-a-jwt" }));
  assert.equal(r.code, 5);
  assert.match(r.stderr, /refused the registry token from PWAS_REGISTRY_TOKEN/);
});

test("Basic authentication (a registry behind a Basic-auth proxy)", async () => {
  const ref = `${basicProxy.host}/plugins/basic:v1`;
  let r = await pwas(["push", layout, ref], await cleanEnv({ PWAS_REGISTRY_USERNAME: USER, PWAS_REGISTRY_PASSWORD: PASSWORD }));
  assert.equal(r.code, 0, r.stderr);
  const out = join(work, "basic.wasm");
  r = await pwas(["pull", ref, "--output", out], await cleanEnv({ PWAS_REGISTRY_USERNAME: USER, PWAS_REGISTRY_PASSWORD: PASSWORD }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readFile(out), Buffer.from(module));
  r = await pwas(["pull", ref, "--output", out], await cleanEnv({ PWAS_REGISTRY_USERNAME: USER, PWAS_REGISTRY_PASSWORD: "bad" }));
  assert.equal(r.code, 5);
  assert.match(r.stderr, /refused user "alice" from PWAS_REGISTRY_USERNAME\/PWAS_REGISTRY_PASSWORD/);
  r = await pwas(["pull", ref, "--output", out], await cleanEnv());
  assert.equal(r.code, 5);
  assert.match(r.stderr, /needs credentials \(Basic\)/);
});

test("credentials never appear in anything pwas prints, whether the command works, retries or fails", async () => {
  const printed: string[] = [];
  const run = async (args: string[], env: Record<string, string | undefined>) => {
    const r = await pwasProcess(args, env);
    printed.push(`$ pwas ${args.join(" ")} → ${r.code}\n${r.stdout}${r.stderr}`);
    return r;
  };
  const good = await cleanEnv({ PWAS_REGISTRY_USERNAME: USER, PWAS_REGISTRY_PASSWORD: PASSWORD });
  const wrongSecret = "wr0ng-Pa55word-visible?";
  const wrong = await cleanEnv({ PWAS_REGISTRY_USERNAME: USER, PWAS_REGISTRY_PASSWORD: wrongSecret });
  assert.equal((await run(["push", layout, `${registry.host}/plugins/quiet:v1`, "--json"], good)).code, 0);
  assert.equal((await run(["pull", `${registry.host}/plugins/quiet:v1`, "--output", join(work, "quiet.wasm")], good)).code, 0);
  assert.equal((await run(["verify", `${registry.host}/plugins/quiet:v1`], good)).code, 0);
  assert.equal((await run(["pull", `${registry.host}/plugins/quiet:v1`, "--output", join(work, "w.wasm")], wrong)).code, 5);
  assert.equal((await run(["push", layout, `${basicProxy.host}/plugins/quiet:v1`], wrong)).code, 5);
  const dockerEnv = await cleanEnv();
  await writeFile(join(dockerEnv.DOCKER_CONFIG!, "config.json"), JSON.stringify({ auths: { [basicProxy.host]: { auth: basicAuth(USER, wrongSecret) } } }));
  assert.equal((await run(["pull", `${basicProxy.host}/plugins/quiet:v1`, "--output", join(work, "d.wasm")], dockerEnv)).code, 5);
  const all = printed.join("\n");
  for (const secret of [PASSWORD, wrongSecret, basicAuth(USER, PASSWORD), basicAuth(USER, wrongSecret), REFRESH]) {
    assert.ok(!all.includes(secret), `"${secret}" was printed:\n${all}`);
  }
  assert.doesNotMatch(all, /Bearer [A-Za-z0-9._-]{8,}|Basic [A-Za-z0-9+/=]{8,}/, "no Authorization value either");
});
