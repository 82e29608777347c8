// Running pwas from the CLI tests: in-process through main() with its output captured,
// or as a subprocess (real exit codes, stderr, and a working directory of the test's
// choosing).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { main } from "../../cli/index.js";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ENTRY = fileURLToPath(new URL("../../cli/index.ts", import.meta.url));
/** tsx resolved from here, so children run from any working directory. */
const TSX = import.meta.resolve("tsx");

export interface PwasResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `pwas <args>` in this process. Only string chunks are captured: under `node --test` the
 * runner itself writes binary frames to stdout, and those must pass through untouched.
 */
export async function runPwas(args: string[]): Promise<PwasResult> {
  const out: string[] = [];
  const err: string[] = [];
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const capture = (sink: string[], original: typeof process.stdout.write) =>
    function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      if (typeof chunk === "string") {
        sink.push(chunk);
        return true;
      }
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof process.stdout.write;
  process.stdout.write = capture(out, stdoutWrite);
  process.stderr.write = capture(err, stderrWrite);
  try {
    const code = await main(["node", "pwas", ...args]);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
}

/** `node --import tsx cli/index.ts <args>` as a child process in `cwd`. */
export function spawnPwas(args: string[], options: { cwd?: string; input?: string } = {}): Promise<PwasResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, ENTRY, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    if (options.input !== undefined) child.stdin!.end(options.input);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
