// pwas push: an OCI layout (directory or archive) → a registry. Checks every digest before
// sending, refuses images istio-agent would reject (unless --force), prints the digest.
import { jsonResult } from "../json-output.js";
import type { Command } from "commander";
import { CliError, ExitCode } from "../errors.js";
import { addRegistryOptions, clientFor, out, printFindings, type RegistryCliOptions } from "../oci/command-support.js";
import { digestHex } from "../oci/digest.js";
import { bundleSource, loadBundle } from "../oci/image-source.js";
import { checkImage } from "../oci/istio-acceptance.js";
import { openLayoutPath } from "../oci/layout-archive.js";
import { progressFor } from "../oci/progress.js";
import { formatReference, parseReference, TAG_RE, type ImageReference } from "../oci/reference.js";
import { pushBundle } from "../oci/transfer.js";

interface PushOptions extends RegistryCliOptions {
  tag?: string;
  force?: boolean;
}

/** A layout ref name as a tag: "v1", or the tag of a full reference "reg/repo:v1". */
function tagOf(refName: string | undefined): string | undefined {
  if (refName === undefined) return undefined;
  if (TAG_RE.test(refName)) return refName;
  const tail = refName.slice(refName.lastIndexOf(":") + 1);
  return refName.includes(":") && TAG_RE.test(tail) ? tail : undefined;
}

export async function runPush(layoutPath: string, target: string, options: PushOptions): Promise<void> {
  const ref = parseReference(target);
  const layout = await openLayoutPath(layoutPath);
  const entry = layout.entries.length === 1 && options.tag === undefined ? layout.entries[0]! : layout.select(options.tag ?? ref.tag);
  // Reading the whole image verifies every blob against its digest before anything is sent.
  const bundle = await loadBundle(layout.source(entry));
  if (ref.digest !== undefined && ref.digest !== bundle.root.digest) {
    throw new CliError(
      `${target} pins ${ref.digest}, but the image in ${layoutPath} is ${bundle.root.digest}`,
      ExitCode.DigestMismatch,
      "drop the @sha256:… part (push by tag), or pin the image's own digest",
    );
  }
  const tag = ref.tag ?? (ref.digest === undefined ? tagOf(entry.refName) : undefined);
  if (tag === undefined && ref.digest === undefined) {
    throw new CliError(`${target} has no tag and the image in ${layoutPath} has no name`, ExitCode.Usage, `add a tag: pwas push ${layoutPath} ${formatReference(ref)}:v1`);
  }
  const pushed: ImageReference = { ...ref, ...(tag !== undefined ? { tag } : {}) };
  const check = await checkImage(bundleSource(bundle, layout.description), { reference: pushed });
  if (!check.accepted && !options.force) {
    printFindings(options, check);
    throw new CliError(`istio-agent would not load a module from this image, so it was not pushed`, ExitCode.Invalid, "fix the problems above (or pass --force to push it anyway)");
  }
  printFindings({ quiet: options.quiet || options.json }, check);

  const client = clientFor(ref, options);
  const result = await pushBundle(client, ref.repository, bundle, tag ?? bundle.root.digest, progressFor(process.stderr, Boolean(options.quiet || options.json)));
  const sha256 = check.sha256 ?? digestHex(result.digest);
  const url = `oci://${formatReference(pushed)}`;
  if (options.json) {
    process.stdout.write(jsonResult("push", { reference: url, digest: result.digest, sha256, uploaded: result.uploaded, skipped: result.skipped, accepted: check.accepted }));
    return;
  }
  out(
    [
      `pushed ${url} (${result.uploaded} blob(s) uploaded, ${result.skipped} already there)`,
      `  digest: ${result.digest}`,
      `  WasmPlugin: url: ${url}  sha256: ${sha256}`,
    ].join("\n"),
  );
}

export function register(program: Command): void {
  addRegistryOptions(
    program
      .command("push")
      .description("push an OCI layout (directory or .tar from `pwas package`) to a registry and print the WasmPlugin sha256")
      .argument("<layout>", "OCI layout directory or layout archive (.tar)")
      .argument("<reference>", "target, e.g. oci://ghcr.io/acme/header-append:v1")
      .option("--tag <tag>", "which image of a layout holding several (its ref name)")
      .option("--force", "push even when istio-agent would reject the image"),
  ).action((layoutPath: string, target: string, options: PushOptions) => runPush(layoutPath, target, options));
}
