// npm run bench (part 4): a bounded soak of `pwas serve` with the default chain: requests
// mixing good and bad (allowed, challenged, forbidden, bodies, malformed, clients that
// reset mid-body), from concurrent clients. Fails unless the process is still up and
// answering at the end; prints its memory along the way and after an idle pause, with a
// verdict on whether it settled (the second half grows less than the first).
import { Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { startEchoUpstream } from "../cli/serve/echo-upstream.js";
import { mib, rssBytes, startProcess } from "./processes.js";

const quick = process.argv.includes("--quick");
const TOTAL = quick ? 10_000 : 100_000;
const CONCURRENCY = 16;
const IDLE_MS = quick ? 2000 : 10_000;

const upstream = await startEchoUpstream();
const served = await startProcess(["dist/cli.js", "serve", "-p", "examples/dev-chain.yaml", "--upstream", upstream.url.href, "--listen", "127.0.0.1:0", "--no-watch", "--log-level", "warn"]);
const { hostname, port } = served.url;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const body = Buffer.alloc(64 * 1024, 98);

/** One request of kind `i % 6`; resolves with the status, or "reset"/"closed". */
function one(i: number): Promise<number | string> {
  const kind = i % 6;
  if (kind === 4 || kind === 5) {
    return new Promise((resolveRaw) => {
      const socket = connect(Number(port), hostname);
      socket.on("error", () => resolveRaw("reset"));
      let answer = "";
      socket.on("data", (c: Buffer) => (answer += c.toString("latin1")));
      socket.on("close", () => resolveRaw(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0) || "closed"));
      if (kind === 4) socket.write("GET /bad\r\nheader without colon\r\n\r\n");
      else socket.write(`POST /headers HTTP/1.1\r\nhost: x\r\nallow: true\r\ncontent-length: 100000\r\n\r\n${"z".repeat(30_000)}`, () => setImmediate(() => socket.resetAndDestroy()));
    });
  }
  const [method, path, headers, payload] = [
    ["GET", "/headers", { allow: "true" }, undefined],
    ["GET", "/productpage", {}, undefined],
    ["GET", "/forbidden", {}, undefined],
    ["POST", "/upload", { allow: "true", "content-length": String(body.length) }, body],
  ][kind] as [string, string, Record<string, string>, Buffer | undefined];
  return new Promise((resolveRequest) => {
    const outgoing = httpRequest({ hostname, port, method, path, headers, agent }, (response) => {
      response.resume();
      response.on("end", () => resolveRequest(response.statusCode!));
      response.on("error", () => resolveRequest("reset"));
    });
    outgoing.on("error", () => resolveRequest("reset"));
    outgoing.end(payload);
  });
}

const counts = new Map<string, number>();
const samples: number[] = [rssBytes(served.process.pid!)];
let next = 0;
let done = 0;
const started = performance.now();
try {
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < TOTAL) {
        const outcome = String(await one(next++));
        counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
        if (++done % (TOTAL / 10) === 0) samples.push(rssBytes(served.process.pid!));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const idle = rssBytes(served.process.pid!);
  const last = await one(0);
  if (served.process.exitCode !== null || last !== 200) throw new Error(`pwas serve is not serving after the soak: exit ${served.process.exitCode}, last answer ${last}`);
  const half = Math.floor(samples.length / 2);
  const firstHalf = samples[half] - samples[0];
  const secondHalf = samples.at(-1)! - samples[half];
  console.log(`\n## Soak: ${TOTAL} requests through pwas serve (the default chain), ${CONCURRENCY} concurrent clients, good and bad mixed`);
  console.log(`${(TOTAL / seconds).toFixed(0)} requests/s; outcomes: ${[...counts].sort().map(([k, v]) => `${k} ×${v}`).join(", ")}; still up and answering: yes`);
  console.log(`memory (RSS) every ${TOTAL / 10} requests: ${samples.map(mib).join(" → ")}; after ${IDLE_MS / 1000} s idle: ${mib(idle)}`);
  const settles = secondHalf <= Math.max(firstHalf, 4 * 1024 * 1024);
  console.log(`growth: ${mib(firstHalf)} in the first half, ${mib(secondHalf)} in the second: ${settles ? "settles" : "STILL GROWING"}`);
  if (!settles) process.exitCode = 1;
} finally {
  agent.destroy();
  served.process.kill("SIGINT");
  await upstream.close();
}
