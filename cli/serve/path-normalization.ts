// What Envoy's connection manager does to a request's path before any filter runs
// (ConnectionManagerUtility::maybeNormalizePath), as Istio's
// meshConfig.pathNormalization configures it:
//   NONE                      nothing
//   BASE (Istio's default)    normalize_path: RFC 3986 dot segments resolved, as
//                             Chromium's URL canonicalizer does it (also "%2e", "\")
//   MERGE_SLASHES             BASE, then "//" merged to "/"
//   DECODE_AND_MERGE_SLASHES  %2F and %5C decoded to "/" and "\" first, then MERGE_SLASHES
// The query string is never touched. A path that cannot be canonicalized is refused
// with 400 "path_normalization_failed", as Envoy refuses it.

export type PathNormalization = "NONE" | "BASE" | "MERGE_SLASHES" | "DECODE_AND_MERGE_SLASHES";

export const PATH_NORMALIZATIONS: readonly PathNormalization[] = ["NONE", "BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"];

/** The normalized path (with its query), or undefined when Envoy would answer 400. */
export function normalizePath(path: string, mode: PathNormalization): string | undefined {
  if (mode === "NONE") return path;
  const at = path.indexOf("?");
  let base = at < 0 ? path : path.slice(0, at);
  const query = at < 0 ? "" : path.slice(at);
  if (!base.startsWith("/") && !base.startsWith("\\")) return undefined;
  if (mode === "DECODE_AND_MERGE_SLASHES") base = base.replace(/%2f/gi, "/").replace(/%5c/gi, "\\");
  let canonical = canonicalPath(base);
  if (canonical === undefined) return undefined;
  if (mode !== "BASE") canonical = canonical.replace(/\/{2,}/g, "/");
  return canonical + query;
}

const DOT = /^(?:\.|%2e)$/i;
const DOT_DOT = /^(?:\.|%2e){2}$/i;

/** Chromium's path canonicalization as Envoy uses it: "\" is a separator, dot segments go, unsafe bytes are escaped. */
function canonicalPath(path: string): string | undefined {
  const segments = path.replace(/\\/g, "/").split("/").slice(1);
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const last = i === segments.length - 1;
    if (DOT.test(segment)) {
      if (last) out.push("");
      continue;
    }
    if (DOT_DOT.test(segment)) {
      out.pop();
      if (last) out.push("");
      continue;
    }
    const escaped = escapeSegment(segment);
    if (escaped === undefined) return undefined;
    out.push(escaped);
  }
  return "/" + out.join("/");
}

const encoder = new TextEncoder();

/** Escapes what a canonical path may not hold raw (controls, space, quotes, brackets, non-ASCII); keeps existing escapes. */
function escapeSegment(segment: string): string | undefined {
  let out = "";
  for (const char of segment) {
    const code = char.codePointAt(0)!;
    if (code === 0) return undefined;
    if (code <= 0x20 || code >= 0x7f || `"<>\`{}`.includes(char)) {
      for (const byte of encoder.encode(char)) out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
    } else {
      out += char;
    }
  }
  return out;
}
