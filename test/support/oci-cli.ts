// Running pwas from the OCI tests: in-process through main() (fast; output captured) or as
// a subprocess (real exit codes and stderr), plus small wasm modules to package.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";
import { main } from "../../cli/index.js";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `pwas <args>` in this process with `env` overrides; stdout/stderr are captured. */
export async function pwas(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const out: string[] = [];
  const err: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(["node", "pwas", ...args]);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Runs `node --import tsx cli/index.ts <args>` as a separate process. */
export function pwasProcess(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "cli/index.ts", ...args], { cwd: REPO_ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const wabt = await wabtInit();

/** A small proxy-wasm-looking module (ABI 0.2.1 marker); `salt` makes distinct modules. */
export function testModule(salt = "pwas"): Uint8Array {
  const wat = `(module
    (memory (export "memory") 1)
    (data (i32.const 16) "${salt.replace(/["\\]/g, "_")}")
    (func (export "proxy_abi_version_0_2_1"))
    (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))`;
  const parsed = wabt.parseWat("test.wat", wat);
  try {
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

/** The value printed after `label` (e.g. "digest:") in pwas output. */
export function field(output: string, label: string): string | undefined {
  const line = output.split("\n").find((l) => l.includes(label));
  return line?.slice(line.indexOf(label) + label.length).trim().split(/\s+/)[0];
}
