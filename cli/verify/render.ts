// Human-readable rendering of check lists (verify, build): one line per check, the hint
// wrapped and indented under it, and a one-line verdict.
import type { Check, CheckStatus } from "../module/checks.js";

const LABEL: Record<CheckStatus, string> = { pass: "ok  ", warn: "warn", fail: "FAIL", skip: "skip" };
const TITLE: Record<string, string> = {
  format: "format",
  size: "size",
  abi: "ABI marker",
  imports: "imports",
  exports: "exports",
  start: "start section",
  instantiate: "instantiation",
};

export function renderChecks(checks: readonly Check[], indent = "  "): string {
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${indent}${LABEL[check.status]}  ${TITLE[check.id] ?? check.id}: ${check.message}`);
    if (check.hint && (check.status === "fail" || check.status === "warn")) {
      const prefix = check.status === "fail" ? "fix: " : "why: ";
      for (const line of wrap(prefix + check.hint, 96)) lines.push(`${indent}        ${line}`);
    }
  }
  return lines.join("\n");
}

export function countStatuses(checks: readonly Check[]): { failures: number; warnings: number } {
  return {
    failures: checks.filter((c) => c.status === "fail").length,
    warnings: checks.filter((c) => c.status === "warn").length,
  };
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Greedy word wrap; words longer than the width stay whole. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
