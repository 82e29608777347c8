// pwas migrate: ServiceMeshExtension (OSSM ≤ 2.2) → WasmPlugin. Converts the resources
// and, with --image, repackages the extension image (manifest.yaml + module) as a compat
// image Istio loads (plugin.wasm in the last tar+gzip layer).
import { jsonResult } from "../json-output.js";
import type { Command } from "commander";
import { CliError, ExitCode } from "../errors.js";
import { pathKind, writeFileAtomic } from "../oci/atomic-fs.js";
import { digestHex } from "../oci/digest.js";
import { checkImage } from "../oci/istio-acceptance.js";
import { openImage } from "../oci/open-image.js";
import { checkModule, hasFailures } from "../module/checks.js";
import { readExtensionImage, type ExtensionImage } from "../migrate/extension-image.js";
import { orderChanges } from "../migrate/phase.js";
import { repackage } from "../migrate/repackage.js";
import { isServiceMeshExtension, migrateExtension, MigrationError, type Migrated, type MigrationOptions } from "../migrate/sme.js";
import { addRegistryOptions, registryClientOptions, type RegistryFlags } from "../registry-options.js";
import { renderYaml } from "../wasmplugin/generate.js";
import { formatPath, validateWasmPlugin } from "../wasmplugin/schema.js";
import { readYamlFile } from "../yaml-source.js";

interface MigrateFlags extends RegistryFlags {
  json?: boolean;
  output?: string;
  pluginName?: string;
  image?: string | true;
  to?: string;
  url?: string;
}

