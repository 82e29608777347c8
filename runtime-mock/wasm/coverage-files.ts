// Coverage of plugin code, the host's side (the build side is cli/coverage/). Like
// NODE_V8_COVERAGE: `pwas coverage` builds a counting copy of each module, lists it in a
// folder named by PWAS_COVERAGE, and runs the tests with that variable set; every process
// that loads one of the listed modules runs the counting copy instead and, when it exits,
// leaves its counts in the folder. The layout:
//
//   manifest.json            sha256 of a module as built → the counting copy (relative path)
//   maps/<build id>.json     what each counter counts (BuildMap, written by the transform)
//   builds/…                 the counting copies and their source maps
//   hits/<pid>-<random>.json counts by build id, one file per process
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const COVERAGE_DIR_ENV = "PWAS_COVERAGE";
/** The import module of the counters; the field name is the build id. */
export const COVERAGE_IMPORT_MODULE = "pwas_coverage";

export interface SourceRange {
  start: { line: number; column: number };
  end: { line: number; column: number };
}

/** What the transform counts in one file, in istanbul's terms. */
export interface FileDescription {
  statements: SourceRange[];
  functions: { name: string; decl: SourceRange; loc: SourceRange }[];
  /** `implicitElseOf`: an if without else; its else count is that statement's count less the then-arm's. */
  branches: { type: "if" | "cond-expr" | "switch"; loc: SourceRange; locations: SourceRange[]; implicitElseOf?: number }[];
}

/** Counter n counts statement/function/branch arm `index` of file `file` (an index into `files`). */
export type CounterRef = { file: number; kind: "s" | "f"; index: number } | { file: number; kind: "b"; index: number; arm: number };

export interface BuildMap {
  version: 1;
  buildId: string;
  /** Absolute source path → what is counted there; counters refer to files in this order. */
  files: Record<string, FileDescription>;
  counters: CounterRef[];
}

export interface CoverageManifest {
  modules: Record<string, { module: string }>;
}

/** Written whole or not at all: a reader never sees half a file. */
export function writeFileSyncAtomic(path: string, contents: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(temp, contents);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

export function writeBuildMap(dir: string, map: BuildMap): void {
  writeFileSyncAtomic(join(dir, "maps", `${map.buildId}.json`), JSON.stringify(map));
}

export function readBuildMaps(dir: string): BuildMap[] {
  const folder = join(dir, "maps");
  if (!existsSync(folder)) return [];
  return readdirSync(folder).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(join(folder, f), "utf8")) as BuildMap);
}

/** Every process's counts, summed by build id. */
export function readHits(dir: string): Map<string, number[]> {
  const sums = new Map<string, number[]>();
  const folder = join(dir, "hits");
  if (!existsSync(folder)) return sums;
  for (const name of readdirSync(folder).filter((f) => f.endsWith(".json"))) {
    const hits = JSON.parse(readFileSync(join(folder, name), "utf8")) as Record<string, number[]>;
    for (const [buildId, counts] of Object.entries(hits)) {
      const sum = sums.get(buildId) ?? [];
      counts.forEach((n, i) => (sum[i] = (sum[i] ?? 0) + (n ?? 0)));
      sums.set(buildId, sum);
    }
  }
  return sums;
}

export const moduleDigest = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

let manifest: { dir: string; modules: CoverageManifest["modules"] } | undefined;

// Read once: `pwas coverage` sets it in the environment of the test command's processes,
// and a process.env read costs about as much as the rest of a cached load's lookup.
let dirFromEnv: string | undefined | null = null;
const coverageDir = (): string | undefined => (dirFromEnv === null ? (dirFromEnv = process.env[COVERAGE_DIR_ENV] || undefined) : dirFromEnv);

/** Whether this process collects coverage (`pwas coverage` set PWAS_COVERAGE for it). */
export const collectingCoverage = (): boolean => coverageDir() !== undefined;

/** The counting copy of a module when coverage is being collected and `bytes` is a listed build; else undefined. */
export function coverageVariant(bytes: Uint8Array): { bytes: Uint8Array; path: string } | undefined {
  const dir = coverageDir();
  if (!dir) return undefined;
  if (manifest?.dir !== dir) {
    const file = join(dir, "manifest.json");
    manifest = { dir, modules: existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as CoverageManifest).modules : {} };
  }
  const entry = manifest.modules[moduleDigest(bytes)];
  if (!entry) return undefined;
  const path = resolve(dir, entry.module);
  return { bytes: new Uint8Array(readFileSync(path)), path };
}

const counts = new Map<string, number[]>();
let flushRegistered = false;

/** The `pwas_coverage` imports for these build ids: counts shared by every host of the process, written at exit. */
export function coverageImports(buildIds: readonly string[]): Record<string, (id: number) => void> {
  const imports: Record<string, (id: number) => void> = {};
  for (const buildId of buildIds) {
    let list = counts.get(buildId);
    if (!list) counts.set(buildId, (list = []));
    const hits = list;
    imports[buildId] = (id: number) => {
      hits[id] = (hits[id] ?? 0) + 1;
    };
  }
  if (!flushRegistered && buildIds.length > 0) {
    flushRegistered = true;
    process.once("exit", flushCounts);
  }
  return imports;
}

function flushCounts(): void {
  const dir = coverageDir();
  if (!dir || counts.size === 0) return;
  const dense: Record<string, number[]> = {};
  for (const [buildId, hits] of counts) dense[buildId] = Array.from(hits, (n) => n ?? 0);
  try {
    writeFileSyncAtomic(join(dir, "hits", `${process.pid}-${randomBytes(4).toString("hex")}.json`), JSON.stringify(dense));
  } catch (error) {
    process.stderr.write(`proxy-wasm-as: could not write coverage counts to ${dir}: ${(error as Error).message}\n`);
  }
}
