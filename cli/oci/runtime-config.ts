// runtime-config.json (solo-io wasm spec, tools/wasme/pkg/config/runtime.proto as JSON).
// Istio never reads it; wasme and other tools display it. pwas writes the proto's JSON names.
import { readFile } from "node:fs/promises";
import { CliError, ExitCode } from "../errors.js";
import { canonicalJson } from "./manifest.js";
import { proxyAbiVersions } from "./wasm-module.js";

export interface RuntimeConfig {
  type: string;
  abiVersions: string[];
  config: { rootIds: string[] };
}

export const RUNTIME_CONFIG_FILE = "runtime-config.json";

export function generateRuntimeConfig(module: Uint8Array, rootIds: readonly string[]): RuntimeConfig {
  return { type: "envoy_proxy", abiVersions: proxyAbiVersions(module), config: { rootIds: [...rootIds] } };
}

export const runtimeConfigBytes = (config: RuntimeConfig): Uint8Array => canonicalJson(config);

/** Reads a user-supplied runtime config; it must be a JSON object. Its bytes are kept as written. */
export async function readRuntimeConfigFile(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new CliError(`cannot read runtime config ${path}: ${(error as Error).message}`, ExitCode.Usage, "pass an existing JSON file to --runtime-config");
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new CliError(`runtime config ${path} is not JSON: ${(error as Error).message}`, ExitCode.Invalid, 'write it like {"type":"envoy_proxy","abiVersions":["proxy_abi_version_0_2_1"],"config":{"rootIds":["my-root"]}}');
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CliError(`runtime config ${path} must be a JSON object`, ExitCode.Invalid, 'write it like {"type":"envoy_proxy","config":{"rootIds":["my-root"]}}');
  }
  return bytes;
}
