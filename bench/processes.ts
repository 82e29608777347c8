// Servers of the serve benchmarks, each in its own process, and their memory.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

export interface ServerProcess {
  url: URL;
  process: ChildProcess;
  /** Output after the "listening" line is drained and dropped unless kept here. */
  output: string[];
}

/** Starts a server in its own process and waits for the URL it prints. */
export function startProcess(args: string[], keepOutput = false): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const kept: string[] = [];
  return new Promise((resolvePromise, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s,]+)/.exec(output);
      if (!match) return;
      // From here on the access log is drained (kept only when asked): the load generator
      // runs in this process and must not spend its time on the proxy's output.
      child.stdout!.off("data", onData);
      if (keepOutput) child.stdout!.on("data", (c: Buffer) => kept.push(c.toString()));
      else child.stdout!.resume();
      resolvePromise({ url: new URL(match[1]), process: child, output: kept });
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}: ${output}`)));
  });
}

/** Resident memory of a process, from /proc. */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : NaN;
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The median of a list of figures. */
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
