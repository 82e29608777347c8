// npm run bench: module sizes, per-stream cost of each example against its hand-written
// floor (same host calls, no SDK) and of the floor against a module that does nothing
// (the mock host's own cost), and linear memory over 1,000 and 1,000,000 streams.
// Every figure is a ratio to a baseline measured in this same run.
// Options: --quick (fewer streams, for a smoke run), --json FILE (write the results).
import { statSync, writeFileSync, renameSync } from "node:fs";
import wabtInit from "wabt";
import { Host, LogLevel, type HostOptions } from "proxy-wasm-as";
import { emptyModuleWat, headerAppendFloorWat, headerAuthorizationFloorWat } from "./floors.js";

const quick = process.argv.includes("--quick");
const jsonIndex = process.argv.indexOf("--json");
const jsonPath = jsonIndex > 0 ? process.argv[jsonIndex + 1] : undefined;

const SIZE_TARGET = 16 * 1024;
const COST_TARGET = 1.5;
// Timing in a VM is noisy: large samples and many rounds; --quick figures are a smoke test only.
const COST_STREAMS = quick ? 2_000 : 50_000;
const COST_ROUNDS = quick ? 3 : 9;
const MEMORY_STREAMS = quick ? 20_000 : 1_000_000;
const OPEN_AT_ONCE = 1_000;

type Pairs = [string, string][];
const REQUEST: Pairs = [[":method", "GET"], [":path", "/productpage"], [":authority", "bookinfo.example.com"], ["user-agent", "bench"], ["allow", "true"]];
const RESPONSE: Pairs = [[":status", "200"], ["content-type", "text/html"]];

const appendConfig = { "first-header": "some-value", "another-header": "another-value" };

interface Subject {
  name: string;
  load(): Promise<Host>;
}

