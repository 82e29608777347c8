// Multi-document YAML input with source positions, so every finding can say
// `file:line:column`. Malformed YAML is one CliError (exit Invalid) naming the first
// syntax error and where it is.
import { readFile } from "node:fs/promises";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from "yaml";
import { CliError, ExitCode } from "./errors.js";

export type PathSegment = string | number;

export interface Position {
  line: number;
  col: number;
}

export interface YamlDocument {
  /** 1-based position of the document in its file. */
  index: number;
  /** The document as plain data (maps → objects, sequences → arrays). */
  value: unknown;
  /** Where the value at `path` starts; with `key`, where its key starts (for unknown fields). */
  locate(path: readonly PathSegment[], key?: boolean): Position | undefined;
}

/** How many alias expansions a document may make (the yaml library's default; a bomb needs far more). */
const MAX_ALIASES = 100;

/** Parses every document of `text`; `file` is only used in messages. */
export function parseYamlDocuments(text: string, file: string): YamlDocument[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, uniqueKeys: true, strict: true });
  // An empty stream (or only comments) parses to an EmptyStream, which is an empty array.
  const list = Array.isArray(documents) ? documents : [documents];
  const result: YamlDocument[] = [];
  for (const [i, document] of list.entries()) {
    const error = document.errors[0];
    if (error) {
      const pos = error.linePos?.[0];
      const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
      throw new CliError(`${where}: malformed YAML: ${firstLine(error.message)}`, ExitCode.Invalid, "Fix the YAML syntax at that position (indentation, quotes, a missing ':' or ']').");
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (error) {
      // The yaml library's guard against alias bombs ("billion laughs").
      if (error instanceof ReferenceError && /alias/i.test(error.message)) {
        throw new CliError(`${file}: document ${i + 1} uses YAML aliases more than ${MAX_ALIASES} times`, ExitCode.Invalid, "Write the values out instead of *aliases: pwas refuses more, as a guard against alias bombs.");
      }
      throw error;
    }
    if (value === null || value === undefined) continue; // "---" separators around empty documents
    const locate = (path: readonly PathSegment[], key = false): Position | undefined => {
      const node = findNode(document.contents as Node | null, path, key);
      const offset = node?.range?.[0];
      return offset === undefined ? undefined : lineCounter.linePos(offset);
    };
    result.push({ index: i + 1, value, locate });
  }
  return result;
}

/** Reads and parses a YAML (or JSON, which is YAML) file; a missing file is a usage error. */
export async function readYamlFile(path: string): Promise<YamlDocument[]> {
  return parseYamlDocuments(await readTextInput(path), path);
}

/** Reads a text file given on the command line (`-` = stdin), with one clear error if it cannot. */
export async function readTextInput(path: string): Promise<string> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return decodeText(Buffer.concat(chunks), "stdin");
  }
  return decodeText(await readInputFile(path), path);
}

/** A file named on the command line, as bytes, with one clear error if it cannot be read. */
export async function readInputFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw fileError(path, error);
  }
}

const BOMS: [number[], string][] = [
  [[0xef, 0xbb, 0xbf], "utf-8"],
  [[0xff, 0xfe], "utf-16le"],
  [[0xfe, 0xff], "utf-16be"],
];

/**
 * YAML text as YAML 1.2 allows it: UTF-8, or UTF-16 with its byte order mark. Bytes that
 * are not valid in the encoding are refused, never replaced: a value changed by decoding
 * would be validated as something it is not.
 */
export function decodeText(bytes: Uint8Array, path: string): string {
  let encoding = "utf-8";
  let start = 0;
  for (const [mark, name] of BOMS) {
    if (mark.every((b, i) => bytes[i] === b)) {
      encoding = name;
      start = mark.length;
      break;
    }
  }
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes.subarray(start));
  } catch {
    const at = encoding === "utf-8" ? firstInvalidUtf8(bytes, start) : undefined;
    throw new CliError(`${path}: not valid ${encoding.toUpperCase()}${at !== undefined ? ` (byte ${at})` : ""}`, ExitCode.Invalid, "Save the file as UTF-8 (YAML's encoding); check for text pasted from another encoding.");
  }
}

/** The offset of the first byte that makes `bytes` invalid UTF-8 (each multi-byte character checked by the decoder itself). */
function firstInvalidUtf8(bytes: Uint8Array, from: number): number | undefined {
  const strict = new TextDecoder("utf-8", { fatal: true });
  for (let i = from; i < bytes.length; ) {
    const lead = bytes[i]!;
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    if (length > 1) {
      try {
        strict.decode(bytes.subarray(i, i + length));
      } catch {
        return i;
      }
    }
    i += length;
  }
  return undefined;
}

/** A CliError for a file that cannot be read: not found and not a file are usage errors. */
export function fileError(path: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new CliError(`${path}: no such file`, ExitCode.Usage, "Check the path (it is relative to the current directory).");
  if (code === "EISDIR") return new CliError(`${path}: is a directory, not a file`, ExitCode.Usage);
  if (code === "EACCES") return new CliError(`${path}: permission denied`, ExitCode.Failure);
  return new CliError(`${path}: cannot read: ${(error as Error).message}`, ExitCode.Failure);
}

function findNode(root: Node | null, path: readonly PathSegment[], key: boolean): Node | undefined {
  let node: Node | null | undefined = root;
  let keyNode: Node | undefined;
  for (const segment of path) {
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return undefined;
      keyNode = pair.key as Node;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof segment === "number") {
      node = node.items[segment] as Node | null;
    } else {
      return undefined;
    }
  }
  if (key && keyNode) return keyNode;
  return node ?? keyNode;
}

function firstLine(message: string): string {
  // yaml appends " at line L, column C:" and a code excerpt; the position is printed separately.
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}
