// npm run bench (part 2): requests per second through `pwas serve` running the
// header-append chain, against the same load on a plain Node reverse proxy without
// plugins, measured in the same run with autocannon; and the server's memory before and
// after the load. Target: ratio ≥ 0.7. Each proxy runs in its own process.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { startEchoUpstream } from "../cli/serve/echo-upstream.js";

const quick = process.argv.includes("--quick");
const DURATION_S = quick ? 3 : 10;
const CONNECTIONS = 32;
const ROUNDS = quick ? 1 : 5;
const TARGET = 0.7;

interface Server {
  url: URL;
  process: ChildProcess;
}

/** Starts a server in its own process and waits for the URL it prints. */
function startProcess(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolvePromise, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s,]+)/.exec(output);
      if (!match) return;
      // From here on the access log is drained and dropped: the load generator runs in
      // this process and must not spend its time on the proxy's output.
      child.stdout!.off("data", onData);
      child.stdout!.resume();
      resolvePromise({ url: new URL(match[1]), process: child });
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}: ${output}`)));
  });
}

/** Resident memory of a process, from /proc. */
function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : NaN;
}

async function requestsPerSecond(url: URL): Promise<number> {
  const result = await autocannon({ url: url.href, connections: CONNECTIONS, duration: DURATION_S, headers: { allow: "true" } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url.href}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.average;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const upstream = await startEchoUpstream();
const plain = await startProcess(["bench/plain-proxy.mjs", upstream.url.href]);
const served = await startProcess(["dist/cli.js", "serve", "-p", "bench/header-append-chain.yaml", "--upstream", upstream.url.href, "--listen", "127.0.0.1:0", "--no-watch", "--log-level", "warn"]);
try {
  // Warm both up, then alternate to share the machine's noise.
  await autocannon({ url: plain.url.href, connections: CONNECTIONS, duration: 2 });
  await autocannon({ url: served.url.href, connections: CONNECTIONS, duration: 2, headers: { allow: "true" } });
  const memoryBefore = rssBytes(served.process.pid!);
  const ratios: number[] = [];
  let lastServe = 0;
  let lastPlain = 0;
  for (let round = 0; round < ROUNDS; round++) {
    lastPlain = await requestsPerSecond(plain.url);
    lastServe = await requestsPerSecond(served.url);
    ratios.push(lastServe / lastPlain);
  }
  const memoryAfter = rssBytes(served.process.pid!);
  const ratio = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
  console.log("\n## pwas serve (the header-append chain) against a plain Node reverse proxy");
  console.log(`${CONNECTIONS} connections, ${DURATION_S} s per run, ${ROUNDS} alternating rounds (autocannon); last round: ${lastServe.toFixed(0)} req/s through pwas serve, ${lastPlain.toFixed(0)} req/s through the plain proxy`);
  console.log(`ratio ${ratio.toFixed(2)}× (median of rounds; target ≥ ${TARGET}: ${ratio >= TARGET ? "met" : "MISSED"}); rounds: ${ratios.map((r) => r.toFixed(2)).join(", ")}`);
  console.log(`pwas serve process memory (RSS): ${mib(memoryBefore)} after warm-up, ${mib(memoryAfter)} after the load (${(memoryAfter / memoryBefore).toFixed(2)}×)`);
} finally {
  served.process.kill("SIGINT");
  plain.process.kill();
  await upstream.close();
}