const wabt = await wabtInit();
function compileWat(name: string, text: string): Uint8Array {
  const module = wabt.parseWat(name, text);
  try {
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

async function started(source: string | Uint8Array, options: HostOptions): Promise<Host> {
  const host = await Host.load(source, { logLevel: LogLevel.Info, ...options });
  const result = host.start();
  if (!result.ok) throw new Error(`${result.reason}: ${result.message}`);
  return host;
}

const examples = [
  {
    name: "header-append",
    sdk: { name: "SDK", load: () => started("examples/header-append/build/release.wasm", { rootId: "header-append", pluginConfig: appendConfig }) },
    floor: { name: "floor", load: () => started(compileWat("floor.wat", headerAppendFloorWat(appendConfig)), { pluginConfig: appendConfig }) },
  },
  {
    name: "header-authorization",
    sdk: { name: "SDK", load: () => started("examples/header-authorization/build/release.wasm", { rootId: "header-authorization" }) },
    floor: {
      name: "floor",
      load: () => started(compileWat("floor.wat", headerAuthorizationFloorWat("allow", "true", 403, "Forbidden by header-authorization Wasm plugin", "denied")), {}),
    },
  },
];
const empty: Subject = { name: "empty", load: () => started(compileWat("empty.wat", emptyModuleWat()), {}) };

/** One full stream: request headers, response headers with end of stream (log, done, delete follow). */
function oneStream(host: Host): void {
  const stream = host.newHttpStream();
  stream.sendRequestHeaders(REQUEST, true);
  stream.sendResponseHeaders(RESPONSE, true);
  if (!stream.completed) throw new Error("the stream did not complete");
}

function nsPerStream(host: Host, streams: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < streams; i++) oneStream(host);
  return Number(process.hrtime.bigint() - start) / streams;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs the JS collector between samples (npm run bench passes --expose-gc), so one sample does not pay for another's garbage. */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

/**
 * ns per stream of each subject: interleaved rounds after a warm-up, the order rotated
 * each round; returns the median per subject and, for any two subjects, the median of
 * their per-round ratios (samples measured close in time are less noisy).
 */
async function costs(subjects: Subject[]): Promise<{ medians: number[]; ratio(a: number, b: number): number }> {
  const hosts = await Promise.all(subjects.map((s) => s.load()));
  for (const host of hosts) nsPerStream(host, COST_STREAMS);
  const samples = hosts.map(() => [] as number[]);
  for (let round = 0; round < COST_ROUNDS; round++) {
    for (let k = 0; k < hosts.length; k++) {
      const i = (k + round) % hosts.length;
      collect();
      samples[i].push(nsPerStream(hosts[i], COST_STREAMS));
    }
  }
  const ratio = (a: number, b: number) => median(samples[a].map((value, round) => value / samples[b][round]));
  return { medians: samples.map(median), ratio };
}

/** Linear memory after `total` streams, run one at a time or `open` at a time. */
async function memoryOver(subject: Subject, total: number, open: number): Promise<{ after1k: number; afterAll: number }> {
  const host = await subject.load();
  let after1k = 0;
  let done = 0;
  while (done < total) {
    const batch = [];
    for (let i = 0; i < open; i++) {
      const stream = host.newHttpStream();
      stream.sendRequestHeaders(REQUEST, true);
      batch.push(stream);
    }
    for (const stream of batch) stream.sendResponseHeaders(RESPONSE, true);
    done += open;
    if (done === 1_000) after1k = host.memoryBytes;
  }
  return { after1k, afterAll: host.memoryBytes };
}

const results: Record<string, unknown> = { quick, streamsForCost: COST_STREAMS, streamsForMemory: MEMORY_STREAMS };
const lines: string[] = [];
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

lines.push("## Module size (release build)");
for (const example of examples) {
  const bytes = statSync(`examples/${example.name}/build/release.wasm`).size;
  results[`${example.name}.size`] = bytes;
  const target = example.name === "header-append" ? ` (target ≤ 16 KiB: ${(bytes / SIZE_TARGET).toFixed(2)}× of it, ${bytes <= SIZE_TARGET ? "met" : "MISSED"})` : "";
  lines.push(`${example.name}: ${bytes} bytes = ${kib(bytes)}${target}`);
}

lines.push("", `## Cost of one full stream in the mock host (${COST_ROUNDS} interleaved rounds of ${COST_STREAMS} streams; ratios are medians of per-round ratios)`);
for (const example of examples) {
  const { medians, ratio } = await costs([example.sdk, example.floor, empty]);
  const [sdk, floor, none] = medians;
  const overhead = ratio(0, 1);
  const hostCost = ratio(1, 2);
  results[`${example.name}.sdkOverFloor`] = overhead;
  results[`${example.name}.floorOverEmpty`] = hostCost;
  lines.push(
    `${example.name}: SDK ${(sdk / 1000).toFixed(1)} µs, floor ${(floor / 1000).toFixed(1)} µs, empty module ${(none / 1000).toFixed(1)} µs` +
      ` → SDK/floor ${overhead.toFixed(2)}× (target ≤ ${COST_TARGET}×, ${overhead <= COST_TARGET ? "met" : "MISSED"}); floor/empty ${hostCost.toFixed(2)}× (the host calls' cost)`,
  );
}

lines.push("", `## Linear memory after 1,000 and after ${MEMORY_STREAMS.toLocaleString("en")} streams`);
for (const example of examples) {
  for (const open of [1, OPEN_AT_ONCE]) {
    const { after1k, afterAll } = await memoryOver(example.sdk, MEMORY_STREAMS, open);
    results[`${example.name}.memory.open${open}`] = { after1k, afterAll };
    lines.push(
      `${example.name}, ${open === 1 ? "one stream at a time" : `${open} streams open at once`}: ${kib(after1k)} → ${kib(afterAll)}` +
        ` (${(afterAll / after1k).toFixed(2)}×, target 1.00×: ${afterAll === after1k ? "met" : "MISSED"})`,
    );
  }
}

console.log(lines.join("\n"));
if (jsonPath) {
  writeFileSync(`${jsonPath}.tmp`, JSON.stringify(results, null, 2) + "\n");
  renameSync(`${jsonPath}.tmp`, jsonPath);
}