export function register(program: Command): void {
  const command = program
    .command("migrate")
    .description("Convert ServiceMeshExtension resources (maistra.io v1 / v1alpha1) to WasmPlugins; with --image, repackage the extension image too.")
    .argument("<file>", "YAML with one or more ServiceMeshExtensions (- for standard input)")
    .option("-o, --output <file>", "write the WasmPlugin YAML here (atomically) instead of standard output")
    .option("--json", "print the result as JSON, the YAML and the notes in it (see the README: one shape for every command)")
    .option("--plugin-name <root-id>", "pluginName for a single extension (default <name>_root, the root_id OSSM used)")
    .option("--image [image]", "read the extension image (default: the extension's spec.image; or an OCI layout) for its manifest.yaml and module")
    .option("--to <destination>", "with --image: store the module as a compat image here, a registry reference (pushed) or an OCI layout directory / .tar archive")
    .option("--url <url>", "with --to <layout>: the oci:// url the WasmPlugin will pull it from");
  addRegistryOptions(command)
    .addHelpText("after", `
Field mapping (PACKAGING.md §2.3): config → pluginConfig (a v1alpha1 string must be a JSON object),
workloadSelector.labels → selector.matchLabels, image → url oci://<image>, imagePullSecrets[0] →
imagePullSecret, imagePullPolicy Never → IfNotPresent, priority kept, pluginName <name>_root.
Phases: PreAuthN → AUTHN; PostAuthN, PreAuthZ → AUTHZ; PostAuthZ, PreStats → STATS; PostStats →
unspecified (last). Where two phases collapse, only priority orders the plugins: pwas warns, and
names pairs whose order changes.

Delete each ServiceMeshExtension before applying its WasmPlugin, or both run on every request.

Examples:
  pwas migrate sme.yaml -o wasmplugins.yaml
  pwas migrate sme.yaml --image --to oci://registry.example.com/filters/header-append:1.0 -o wasmplugin.yaml

Exit codes: 0 converted, 2 usage, 3 invalid (no extension found, malformed YAML, a field that cannot
be carried over, an image that is not an extension or whose module Envoy would not load), 4/5
registry failure / auth, 6 digest mismatch.`)
    .action(async (file: string, flags: MigrateFlags) => {
      const documents = await readYamlFile(file);
      const extensions = documents.map((d) => d.value).filter(isServiceMeshExtension);
      const skipped = documents.length - extensions.length;
      if (extensions.length === 0) {
        throw new CliError(`no ServiceMeshExtension found in ${file}`, ExitCode.Invalid, "A ServiceMeshExtension has apiVersion maistra.io/v1 (or v1alpha1) and kind ServiceMeshExtension; kubectl get sme -A -o yaml lists them.");
      }
      if (flags.pluginName !== undefined && extensions.length > 1) throw new CliError("--plugin-name applies to a single extension", ExitCode.Usage, "Split the file, or edit pluginName in the output.");
      if (flags.image !== undefined && extensions.length > 1) throw new CliError("--image applies to a single extension", ExitCode.Usage, "Split the file: one extension (and its image) per run.");
      if (flags.to !== undefined && flags.image === undefined) throw new CliError("--to needs --image", ExitCode.Usage, "Add --image (the extension's own spec.image is used when no value is given).");
      if (flags.url !== undefined && flags.to === undefined) throw new CliError("--url is only used with --to <layout>", ExitCode.Usage);

      const notes: string[] = [];
      const options: MigrationOptions = flags.pluginName !== undefined ? { pluginName: flags.pluginName } : {};
      // Convert once before touching the image, so a resource that cannot be migrated stops
      // the run before anything is pushed or written.
      let migrated = convertAll(extensions, options);
      if (flags.image !== undefined) {
        Object.assign(options, await fromImage(extensions[0]!, flags, notes));
        migrated = convertAll(extensions, options);
      }

      const yaml = renderYaml(migrated.map((m) => ({
        resource: m.resource,
        comment: [
          `Migrated by pwas from ServiceMeshExtension ${id(m)} (${m.apiVersion}).`,
          "Delete the ServiceMeshExtension before applying this, or both plugins run on every request:",
          `  kubectl delete servicemeshextensions.maistra.io ${m.namespace ? `-n ${m.namespace} ` : ""}${m.name}`,
        ],
      })));
      for (const m of migrated) {
        for (const n of m.notes) notes.push(`${id(m)}: ${n.severity}: ${n.message}${n.hint ? `\n  hint: ${n.hint}` : ""}`);
      }
      const phased = migrated.filter((m) => m.smePhase !== undefined).map((m) => ({ id: id(m), name: m.name, namespace: m.namespace, smePhase: m.smePhase!, priority: m.priority ?? 0 }));
      for (const change of orderChanges(phased)) notes.push(`warning: order changes: ${change}`);
      if (flags.image === undefined) {
        notes.push("note: the url still names the extension image; Istio loads it only if plugin.wasm is in its last tar+gzip layer. Check with `pwas verify <url>`, or repackage with --image --to <reference>");
      }
      if (skipped > 0) notes.push(`note: ${skipped} document(s) that are not ServiceMeshExtensions were skipped`);

      if (flags.output) await writeFileAtomic(flags.output, new TextEncoder().encode(yaml));
      const deletes = migrated.map((m) => `kubectl delete servicemeshextensions.maistra.io ${m.namespace ? `-n ${m.namespace} ` : ""}${m.name}`);
      if (flags.json) {
        process.stdout.write(jsonResult("migrate", { output: flags.output ?? null, yaml, migrated: migrated.map((m) => ({ name: m.name, namespace: m.namespace ?? null })), notes, deleteFirst: deletes }));
        return;
      }
      if (!flags.output) process.stdout.write(yaml);
      for (const note of notes) process.stderr.write(`pwas: ${note}\n`);
      process.stderr.write(`pwas: ${flags.output ? `wrote ${flags.output}; ` : ""}delete the old resource${migrated.length > 1 ? "s" : ""} first, then apply:\n${deletes.map((d) => `  ${d}`).join("\n")}\n`);
    });
}

