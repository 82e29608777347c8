// Artifacts for http(s):// WasmPlugin URLs. istio-agent unwraps gzip and tar (first file
// only) until it sees the wasm magic, and compares `sha256` with the unwrapped module
// (pkg/wasm/httpfetcher.go unboxIfPossible; PACKAGING.md §1.3, §1.5).
import { CliError, ExitCode } from "../errors.js";
import { gunzip, gzipDeterministic, isGzip } from "./gzip.js";
import { PLUGIN_FILE } from "./image-builder.js";
import { createTar, isPosixTar, readTar } from "./tar.js";
import { isValidWasmBinary } from "./wasm-module.js";

export type HttpArtifactKind = "wasm" | "wasm.gz" | "tar" | "tar.gz";

export function httpArtifactKind(path: string): HttpArtifactKind {
  const lower = path.toLowerCase();
  if (lower.endsWith(".wasm")) return "wasm";
  if (lower.endsWith(".wasm.gz")) return "wasm.gz";
  if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) return "tar.gz";
  if (lower.endsWith(".tar")) return "tar";
  throw new CliError(`cannot tell the artifact kind of ${path}`, ExitCode.Usage, "name the --http output *.wasm, *.wasm.gz, *.tar.gz (or *.tgz) or *.tar");
}

/** Deterministic bytes to serve over http(s). A tar holds plugin.wasm as its only (so first) file. */
export async function buildHttpArtifact(module: Uint8Array, kind: HttpArtifactKind): Promise<Uint8Array> {
  switch (kind) {
    case "wasm":
      return module;
    case "wasm.gz":
      return gzipDeterministic(module);
    case "tar":
      return createTar([{ name: PLUGIN_FILE, data: module }]);
    case "tar.gz":
      return gzipDeterministic(await createTar([{ name: PLUGIN_FILE, data: module }]));
  }
}

async function firstTarFile(b: Uint8Array): Promise<Uint8Array | undefined> {
  try {
    return (await readTar(b))[0]?.data;
  } catch {
    return undefined;
  }
}

function tryGunzip(b: Uint8Array): Uint8Array | undefined {
  try {
    return gunzip(b, "artifact");
  } catch {
    return undefined;
  }
}

/** istio-agent's unboxIfPossible: best effort, returning the original bytes when unwrapping fails. */
export async function unboxLikeIstio(origin: Uint8Array): Promise<Uint8Array> {
  let b: Uint8Array | undefined = origin;
  for (let rounds = 0; rounds < 16; rounds++) {
    if (isValidWasmBinary(b)) return b;
    if (isGzip(b)) b = tryGunzip(b);
    else if (isPosixTar(b)) b = await firstTarFile(b);
    else return origin;
    if (b === undefined) return origin;
  }
  return origin;
}
