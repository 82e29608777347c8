// Instant hosts: Host.load + start + one stream of header-append, the way a test file pays
// for it. node --test runs every test file in a process of its own, and a file that loads
// the same plugin in every test is what the compiled-module cache is for. So each variant
// runs in a fresh process (`--child`), like a test file, and the processes of the variants
// alternate over the rounds, so drift of this VM falls on all of them alike. Measuring in
// the benchmark's own process would time the loads against a heap that a million streams
// and the uncached variant's compiles have grown, which no test file has.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { clearCompiledModuleCache, Host, LogLevel, type HostOptions } from "proxy-wasm-as";

export interface InstantHostVariant {
  label: string;
  /** Every load compiles the module again, as every load did before the cache. */
  uncached: boolean;
  /** The default step budget (what tests get), or none. */
  stepBudget: boolean;
}

export const INSTANT_HOST_VARIANTS: readonly InstantHostVariant[] = [
  { label: "compiled on every load (as before the cache), no budget", uncached: true, stepBudget: false },
  { label: "cached, no budget", uncached: false, stepBudget: false },
  { label: "cached, default step budget (what tests get)", uncached: false, stepBudget: true },
];

const WARM_UP = 20;
const REQUEST: [string, string][] = [[":method", "GET"], [":path", "/productpage"], [":authority", "bookinfo.example.com"], ["user-agent", "bench"]];
const RESPONSE: [string, string][] = [[":status", "200"], ["content-type", "text/html"]];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** In the child: `loads` loads after a warm-up; the median in ms. */
async function measureHere(variant: InstantHostVariant, loads: number): Promise<number> {
  const wasm = new Uint8Array(readFileSync(new URL("../examples/header-append/build/release.wasm", import.meta.url)));
  const options: HostOptions = {
    pluginConfig: JSON.stringify({ "first-header": "some-value", "another-header": "another-value" }),
    logLevel: LogLevel.Info,
    ...(variant.stepBudget ? {} : { stepBudget: false }),
  };
  const once = async (): Promise<number> => {
    if (variant.uncached) clearCompiledModuleCache(wasm);
    const start = process.hrtime.bigint();
    const host = await Host.load(wasm, options);
    const started = host.start();
    if (!started.ok) throw new Error(started.message);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    stream.sendResponseHeaders(RESPONSE, true);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (!stream.completed) throw new Error("the stream did not complete");
    return ms;
  };
  for (let i = 0; i < WARM_UP; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < loads; i++) samples.push(await once());
  return median(samples);
}

/**
 * Runs each variant `rounds` times, each time in a fresh process of `loads` loads; per
 * variant, the median of the processes' medians, in ms.
 */
export function measureInstantHosts(rounds: number, loads: number): number[] {
  const perVariant = INSTANT_HOST_VARIANTS.map(() => [] as number[]);
  const script = fileURLToPath(import.meta.url);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < INSTANT_HOST_VARIANTS.length; k++) {
      const index = (k + round) % INSTANT_HOST_VARIANTS.length;
      const child = spawnSync(process.execPath, ["--import", "tsx", script, "--child", String(index), String(loads)], { encoding: "utf8" });
      const ms = Number(/^median (\S+)$/m.exec(child.stdout ?? "")?.[1]);
      if (child.status !== 0 || !Number.isFinite(ms)) throw new Error(`instant-host child ${index} failed (${child.status}): ${child.stderr}`);
      perVariant[index]!.push(ms);
    }
  }
  return perVariant.map(median);
}

if (process.argv[2] === "--child") {
  const variant = INSTANT_HOST_VARIANTS[Number(process.argv[3])];
  if (!variant) throw new Error(`no instant-host variant ${process.argv[3]}`);
  console.log(`median ${await measureHere(variant, Number(process.argv[4]))}`);
}
