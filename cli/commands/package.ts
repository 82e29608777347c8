// pwas package: a compiled module → a Wasm OCI image Istio loads (compat by default, or the
// oci variant), written as an OCI layout directory and/or archive, and/or an http(s)
// artifact; prints the sha256 a WasmPlugin needs for each URL scheme.
import { jsonResult } from "../json-output.js";
import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { CliError, ExitCode } from "../errors.js";
import { writeFileAtomic, writingTo } from "../oci/atomic-fs.js";
import { digestHex, sha256Hex } from "../oci/digest.js";
import { buildHttpArtifact, httpArtifactKind, unboxLikeIstio } from "../oci/http-artifact.js";
import { buildImage, type ManifestFormat, type Variant } from "../oci/image-builder.js";
import { bundleSource } from "../oci/image-source.js";
import { checkImage } from "../oci/istio-acceptance.js";
import { writeLayoutArchive } from "../oci/layout-archive.js";
import { writeLayoutDir } from "../oci/layout.js";
import { formatBytes } from "../oci/progress.js";
import { TAG_RE } from "../oci/reference.js";
import { readRuntimeConfigFile } from "../oci/runtime-config.js";
import { out, printFindings } from "../oci/command-support.js";

interface PackageOptions {
  variant: Variant;
  format: ManifestFormat;
  runtimeConfig?: string;
  rootId: string[];
  annotation: string[];
  layout?: string;
  tag?: string;
  output?: string;
  http?: string;
  json?: boolean;
  quiet?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function parseAnnotations(pairs: string[]): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError(`--annotation ${JSON.stringify(pair)} is not key=value`, ExitCode.Usage, "write it like --annotation org.opencontainers.image.source=https://github.com/acme/plugin");
    annotations[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return annotations;
}

async function readModule(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CliError(`cannot read module ${path}: ${(error as Error).message}`, ExitCode.Usage, "pass the .wasm your build produced, e.g. build/plugin.wasm (build it with `pwas build`)");
  }
}

export async function runPackage(modulePath: string, options: PackageOptions): Promise<void> {
  if (!options.layout && !options.output && !options.http) {
    throw new CliError("nothing to write", ExitCode.Usage, "add --layout <dir> (OCI layout), --output <image.tar> (layout archive) and/or --http <plugin.wasm.gz> (for http(s) URLs)");
  }
  if (options.tag !== undefined && !TAG_RE.test(options.tag)) {
    throw new CliError(`--tag ${JSON.stringify(options.tag)} is not a valid tag`, ExitCode.Usage, "use letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-'), e.g. v1.0.0");
  }
  if (options.format === "docker" && options.variant === "oci") {
    throw new CliError("--format docker applies to the compat variant only", ExitCode.Usage, "drop --format docker, or drop --variant oci");
  }
  const annotations = parseAnnotations(options.annotation);
  if (options.format === "docker" && options.annotation.length) {
    throw new CliError("--annotation needs OCI media types: Docker schema2 manifests have no annotations", ExitCode.Usage, "drop --format docker or the annotations");
  }
  const module = await readModule(modulePath);
  const runtimeConfig = options.runtimeConfig !== undefined ? await readRuntimeConfigFile(options.runtimeConfig) : undefined;
  const bundle = await buildImage({
    module,
    variant: options.variant,
    format: options.format,
    ...(runtimeConfig ? { runtimeConfig } : {}),
    rootIds: options.rootId,
    annotations,
  });
  const wantsImage = Boolean(options.layout || options.output);
  const result: Record<string, unknown> = {
    module: { path: modulePath, bytes: module.byteLength, sha256: sha256Hex(module) },
  };

  if (wantsImage) {
    // pwas only writes images istio-agent accepts; a refusal here is a bug in pwas itself.
    const check = await checkImage(bundleSource(bundle, "the packaged image"));
    if (!check.accepted) {
      printFindings(options, check);
      throw new CliError("the packaged image would not be accepted by istio-agent (a pwas bug)", ExitCode.Failure, "please report it with the module attached");
    }
    printFindings(options, { warnings: check.warnings });
    const { layout, output } = options;
    if (layout) await writingTo(layout, () => writeLayoutDir(layout, bundle, options.tag));
    if (output) await writingTo(output, () => writeLayoutArchive(output, bundle, options.tag));
    Object.assign(result, {
      variant: options.variant,
      format: options.format,
      manifestDigest: bundle.root.digest,
      sha256: digestHex(bundle.root.digest),
      ...(options.layout ? { layout: options.layout } : {}),
      ...(options.output ? { archive: options.output } : {}),
      ...(options.tag ? { tag: options.tag } : {}),
    });
  }
  if (options.http) {
    const kind = httpArtifactKind(options.http);
    const artifact = await buildHttpArtifact(module, kind);
    // The sha256 istio-agent compares is the unwrapped module's; compute it the way it does.
    const unboxedSha = sha256Hex(await unboxLikeIstio(artifact));
    const httpPath = options.http;
    await writingTo(httpPath, () => writeFileAtomic(httpPath, artifact));
    result.http = { path: options.http, kind, bytes: artifact.byteLength, sha256: unboxedSha };
  }

  if (options.json) {
    process.stdout.write(jsonResult("package", result));
    return;
  }
  const lines = [`packaged ${modulePath} (${formatBytes(module.byteLength)})`];
  if (wantsImage) {
    lines.push(`  image: ${options.variant} variant, ${options.format === "docker" ? "Docker schema2" : "OCI"} media types`);
    if (options.layout) lines.push(`  layout: ${options.layout}${options.tag ? ` (tag ${options.tag})` : ""}`);
    if (options.output) lines.push(`  archive: ${options.output}${options.tag ? ` (tag ${options.tag})` : ""}`);
    lines.push(`  manifest digest: ${bundle.root.digest}`);
    lines.push(`  WasmPlugin sha256 for an oci:// url: ${digestHex(bundle.root.digest)}`);
  }
  if (options.http) {
    const http = result.http as { path: string; sha256: string };
    lines.push(`  http artifact: ${http.path}`);
    lines.push(`  WasmPlugin sha256 for an http(s):// url serving ${http.path}: ${http.sha256}`);
  }
  out(lines.join("\n"));
}

export function register(program: Command): void {
  program
    .command("package")
    .description("package a compiled module as a Wasm OCI image (and/or an http(s) artifact) and print the WasmPlugin sha256")
    .argument("<module.wasm>", "the compiled plugin module")
    .addOption(new Option("--variant <variant>", "compat: one tar+gzip layer holding plugin.wasm; oci: wasme's runtime-config + raw module layers").choices(["compat", "oci"]).default("compat"))
    .addOption(new Option("--format <format>", "manifest/layer media types (docker: schema2, compat only)").choices(["oci", "docker"]).default("oci"))
    .option("--runtime-config <file>", "runtime-config.json to include (compat: optional; oci: generated when absent)")
    .option("--root-id <id>", "root id for a generated runtime-config.json (repeatable)", collect, [])
    .option("--annotation <key=value>", "extra manifest annotation (repeatable; OCI format)", collect, [])
    .option("--layout <dir>", "write/update an OCI image layout directory")
    .option("--tag <tag>", "name the image in the layout/archive (org.opencontainers.image.ref.name); push uses it when the target has no tag")
    .option("--output <image.tar>", "write an OCI layout archive (tar)")
    .option("--http <file>", "write an artifact for http(s):// URLs: .wasm, .wasm.gz, .tar or .tar.gz")
    .option("--json", "print the result as JSON")
    .option("-q, --quiet", "no warnings")
    .action((modulePath: string, options: PackageOptions) => runPackage(modulePath, options));
}
