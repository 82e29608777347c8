// A real OCI registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1
// with a random port and temporary storage, optionally with token authentication.
// Install it with `apt-get install docker-registry` (.ci/run does).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  /** PEM of the certificate whose key signs the tokens. */
  rootCertPem: string;
}

export interface RunningRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  /** Where the registry keeps its blobs (tests tamper with it). */
  storageDir: string;
  logs(): string;
  stop(): Promise<void>;
}

function findBinary(): string {
  const candidates = [...(process.env.PATH ?? "").split(delimiter).map((d) => join(d, "docker-registry")), "/usr/bin/docker-registry"];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) {
    throw new Error(
      "docker-registry is not installed, and the OCI tests need a real registry. Install it: apt-get update && apt-get install -y docker-registry (see .ci/run)",
    );
  }
  return found;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function configYaml(port: number, storage: string, auth?: TokenAuthConfig, certFile?: string): string {
  const lines = [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(storage)}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "  secret: pwas-test-secret",
  ];
  if (auth && certFile) {
    lines.push("auth:", "  token:", `    realm: ${JSON.stringify(auth.realm)}`, `    service: ${JSON.stringify(auth.service)}`, `    issuer: ${JSON.stringify(auth.issuer)}`, `    rootcertbundle: ${JSON.stringify(certFile)}`);
  }
  return `${lines.join("\n")}\n`;
}

async function waitUntilServing(host: string, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}:\n${logs()}`);
    try {
      const r = await fetch(`http://${host}/v2/`);
      await r.body?.cancel();
      // 200 when anonymous, 401 with token auth: either way the API is up.
      if (r.headers.get("docker-distribution-api-version") === "registry/2.0") return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not start within 15 s:\n${logs()}`);
}

export async function startRegistry(options: { tokenAuth?: TokenAuthConfig } = {}): Promise<RunningRegistry> {
  const binary = findBinary();
  const dir = await mkdtemp(join(tmpdir(), "pwas-registry-"));
  const storageDir = join(dir, "storage");
  let certFile: string | undefined;
  if (options.tokenAuth) {
    certFile = join(dir, "root.crt");
    await writeFile(certFile, options.tokenAuth.rootCertPem);
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const configFile = join(dir, "config.yml");
    await writeFile(configFile, configYaml(port, storageDir, options.tokenAuth, certFile));
    let output = "";
    const child = spawn(binary, ["serve", configFile], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      await waitUntilServing(host, child, () => output);
    } catch (error) {
      child.kill("SIGKILL");
      await exited;
      // Another process may have taken the port between freePort() and bind: try another.
      if (attempt < 3 && /address already in use/.test(output)) continue;
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return {
      host,
      storageDir,
      logs: () => output,
      async stop() {
        if (child.exitCode === null) {
          child.kill("SIGTERM");
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
