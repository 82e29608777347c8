// pwas validate: checks existing WasmPlugin YAML offline against the CRD and the admission
// webhook (PACKAGING.md §2.1), with file:line:column and the field path for every issue.
import { jsonResult } from "../json-output.js";
import type { Command } from "commander";
import { CliError, ExitCode } from "../errors.js";
import { formatPath } from "../wasmplugin/schema.js";
import { formatIssue, validateDocuments, type ValidationResult } from "../wasmplugin/validate-documents.js";
import { readYamlFile } from "../yaml-source.js";
import { plural } from "../verify/render.js";

interface ValidateFlags {
  json?: boolean;
  strict?: boolean;
}

export function register(program: Command): void {
  program
    .command("validate")
    .description("Check WasmPlugin YAML (multi-document files, kind: List too) against Istio's CRD and webhook rules, offline.")
    .argument("<files...>", "YAML files; - reads standard input")
    .option("--json", "print the findings as JSON")
    .option("--strict", "fail on warnings too (e.g. :latest without imagePullPolicy, url without scheme)")
    .addHelpText("after", `
Checks: required fields, types, enums (phase, imagePullPolicy, failStrategy, type, match.mode),
sha256 format (64 lowercase hex) and agreement with an @sha256: digest in the url, url scheme
(oci, http, https, file; host:port/repo without oci:// is rejected), image reference syntax,
selector/targetRef/targetRefs one-of, targetRef kinds, label rules, vmConfig.env rules,
match ports, unknown fields. Warnings: :latest and untagged references, selector without
labels, settings Istio ignores.

Exit codes: 0 valid, 2 usage (e.g. missing file), 3 invalid (an error, malformed YAML, or no
WasmPlugin found; with --strict also a warning).`)
    .action(async (files: string[], flags: ValidateFlags) => {
      const results: ValidationResult[] = [];
      for (const file of files) results.push(validateDocuments(file, await readYamlFile(file)));
      const issues = results.flatMap((r) => r.issues);
      const errors = issues.filter((i) => i.severity === "error").length;
      const warnings = issues.length - errors;
      const validated = results.reduce((n, r) => n + r.validated, 0);

      if (flags.json) {
        process.stdout.write(jsonResult("validate", {
          errors, warnings,
          files: results.map((r) => ({
            file: r.file, wasmPlugins: r.validated, skippedDocuments: r.skipped,
            issues: r.issues.map((i) => ({ severity: i.severity, path: formatPath(i.path), message: i.message, hint: i.hint, resource: i.resource, line: i.position?.line, column: i.position?.col })),
          })),
        }, errors === 0 && validated > 0 && !(flags.strict && warnings > 0)));
      } else {
        for (const issue of issues) {
          process.stdout.write(formatIssue(issue) + "\n");
          if (issue.hint) process.stdout.write(`  hint: ${issue.hint}\n`);
        }
        for (const r of results) {
          const skipped = r.skipped > 0 ? `; ${plural(r.skipped, "other document")} skipped` : "";
          const fileErrors = r.issues.filter((i) => i.severity === "error").length;
          const verdict = r.validated === 0 ? "no WasmPlugin" : fileErrors === 0 ? `${plural(r.validated, "WasmPlugin")} valid` : `${plural(r.validated, "WasmPlugin")}, ${plural(fileErrors, "error")}`;
          const fileWarnings = r.issues.length - fileErrors;
          process.stdout.write(`${r.file}: ${verdict}${fileWarnings > 0 ? `, ${plural(fileWarnings, "warning")}` : ""}${skipped}\n`);
        }
      }

      if (validated === 0) {
        throw new CliError(`no WasmPlugin found in ${files.join(", ")}`, ExitCode.Invalid, "A WasmPlugin document has apiVersion: extensions.istio.io/v1alpha1 and kind: WasmPlugin.");
      }
      if (errors > 0) {
        throw new CliError(`${plural(errors, "error")} in ${plural(validated, "WasmPlugin")}`, ExitCode.Invalid, "Fix the fields named above: the API server or Istio's webhook rejects a WasmPlugin with any of them, or istio-agent fails to fetch it.");
      }
      if (flags.strict && warnings > 0) throw new CliError(`${plural(warnings, "warning")} (--strict)`, ExitCode.Invalid);
    });
}
