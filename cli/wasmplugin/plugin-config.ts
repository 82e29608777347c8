// pluginConfig from a JSON or YAML file. Istio sends it to the plugin as JSON text
// (PACKAGING.md §1.6), and the field is a google.protobuf.Struct, so it must be a mapping
// whose values JSON can carry.
import { CliError, ExitCode } from "../errors.js";
import { isObject } from "./schema.js";
import { parseYamlDocuments, readTextInput } from "../yaml-source.js";

export async function readPluginConfig(path: string): Promise<Record<string, unknown>> {
  const documents = parseYamlDocuments(await readTextInput(path), path);
  if (documents.length === 0) throw new CliError(`${path} is empty`, ExitCode.Invalid, "Write the plugin configuration as a JSON or YAML mapping, e.g. {\"header\": \"x-hello\"}.");
  if (documents.length > 1) throw new CliError(`${path} holds ${documents.length} YAML documents; pluginConfig is one mapping`, ExitCode.Invalid);
  const value = documents[0]!.value;
  if (!isObject(value)) {
    throw new CliError(`${path}: pluginConfig must be a mapping (a JSON object), not ${Array.isArray(value) ? "a list" : typeof value}`, ExitCode.Invalid, "Wrap it in a key, e.g. {\"rules\": [...]}: Istio's pluginConfig is a google.protobuf.Struct.");
  }
  const problem = nonJsonValue(value, "");
  if (problem) throw new CliError(`${path}: ${problem}`, ExitCode.Invalid, "pluginConfig reaches the plugin as JSON: use strings, numbers, booleans, null, lists and mappings.");
  return value;
}

/** YAML can hold values JSON cannot (dates, binary, non-finite numbers); name the first. */
function nonJsonValue(value: unknown, path: string): string | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${path || "the value"} is ${value}, which JSON cannot represent`;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = nonJsonValue(item, `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isObject(value) && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      const problem = nonJsonValue(item, path ? `${path}.${key}` : key);
      if (problem) return problem;
    }
    return undefined;
  }
  return `${path || "the value"} is a ${value instanceof Date ? "timestamp" : typeof value}, which JSON cannot represent (quote it)`;
}
