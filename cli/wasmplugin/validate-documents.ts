// Finds the WasmPlugins in parsed YAML documents (also inside a `kind: List`) and
// validates each, attaching file positions to the issues.
import { formatPath, validateWasmPlugin, isObject, KIND, type Issue } from "./schema.js";
import type { PathSegment, Position, YamlDocument } from "../yaml-source.js";

export interface LocatedIssue extends Issue {
  file: string;
  position?: Position;
  /** "bookinfo/header-append", or "document 2" when the resource has no name. */
  resource: string;
}

export interface ValidationResult {
  file: string;
  /** WasmPlugins found and validated. */
  validated: number;
  /** Documents that are not WasmPlugins. */
  skipped: number;
  issues: LocatedIssue[];
}

export function validateDocuments(file: string, documents: readonly YamlDocument[]): ValidationResult {
  const result: ValidationResult = { file, validated: 0, skipped: 0, issues: [] };
  for (const document of documents) {
    const visit = (value: unknown, base: PathSegment[], label: string): void => {
      if (isObject(value) && value.kind === "List" && Array.isArray(value.items)) {
        value.items.forEach((item, i) => visit(item, [...base, "items", i], `${label}, item ${i + 1}`));
        return;
      }
      if (!isObject(value) || typeof value.kind !== "string" || value.kind.toLowerCase() !== KIND.toLowerCase()) {
        result.skipped++;
        return;
      }
      result.validated++;
      const resource = resourceName(value) ?? label;
      for (const issue of validateWasmPlugin(value)) {
        const path = [...base, ...issue.path];
        const position = document.locate(path, issue.atKey) ?? nearestPosition(document, path);
        result.issues.push({ ...issue, file, resource, ...(position ? { position } : {}) });
      }
    };
    visit(document.value, [], `document ${document.index}`);
  }
  // Report in file order, so the output reads top to bottom like the file.
  const key = (i: LocatedIssue) => (i.position ? i.position.line * 1e6 + i.position.col : Number.MAX_SAFE_INTEGER);
  result.issues.sort((a, b) => key(a) - key(b));
  return result;
}

function resourceName(value: Record<string, unknown>): string | undefined {
  const metadata = value.metadata;
  if (!isObject(metadata) || typeof metadata.name !== "string") return undefined;
  return typeof metadata.namespace === "string" ? `${metadata.namespace}/${metadata.name}` : metadata.name;
}

/** For a missing field: the position of its closest existing parent. */
function nearestPosition(document: YamlDocument, path: readonly PathSegment[]): Position | undefined {
  for (let n = path.length - 1; n >= 0; n--) {
    const position = document.locate(path.slice(0, n), n > 0);
    if (position) return position;
  }
  return undefined;
}

/** `file:line:col: error: spec.sha256: must be … (WasmPlugin ns/name)` */
export function formatIssue(issue: LocatedIssue): string {
  const where = issue.position ? `${issue.file}:${issue.position.line}:${issue.position.col}` : issue.file;
  return `${where}: ${issue.severity}: ${formatPath(issue.path)}: ${issue.message} (WasmPlugin ${issue.resource})`;
}
