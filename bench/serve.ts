// npm run bench (part 2): requests per second through `pwas serve` running the
// header-append chain, against the same load on a plain Node reverse proxy without
// plugins, measured in the same run with autocannon; and the server's memory before and
// after the load. Target: ratio ≥ 0.7. Each proxy runs in its own process.
import autocannon from "autocannon";
import { startEchoUpstream } from "../cli/serve/echo-upstream.js";
import { median, mib, rssBytes, startProcess } from "./processes.js";

const quick = process.argv.includes("--quick");
const DURATION_S = quick ? 3 : 10;
const CONNECTIONS = 32;
const ROUNDS = quick ? 1 : 5;
const TARGET = 0.7;

async function requestsPerSecond(url: URL): Promise<number> {
  const result = await autocannon({ url: url.href, connections: CONNECTIONS, duration: DURATION_S, headers: { allow: "true" } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url.href}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.average;
}

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
  const ratio = median(ratios);
  console.log("\n## pwas serve (the header-append chain) against a plain Node reverse proxy");
  console.log(`${CONNECTIONS} connections, ${DURATION_S} s per run, ${ROUNDS} alternating rounds (autocannon); last round: ${lastServe.toFixed(0)} req/s through pwas serve, ${lastPlain.toFixed(0)} req/s through the plain proxy`);
  console.log(`ratio ${ratio.toFixed(2)}× (median of rounds; target ≥ ${TARGET}: ${ratio >= TARGET ? "met" : "MISSED"}); rounds: ${ratios.map((r) => r.toFixed(2)).join(", ")}`);
  console.log(`pwas serve process memory (RSS): ${mib(memoryBefore)} after warm-up, ${mib(memoryAfter)} after the load (${(memoryAfter / memoryBefore).toFixed(2)}×)`);
} finally {
  served.process.kill("SIGINT");
  plain.process.kill();
  await upstream.close();
}
