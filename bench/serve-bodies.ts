// npm run bench (part 3): large request bodies through `pwas serve` running the default
// chain (examples/dev-chain.yaml: plugins that do not touch bodies), against the same
// upload straight to the upstream, in the same run; and the proxy's peak memory while the
// largest body passes. Two more baselines show where the floor is: a plain Node reverse
// proxy, and a relay that copies TCP bytes and parses no HTTP at all. Target: ≤ 1.5× the direct time for 10 MB and 100 MB, memory bounded
// by Envoy's buffer limit rather than the body size.
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { median, mib, rssBytes, startProcess } from "./processes.js";

const quick = process.argv.includes("--quick");
const SIZES_MB = [10, 100];
const ROUNDS = quick ? 1 : 9;
// Until V8 has optimised both proxies and the client, a 10 MB upload takes two to five
// times its steady time; a dev proxy runs for hours, so the figures are the steady ones.
const WARM_UPS = quick ? 3 : 30;
const TARGET = 1.5;
const CHUNK = Buffer.alloc(64 * 1024, 97);

// An upstream that only counts the bytes it receives.
const upstream = createServer((request, response) => {
  let bytes = 0;
  request.on("data", (c: Buffer) => (bytes += c.length));
  request.on("end", () => response.end(String(bytes)));
});
await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
const upstreamUrl = new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`);

/** Uploads `size` bytes to `url`, returns the milliseconds until the upstream's answer ended. */
function upload(url: URL, size: number): Promise<number> {
  return new Promise((resolveUpload, reject) => {
    const started = performance.now();
    const outgoing = httpRequest(
      { hostname: url.hostname, port: url.port, method: "POST", path: "/upload", agent: false, headers: { "content-length": String(size), allow: "true" } },
      (response) => {
        let text = "";
        response.on("data", (c: Buffer) => (text += c));
        response.on("end", () => (text === String(size) ? resolveUpload(performance.now() - started) : reject(new Error(`${url.href}: ${response.statusCode} ${text.slice(0, 200)}`))));
      },
    );
    outgoing.on("error", reject);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const part = sent + CHUNK.length <= size ? CHUNK : CHUNK.subarray(0, size - sent);
        sent += part.length;
        if (sent === size) return void outgoing.end(part);
        if (!outgoing.write(part)) return void outgoing.once("drain", pump);
      }
    };
    pump();
  });
}

const plain = await startProcess(["bench/plain-proxy.mjs", upstreamUrl.href]);
const relay = await startProcess(["bench/tcp-relay.mjs", upstreamUrl.href]);
const served = await startProcess(["dist/cli.js", "serve", "-p", "examples/dev-chain.yaml", "--upstream", upstreamUrl.href, "--listen", "127.0.0.1:0", "--no-watch", "--log-level", "warn"]);
try {
  console.log("\n## Large request bodies through pwas serve (the default chain) against straight to the upstream");
  const fresh = rssBytes(served.process.pid!);
  // Warm every path up (JIT, connection set-up) before measuring.
  for (let i = 0; i < WARM_UPS; i++) {
    await upload(upstreamUrl, 10_000_000);
    await upload(served.url, 10_000_000);
    await upload(plain.url, 10_000_000);
    await upload(relay.url, 10_000_000);
  }
  const idle = rssBytes(served.process.pid!);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(served.process.pid!))), 20);
  for (const sizeMb of SIZES_MB) {
    const size = sizeMb * 1000 * 1000;
    const direct: number[] = [];
    const proxied: number[] = [];
    const plainProxied: number[] = [];
    const relayed: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      direct.push(await upload(upstreamUrl, size));
      proxied.push(await upload(served.url, size));
      plainProxied.push(await upload(plain.url, size));
      relayed.push(await upload(relay.url, size));
    }
    const ratio = median(proxied) / median(direct);
    console.log(
      `${sizeMb} MB: ${median(proxied).toFixed(0)} ms through pwas serve, ${median(direct).toFixed(0)} ms direct: ${ratio.toFixed(2)}× ` +
        `(median of ${ROUNDS}; target ≤ ${TARGET}: ${ratio <= TARGET ? "met" : "MISSED"}); a plain Node proxy without plugins: ${(median(plainProxied) / median(direct)).toFixed(2)}×; ` +
        `a TCP relay that parses nothing: ${(median(relayed) / median(direct)).toFixed(2)}×`,
    );
  }
  clearInterval(sampler);
  console.log(`pwas serve memory (RSS): ${mib(fresh)} at start, ${mib(idle)} idle after the warm-up, peak ${mib(peak)} while the bodies passed (${mib(peak - idle)} above idle; the largest body is ${SIZES_MB.at(-1)} MB)`);
} finally {
  served.process.kill("SIGINT");
  plain.process.kill();
  relay.process.kill();
  upstream.close();
}
