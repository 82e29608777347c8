// pwas pull: a registry image → the module (--output) and/or an OCI layout (--layout). The
// image is resolved as istio-agent resolves it, every blob is verified, and Istio's
// acceptance rules are applied.
import { jsonResult } from "../json-output.js";
import type { Command } from "commander";
import { CliError, ExitCode } from "../errors.js";
import { writeFileAtomic, writingTo } from "../oci/atomic-fs.js";
import { addRegistryOptions, clientFor, out, printFindings, type RegistryCliOptions } from "../oci/command-support.js";
import { writeLayoutDir } from "../oci/layout.js";
import { formatBytes } from "../oci/progress.js";
import { formatReference, parseReference } from "../oci/reference.js";
import { pullImage } from "../oci/transfer.js";

interface PullOptions extends RegistryCliOptions {
  layout?: string;
  output?: string;
}

export async function runPull(target: string, options: PullOptions): Promise<void> {
  if (!options.layout && !options.output) {
    throw new CliError("nothing to write", ExitCode.Usage, "add --output plugin.wasm (the module) and/or --layout <dir> (the whole image)");
  }
  const ref = parseReference(target);
  const url = `oci://${formatReference(ref)}`;
  const { bundle, check } = await pullImage(clientFor(ref, options), ref);

  if (options.output && !check.accepted) {
    printFindings(options, check);
    throw new CliError(`istio-agent would not load a module from ${url}; nothing was written`, ExitCode.Invalid, check.errors[0]?.fix ?? "repackage the module with `pwas package`");
  }
  const { output, layout } = options;
  if (output) await writingTo(output, () => writeFileAtomic(output, check.module!));
  if (layout) await writingTo(layout, () => writeLayoutDir(layout, bundle, ref.tag));
  printFindings({ quiet: options.quiet || options.json }, check.accepted ? { warnings: check.warnings } : check);

  if (options.json) {
    process.stdout.write(
      jsonResult(
        "pull",
        {
          reference: url,
          digest: check.manifestDigest ?? bundle.root.digest,
          sha256: check.sha256,
          ...(check.indexDigest ? { indexDigest: check.indexDigest } : {}),
          accepted: check.accepted,
          ...(check.variant ? { variant: check.variant } : {}),
          ...(check.moduleSha256 ? { moduleSha256: check.moduleSha256 } : {}),
          ...(options.output ? { output: options.output } : {}),
          ...(options.layout ? { layout: options.layout } : {}),
        },
      ),
    );
  } else {
    const lines = [`pulled ${url}${check.variant ? ` (${check.variant} variant)` : ""}`, `  digest: ${bundle.root.digest}`];
    if (check.indexDigest) lines.push(`  (from index ${check.indexDigest}, linux/amd64 child)`);
    if (options.output) lines.push(`  module: ${options.output} (${formatBytes(check.module!.byteLength)}, sha256 ${check.moduleSha256})`);
    if (options.layout) lines.push(`  layout: ${options.layout}${ref.tag ? ` (tag ${ref.tag})` : ""}`);
    lines.push(`  WasmPlugin: url: ${url}  sha256: ${check.sha256}`);
    out(lines.join("\n"));
  }
  if (!check.accepted) {
    throw new CliError(`the image was written to ${options.layout}, but istio-agent would not load a module from it`, ExitCode.Invalid, check.errors[0]?.fix ?? "repackage the module with `pwas package`");
  }
}

export function register(program: Command): void {
  addRegistryOptions(
    program
      .command("pull")
      .description("pull a Wasm image, verify every digest and Istio's acceptance rules, and write the module and/or an OCI layout")
      .argument("<reference>", "e.g. oci://ghcr.io/acme/header-append:v1")
      .option("--output <file>", "write the module istio-agent would load (e.g. plugin.wasm)")
      .option("--layout <dir>", "write the image into an OCI layout directory (an index is stored as its linux/amd64 image)"),
  ).action((target: string, options: PullOptions) => runPull(target, options));
}
