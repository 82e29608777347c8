// Would Envoy load this module? The checks a real host applies before it runs a plugin
// (ABI.md §1–§2, PACKAGING.md §1.2/§1.5), each with what to change when it fails. The
// parsing and linking rules are the mock host's own (runtime-mock/wasm), so `pwas verify`,
// `pwas build` and `Host.load` can never disagree.
import { inspectModule, ModuleLoadError, type ModuleInfo } from "../../runtime-mock/wasm/module.js";
import { checkExports, checkImports } from "../../runtime-mock/wasm/signatures.js";
import type { AbiVersion } from "../../runtime-mock/wasm/types.js";
import { Host } from "../../runtime-mock/host.js";
import { sha256Hex } from "../oci/digest.js";
import { startFunctionIndex } from "./start-section.js";
import { DEFAULT_MAX_MODULE_BYTES, isGzip, isTar, isWasm, unwrapModule, UnwrapError, type Wrapping } from "./unwrap.js";

export type CheckStatus = "pass" | "warn" | "fail" | "skip";

export interface Check {
  /** Stable id for --json consumers: format, size, abi, imports, exports, start, instantiate. */
  id: string;
  status: CheckStatus;
  message: string;
  /** What to change (fail) or why it matters (warn). */
  hint?: string;
}

export interface ModuleReport {
  /** Where the bytes came from (a path, or "plugin.wasm in <image>"). */
  source: string;
  /** Size of the module after unwrapping. */
  size: number;
  /** sha256 of the unwrapped module: what an http(s) WasmPlugin's spec.sha256 must be. */
  sha256: string;
  /** gzip/tar layers removed (only for inputs Istio fetches over http(s)). */
  layers: Wrapping[];
  abiVersion?: AbiVersion;
  imports?: string[];
  checks: Check[];
}

export interface ModuleCheckOptions {
  source: string;
  /** ISTIO_WASM_MAX_BINARY_SIZE_BYTES; default 256 MiB. */
  maxBytes?: number;
  /**
   * Unwrap gzip/tar first, as Istio does for http(s) URLs. Off for plugin.wasm taken from
   * an image: there Istio only checks the wasm magic, so a wrapped module fails.
   */
  unwrap?: boolean;
  /** Instantiate and initialize the module in the mock host (runs its start code). Default true. */
  instantiate?: boolean;
}

export const hasFailures = (checks: readonly Check[]): boolean => checks.some((c) => c.status === "fail");

/** Runs every module check; never throws for a bad module (the report says what is wrong). */
export async function checkModule(input: Uint8Array, options: ModuleCheckOptions): Promise<ModuleReport> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MODULE_BYTES;
  const checks: Check[] = [];
  let bytes = input;
  let layers: Wrapping[] = [];
  let entryName: string | undefined;

  if (options.unwrap !== false) {
    try {
      ({ bytes, layers, entryName } = unwrapModule(input, maxBytes));
    } catch (error) {
      if (!(error instanceof UnwrapError)) throw error;
      checks.push({ id: "format", status: "fail", message: `not a WebAssembly module: ${error.message}`, hint: "Give the compiled .wasm, or a .wasm.gz / .tar / .tar.gz whose first file is the .wasm." });
      return finish(options.source, input, layers, checks);
    }
  }

  if (!isWasm(bytes)) {
    checks.push({ id: "format", status: "fail", message: `not a WebAssembly module: ${describeBytes(bytes, entryName)}`, hint: notWasmHint(bytes, layers, entryName) });
    return finish(options.source, bytes, layers, checks);
  }
  const wrapped = layers.length > 0 ? ` (after removing ${layers.join(" + ")}${entryName ? `, tar entry ${entryName}` : ""}, as Istio does for http(s) URLs)` : "";
  checks.push({ id: "format", status: "pass", message: `WebAssembly binary${wrapped}` });

  checks.push(sizeCheck(input.length, bytes.length, maxBytes));

  let info: ModuleInfo;
  try {
    info = inspectModule(bytes);
  } catch (error) {
    if (!(error instanceof ModuleLoadError)) throw error;
    checks.push({ id: "abi", status: "fail", message: error.message, ...hintOf(error) });
    for (const id of ["imports", "exports", "start", "instantiate"]) {
      checks.push({ id, status: "skip", message: "not checked: Envoy stops at the ABI marker" });
    }
    return finish(options.source, bytes, layers, checks);
  }
  checks.push({ id: "abi", status: "pass", message: `proxy_abi_version_${info.abiVersion.replaceAll(".", "_")} (ABI ${info.abiVersion})` });

  const importFailures = importChecks(info);
  checks.push(...importFailures);
  if (importFailures.length === 0) {
    const count = info.imports.filter((i) => i.kind === "function").length;
    checks.push({ id: "imports", status: "pass", message: `${count} host function${count === 1 ? "" : "s"}, all provided by Envoy for ABI ${info.abiVersion}` });
  }

  const exportCheck = exportsCheck(info);
  checks.push(exportCheck);
  checks.push(startCheck(bytes, info));

  if (options.instantiate === false) {
    checks.push({ id: "instantiate", status: "skip", message: "not run (--no-instantiate)" });
  } else if (hasFailures(checks)) {
    checks.push({ id: "instantiate", status: "skip", message: "not run: fix the failures above first" });
  } else {
    checks.push(await instantiateCheck(bytes, info));
  }

  const report = finish(options.source, bytes, layers, checks);
  report.abiVersion = info.abiVersion;
  report.imports = info.imports.map((i) => `${i.module}.${i.name}`);
  return report;
}

