// npm run bench (part 5): gRPC unary requests per second through `pwas serve` running the
// header-append chain (h2c in, h2c to the upstream), against the same calls straight to the
// gRPC service, in the same run: a @grpc/grpc-js echo server, and a @grpc/grpc-js client
// keeping CONCURRENCY calls in flight on one HTTP/2 connection. pwas serve runs in its own
// process, as in the HTTP benchmark.
import * as grpc from "@grpc/grpc-js";
import { median, mib, rssBytes, startProcess } from "./processes.js";

const quick = process.argv.includes("--quick");
const CALLS = quick ? 2_000 : 10_000;
const CONCURRENCY = 32;
const ROUNDS = quick ? 1 : 5;

const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const ECHO = { Say: { path: "/echo.Echo/Say", requestStream: false, responseStream: false, ...raw } } as grpc.ServiceDefinition;
type EchoClient = grpc.Client & { Say(message: Buffer, callback: (error: grpc.ServiceError | null, reply?: Buffer) => void): void };

const server = new grpc.Server();
server.addService(ECHO, { Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request) });
const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));

/** Calls per second for CALLS unary calls, CONCURRENCY at a time. */
async function callsPerSecond(address: string): Promise<number> {
  const Client = grpc.makeGenericClientConstructor(ECHO, "Echo");
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as EchoClient;
  const message = Buffer.from("hello from the benchmark");
  const call = () =>
    new Promise<void>((resolve, reject) => client.Say(message, (error, reply) => (error ? reject(error) : reply?.equals(message) ? resolve() : reject(new Error("wrong echo")))));
  try {
    await call(); // connect
    let started = 0;
    const begin = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (started < CALLS) {
          started++;
          await call();
        }
      }),
    );
    return CALLS / ((performance.now() - begin) / 1000);
  } finally {
    client.close();
  }
}

const served = await startProcess(["dist/cli.js", "serve", "-p", "bench/header-append-chain.yaml", "--upstream", `http://127.0.0.1:${port},http2`, "--listen", "127.0.0.1:0", "--no-watch", "--log-level", "warn"]);
try {
  const direct = `127.0.0.1:${port}`;
  const through = `${served.url.hostname}:${served.url.port}`;
  await callsPerSecond(direct);
  await callsPerSecond(through);
  const memoryBefore = rssBytes(served.process.pid!);
  const ratios: number[] = [];
  let lastDirect = 0;
  let lastServe = 0;
  for (let round = 0; round < ROUNDS; round++) {
    lastDirect = await callsPerSecond(direct);
    lastServe = await callsPerSecond(through);
    ratios.push(lastServe / lastDirect);
  }
  const memoryAfter = rssBytes(served.process.pid!);
  console.log("\n## gRPC unary calls through pwas serve (the header-append chain, h2c both ways) against the same calls straight to the service");
  console.log(`${CALLS} calls, ${CONCURRENCY} in flight on one connection, ${ROUNDS} alternating rounds; last round: ${lastServe.toFixed(0)} calls/s through pwas serve, ${lastDirect.toFixed(0)} calls/s direct`);
  console.log(`ratio ${median(ratios).toFixed(2)}× (median of rounds); rounds: ${ratios.map((r) => r.toFixed(2)).join(", ")}`);
  console.log(`pwas serve process memory (RSS): ${mib(memoryBefore)} after warm-up, ${mib(memoryAfter)} after the load (${(memoryAfter / memoryBefore).toFixed(2)}×)`);
} finally {
  served.process.kill("SIGINT");
  server.forceShutdown();
}