/** Every extension converted and validated as a WasmPlugin; any problem stops the run (exit 3). */
function convertAll(extensions: Record<string, unknown>[], options: MigrationOptions): Migrated[] {
  const migrated: Migrated[] = [];
  const failures: string[] = [];
  for (const sme of extensions) {
    try {
      migrated.push(migrateExtension(sme, options));
    } catch (error) {
      if (!(error instanceof MigrationError)) throw error;
      failures.push(`${describe(sme)}: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`);
    }
  }
  for (const m of migrated) {
    for (const issue of validateWasmPlugin(m.resource).filter((i) => i.severity === "error")) {
      failures.push(`${id(m)}: the WasmPlugin would be rejected: ${formatPath(issue.path)}: ${issue.message}${issue.hint ? `\n  hint: ${issue.hint}` : ""}`);
    }
  }
  if (failures.length > 0) {
    for (const failure of failures) process.stderr.write(`pwas: ${failure}\n`);
    throw new CliError(`${failures.length === 1 ? "1 problem" : `${failures.length} problems`} in the extensions; nothing was written`, ExitCode.Invalid, "Each line above names the resource and the field to change.");
  }
  return migrated;
}

const id = (m: { name: string; namespace: string }): string => (m.namespace ? `${m.namespace}/${m.name}` : m.name);

function describe(sme: Record<string, unknown>): string {
  const metadata = (sme.metadata ?? {}) as Record<string, unknown>;
  return typeof metadata.name === "string" ? id({ name: metadata.name, namespace: typeof metadata.namespace === "string" ? metadata.namespace : "" }) : "ServiceMeshExtension";
}

/** Reads the extension image; repackages it with --to. Returns what the WasmPlugin takes from it. */
async function fromImage(sme: Record<string, unknown>, flags: MigrateFlags, notes: string[]): Promise<MigrationOptions> {
  const spec = (sme.spec ?? {}) as Record<string, unknown>;
  const imageArg = flags.image === true ? spec.image : flags.image;
  if (typeof imageArg !== "string" || imageArg === "") throw new CliError("--image has no value and the extension has no spec.image", ExitCode.Usage, "Pass --image <reference|layout>.");
  const { source } = await openImage(imageArg, { registry: registryClientOptions(flags) });
  const extension: ExtensionImage = await readExtensionImage(source);
  const report = await checkModule(extension.module, { source: `${extension.manifest.module} in ${source.description}`, unwrap: false });
  if (hasFailures(report.checks)) {
    const failure = report.checks.find((c) => c.status === "fail")!;
    throw new CliError(`${report.source}: Envoy would not load this module: ${failure.message}`, ExitCode.Invalid, failure.hint);
  }
  const metadata = (sme.metadata ?? {}) as Record<string, unknown>;
  const rootId = flags.pluginName ?? `${String(metadata.name)}_root`;
  const defaults = { phase: extension.manifest.phase, priority: extension.manifest.priority };
  if (flags.to !== undefined) {
    const packaged = await repackage(extension.module, rootId, flags.to, flags.url, flags);
    notes.push(`note: repackaged ${extension.manifest.module} from ${source.description} as plugin.wasm in a compat image: ${packaged.destination} (sha256 ${packaged.sha256})`);
    return { url: packaged.url, sha256: packaged.sha256, defaults };
  }
  // Without --to the image stays where it is; that works only if Istio can already load it.
  const check = await checkImage(source);
  if (!check.accepted) {
    notes.push(`warning: Istio cannot load ${source.description} as it is (${check.errors[0]?.message ?? "no plugin.wasm"}); pass --to <reference> to repackage its module as plugin.wasm`);
    return { defaults };
  }
  if (await isLocalPath(imageArg)) {
    notes.push(`note: Istio can load ${source.description} as it is; the url stays oci://${String(spec.image)}, unpinned (the image was read from a local layout)`);
    return { defaults };
  }
  notes.push(`note: Istio can load ${source.description} as it is; the WasmPlugin pins its manifest digest`);
  return { url: source.description, sha256: check.sha256 ?? digestHex(extension.digest), defaults };
}

const isLocalPath = async (arg: string): Promise<boolean> => !/^oci:\/\//i.test(arg) && (await pathKind(arg)) !== "missing";
