// Shared by the example tests: load an example's release build into the mock host, and
// read the configuration the example ships (config.json, wasmplugin.yaml's pluginConfig).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { Host, LogLevel, measureCost, type CostPerRun, type HostOptions } from "proxy-wasm-as";

export interface Example {
  /** build/release.wasm, read once. */
  readonly wasm: Uint8Array;
  /** config.json as shipped (text). */
  readonly configJson: string;
  /** wasmplugin.yaml as shipped (text). */
  readonly wasmPluginYaml: string;
  /** Loads the release build with `options` (nothing started yet). */
  load(options?: HostOptions): Promise<Host>;
  /** Loads and starts; throws with the plugin's logs if the start fails. */
  start(options?: HostOptions): Promise<Host>;
  /**
   * Loads and starts with a configuration the plugin must refuse: asserts that configure
   * failed with exactly one log line, `line` at error level, and that no stream can open.
   */
  expectRejected(options: HostOptions, line: string): Promise<Host>;
}

/** `dir` is the example's directory, e.g. `new URL("../", import.meta.url)` from its test folder. */
export function example(dir: URL): Example {
  const release = new URL("build/release.wasm", dir);
  if (!existsSync(release)) {
    throw new Error(`${release.pathname} is missing: run \`npm run build:examples\` from the repository root first`);
  }
  const wasm = new Uint8Array(readFileSync(release));
  // Loaded from bytes, so the map beside the module is named: failure reports then show source lines.
  const withMap = (options: HostOptions): HostOptions => ({ sourceMap: new URL("build/release.wasm.map", dir), ...options });
  return {
    wasm,
    configJson: readFileSync(new URL("config.json", dir), "utf8"),
    wasmPluginYaml: readFileSync(new URL("wasmplugin.yaml", dir), "utf8"),
    load: (options = {}) => Host.load(wasm, withMap(options)),
    async start(options = {}) {
      const host = await Host.load(wasm, withMap(options));
      const result = host.start();
      if (!result.ok) {
        throw new Error(`start failed (${result.reason}): ${host.logs.map((e) => e.message).join(" | ")}`);
      }
      return host;
    },
    async expectRejected(options, line) {
      const host = await Host.load(wasm, withMap(options));
      const result = host.start();
      assert.equal(result.ok === false && result.reason, "configureFailed");
      assert.equal(host.state, "configureFailed");
      assert.deepEqual(host.logs.map((e) => [e.level, e.message]), [[LogLevel.Error, line]]);
      assert.throws(() => host.newHttpStream(), /did not start \(configureFailed\)/);
      return host;
    },
  };
}

/**
 * The `pluginConfig:` block of a WasmPlugin YAML as the object Istio would send, for the
 * flat `key: value` blocks the examples use (a quoted value is a string, digits a number).
 */
export function wasmPluginConfig(yaml: string): Record<string, string | number> {
  const lines = yaml.split("\n");
  const start = lines.findIndex((line) => /^\s*pluginConfig:\s*$/.test(line));
  if (start < 0) throw new Error("no pluginConfig block");
  const indent = lines[start]!.search(/\S/);
  const config: Record<string, string | number> = {};
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    if (line.search(/\S/) <= indent) break;
    const match = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!match) throw new Error(`unexpected pluginConfig line: ${line}`);
    const [, key, raw] = match as unknown as [string, string, string];
    config[key.trim()] = /^".*"$/.test(raw) ? (JSON.parse(raw) as string) : /^\d+$/.test(raw) ? Number(raw) : raw;
  }
  return config;
}

/**
 * What one request costs the plugin by the cost meter (WebAssembly instructions and host
 * calls: the same on every machine), the mean over 2,048 requests after measureCost's
 * warm-up (each span holds a few of the collector's periods), asserted against a budget:
 * a change that makes every request dearer fails here and must say why.
 * `host` must be loaded with `meterCost: true`.
 */
export function assertCostPerRequest(host: Host, request: (host: Host) => void, budget: { instructions: number; hostCalls: number }): CostPerRun {
  const cost = measureCost(host, 2048, request);
  if (process.env.PWAS_PRINT_COST) console.log(`cost: ${cost.instructions.toFixed(1)} instructions, ${cost.hostCalls.toFixed(2)} host calls a request`);
  assert.ok(cost.instructions <= budget.instructions, `${cost.instructions.toFixed(0)} instructions a request, over the budget of ${budget.instructions}`);
  assert.equal(cost.hostCalls, budget.hostCalls, "host calls a request");
  return cost;
}