function finish(source: string, bytes: Uint8Array, layers: Wrapping[], checks: Check[]): ModuleReport {
  return { source, size: bytes.length, sha256: sha256Hex(bytes), layers, checks };
}

const hintOf = (error: ModuleLoadError): { hint?: string } => (error.hint ? { hint: error.hint } : {});

function sizeCheck(inputSize: number, moduleSize: number, maxBytes: number): Check {
  const size = Math.max(inputSize, moduleSize);
  if (size > maxBytes) {
    return {
      id: "size",
      status: "fail",
      message: `${formatBytes(size)} is over Istio's limit of ${formatBytes(maxBytes)} (ISTIO_WASM_MAX_BINARY_SIZE_BYTES)`,
      hint: "Istio truncates larger modules silently and then fails with a bad-magic or unexpected-EOF error. Build the release target (-O3 --shrinkLevel 2), drop debug info, or raise ISTIO_WASM_MAX_BINARY_SIZE_BYTES (Istio 1.30+).",
    };
  }
  return { id: "size", status: "pass", message: `${formatBytes(moduleSize)} (limit ${formatBytes(maxBytes)})` };
}

/** Every import Envoy cannot link, not just the first one (checkImports stops at the first). */
function importChecks(info: ModuleInfo): Check[] {
  const failures: Check[] = [];
  for (const imp of info.imports) {
    try {
      checkImports({ ...info, imports: [imp] });
    } catch (error) {
      if (!(error instanceof ModuleLoadError)) throw error;
      failures.push({ id: "imports", status: "fail", message: error.message, ...hintOf(error) });
    }
  }
  return failures;
}

function exportsCheck(info: ModuleInfo): Check {
  try {
    checkExports(info);
  } catch (error) {
    if (!(error instanceof ModuleLoadError)) throw error;
    return { id: "exports", status: "fail", message: error.message, ...hintOf(error) };
  }
  const names = new Set(info.exports.filter((e) => e.kind === "function").map((e) => e.name));
  const allocator = names.has("malloc") ? "malloc" : "proxy_on_memory_allocate";
  const callbacks = [...names].filter((n) => n.startsWith("proxy_on_")).length;
  const memory = info.exportsMemory ? "memory exported" : "memory imported";
  return { id: "exports", status: "pass", message: `${memory}, allocator ${allocator}, ${callbacks} proxy_on_* callbacks with the signatures Envoy expects` };
}

function startCheck(bytes: Uint8Array, info: ModuleInfo): Check {
  if (!info.hasStartSection) {
    return { id: "start", status: "pass", message: "no start section" + (info.exports.some((e) => e.name === "_initialize") ? "; initialization runs from _initialize" : "") };
  }
  const index = startFunctionIndex(bytes);
  const importedFunctions = info.imports.filter((i) => i.kind === "function");
  if (index !== undefined && index < importedFunctions.length) {
    const imp = importedFunctions[index]!;
    return {
      id: "start",
      status: "fail",
      message: `the start section calls the host function ${imp.module}.${imp.name} while the module is instantiated`,
      hint: "Envoy instantiates a module before any context exists, and a host call then fails instantiation (\"Failed to create new Wasm instance\"). Run start-up code from _initialize (asc --exportStart _initialize) or proxy_on_vm_start.",
    };
  }
  return {
    id: "start",
    status: "warn",
    message: "the module has a wasm start section",
    hint: "Envoy runs a start function while instantiating, when no context exists: any host call from it (logging included) fails the load with \"Failed to create new Wasm instance\". " +
      "It passed here only if the code path taken made no host call. AssemblyScript puts top-level statements there unless built with --exportStart _initialize (the SDK's asconfig does this).",
  };
}

async function instantiateCheck(bytes: Uint8Array, info: ModuleInfo): Promise<Check> {
  try {
    await Host.load(bytes);
  } catch (error) {
    if (error instanceof ModuleLoadError) return { id: "instantiate", status: "fail", message: error.message, ...hintOf(error) };
    return { id: "instantiate", status: "fail", message: `the module could not be instantiated: ${(error as Error).message}` };
  }
  const init = info.exports.some((e) => e.name === "_initialize") ? "_initialize" : info.exports.some((e) => e.name === "_start") ? "_start" : "no initializer";
  return { id: "instantiate", status: "pass", message: `instantiated and initialized (${init}) in the mock host, with Envoy's restrictions` };
}

function describeBytes(bytes: Uint8Array, entryName: string | undefined): string {
  if (bytes.length === 0) return entryName ? `the tar's first entry ${entryName} is empty or a directory` : "the file is empty";
  const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  const what = entryName ? `the tar's first entry ${entryName} starts with ${head}` : `it starts with ${head}`;
  return `${what}, not the wasm magic 00 61 73 6d`;
}

function notWasmHint(bytes: Uint8Array, layers: Wrapping[], entryName: string | undefined): string {
  const text = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  if (entryName) return "Istio takes only the first file of a tar: put the .wasm first (tar cf plugin.tar plugin.wasm).";
  if (text.startsWith("(module")) return "This is WebAssembly text (.wat). Compile it to a binary first (wat2wasm, or asc --outFile plugin.wasm).";
  if (text.startsWith("{")) return "This is JSON. To check an image, pass the OCI layout directory or image archive, not a manifest or config file.";
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return "This is a zip archive; Istio unwraps only gzip and tar.";
  if (isGzip(bytes) || isTar(bytes) || layers.length > 0) return "Only gzip and tar wrappings are removed; the content inside is not a module.";
  return "Give the compiled .wasm file (for AssemblyScript: the outFile of asc, e.g. build/plugin.wasm).";
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
