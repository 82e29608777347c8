// Option value parsers shared by pwas commands. Each throws a CliError (exit Usage) naming
// the option and what a valid value looks like.
import { CliError, ExitCode } from "./errors.js";

const UNITS: Record<string, number> = { "": 1, k: 1e3, kb: 1e3, ki: 1024, kib: 1024, m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2, g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3 };

/** "268435456", "256Mi", "10MB" → bytes. */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new CliError(`"${text}" is not a size`, ExitCode.Usage, "Write bytes, or a number with Ki, Mi, Gi (1024-based) or k, M, G: e.g. 256Mi.");
  return Math.floor(Number(match[1]) * unit);
}

export function parseInteger(name: string, min: number, max: number): (text: string) => number {
  return (text: string) => {
    if (!/^-?\d+$/.test(text.trim())) throw new CliError(`${name} "${text}" is not an integer`, ExitCode.Usage);
    const value = Number(text);
    if (value < min || value > max) throw new CliError(`${name} ${value} is out of range ${min}..${max}`, ExitCode.Usage);
    return value;
  };
}

/** Case-insensitive choice; returns the canonical spelling. */
export function parseChoice(name: string, choices: readonly string[], aliases: Record<string, string> = {}): (text: string) => string {
  return (text: string) => {
    const alias = Object.hasOwn(aliases, text.toLowerCase()) ? aliases[text.toLowerCase()] : undefined;
    if (alias !== undefined) return alias;
    const found = choices.find((c) => c.toLowerCase() === text.toLowerCase());
    if (found === undefined) throw new CliError(`${name} "${text}" is not one of ${choices.join(", ")}`, ExitCode.Usage);
    return found;
  };
}

/** Collects a repeatable option into an array (commander's variadic options stop at the next flag). */
export function collect<T>(parse: (text: string) => T): (text: string, previous: T[] | undefined) => T[] {
  return (text, previous) => [...(previous ?? []), parse(text)];
}

/** "key=value" → [key, value]; the value may contain '='. */
export function parseKeyValue(name: string): (text: string) => [string, string] {
  return (text: string) => {
    const eq = text.indexOf("=");
    if (eq <= 0) throw new CliError(`${name} "${text}" is not key=value`, ExitCode.Usage);
    return [text.slice(0, eq), text.slice(eq + 1)];
  };
}
