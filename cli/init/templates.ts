// The files of a new plugin project, rendered from cli/templates/plugin/ (kept as files so
// they read like the project they make). Names end in .tmpl so neither tsc nor npm treats
// them as the package's own sources; "gitignore" has no dot because npm drops .gitignore
// files from packages.
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { packageInfo } from "../package-root.js";

export type TemplateValues = Record<string, string>;

export interface ProjectFile {
  /** Relative path in the new project, with "/" separators. */
  path: string;
  contents: string;
}

const RENAMES: Record<string, string> = { gitignore: ".gitignore" };

export const templateDir = (): string => join(packageInfo().root, "cli", "templates", "plugin");

export async function renderTemplates(values: TemplateValues, dir = templateDir()): Promise<ProjectFile[]> {
  const files: ProjectFile[] = [];
  for (const file of await listFiles(dir)) {
    if (!file.endsWith(".tmpl")) continue;
    const name = relative(dir, file).split(sep).join("/").slice(0, -".tmpl".length);
    const path = RENAMES[name] ?? name;
    files.push({ path, contents: substitute(await readFile(file, "utf8"), values, path) });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Replaces {{key}}; an unknown key is a bug in the templates, not a user error. */
export function substitute(text: string, values: TemplateValues, what: string): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template ${what} uses {{${key}}}, which init does not provide`);
    return value;
  });
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}
