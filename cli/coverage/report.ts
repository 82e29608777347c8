// Counts + build maps → istanbul's coverage map, then istanbul's own reporters (lcov, text,
// html, json, …): the formats CI services, editors and c8/nyc users already read.
import { existsSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import libCoverage, { type CoverageMap, type FileCoverageData } from "istanbul-lib-coverage";
import libReport from "istanbul-lib-report";
import reports from "istanbul-reports";
import type { BuildMap } from "../../runtime-mock/wasm/coverage-files.js";

/** One coverage map from every build's description and counts; a file built into several modules is merged. */
export function coverageMapOf(maps: readonly BuildMap[], hits: ReadonlyMap<string, readonly number[]>): CoverageMap {
  const coverage = libCoverage.createCoverageMap({});
  for (const map of maps) {
    const counts = hits.get(map.buildId) ?? [];
    const files = Object.entries(map.files).map(([path, description]) => {
      const data: FileCoverageData = { path, statementMap: {}, fnMap: {}, branchMap: {}, s: {}, f: {}, b: {} };
      description.statements.forEach((loc, i) => {
        data.statementMap[i] = loc;
        data.s[i] = 0;
      });
      description.functions.forEach((fn, i) => {
        data.fnMap[i] = { name: fn.name, decl: fn.decl, loc: fn.loc, line: fn.loc.start.line };
        data.f[i] = 0;
      });
      description.branches.forEach((branch, i) => {
        data.branchMap[i] = { type: branch.type, loc: branch.loc, locations: branch.locations, line: branch.loc.start.line };
        data.b[i] = branch.locations.map(() => 0);
      });
      return data;
    });
    map.counters.forEach((ref, id) => {
      const n = counts[id] ?? 0;
      const data = files[ref.file]!;
      if (ref.kind === "s") data.s[ref.index] = n;
      else if (ref.kind === "f") data.f[ref.index] = n;
      else if (ref.kind === "b") data.b[ref.index]![ref.arm] = n;
    });
    Object.values(map.files).forEach((description, file) => {
      description.branches.forEach((branch, i) => {
        if (branch.implicitElseOf === undefined) return;
        const arms = files[file]!.b[i]!;
        arms[1] = Math.max(0, (files[file]!.s[branch.implicitElseOf] ?? 0) - arms[0]!);
      });
    });
    for (const data of files) coverage.merge({ [data.path]: data });
  }
  return coverage;
}

export interface ReportOptions {
  /** istanbul reporter names: text, text-summary, lcov, lcovonly, html, json, json-summary, cobertura, … */
  reporters: string[];
  /** Where file reports go; replaced as a whole, so it never mixes two runs. */
  dir: string;
}

/** Writes the reports; console reporters (text, text-summary) print to stdout. */
export function writeReports(coverage: CoverageMap, options: ReportOptions): void {
  const parent = dirname(options.dir);
  const staging = mkdtempSync(join(parent, `.${basename(options.dir)}-`));
  try {
    const context = libReport.createContext({ dir: staging, coverageMap: coverage, defaultSummarizer: "nested" });
    for (const name of options.reporters) reports.create(name as keyof reports.ReportOptions).execute(context);
    if (existsSync(options.dir)) rmSync(options.dir, { recursive: true, force: true });
    renameSync(staging, options.dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
