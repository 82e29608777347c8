// pwas wasmplugin: writes an Istio WasmPlugin from flags and a plugin configuration file,
// with the url in the form Istio accepts, the sha256 that Istio actually compares for that
// scheme, and the pull-policy consequences spelled out.
import { jsonResult } from "../json-output.js";
import type { Command } from "commander";
import { CliError, ExitCode } from "../errors.js";
import { writeFileAtomic } from "../oci/atomic-fs.js";
import { collect, parseChoice, parseInteger, parseKeyValue } from "../option-parsers.js";
import { addRegistryOptions, remoteImage, type RegistryFlags } from "../registry-options.js";
import { buildWasmPlugin, renderYaml, type EnvVar, type TargetRef } from "../wasmplugin/generate.js";
import { downloadedModuleDigest, imageDigest, layoutDigest, moduleFileDigest, reconcileDigests, type DigestSource } from "../wasmplugin/digest-sources.js";
import { readPluginConfig } from "../wasmplugin/plugin-config.js";
import { pullPolicyAdvice } from "../wasmplugin/pull-policy.js";
import { FAIL_STRATEGIES, formatPath, MATCH_MODES, PLUGIN_TYPES, SHA256, TARGET_KINDS, validateWasmPlugin } from "../wasmplugin/schema.js";
import { normalizePluginUrl, PluginUrlError, type PluginUrl } from "../wasmplugin/url.js";

interface WasmPluginFlags extends RegistryFlags {
  json?: boolean;
  name: string;
  namespace?: string;
  url: string;
  sha256?: string;
  image?: string;
  tag?: string;
  resolve?: boolean;
  module?: string;
  pullPolicy?: string;
  pullSecret?: string;
  phase?: string;
  priority?: number;
  pluginName?: string;
  config?: string;
  env?: [string, string][];
  hostEnv?: string[];
  matchMode?: string;
  port?: number[];
  type?: string;
  selector?: [string, string][];
  targetRef?: TargetRef[];
  failStrategy?: string;
  output?: string;
}

export function register(program: Command): void {
  const command = program
    .command("wasmplugin")
    .description("Write an Istio WasmPlugin (extensions.istio.io/v1alpha1) with the right url and sha256.")
    .requiredOption("--name <name>", "metadata.name")
    .option("-n, --namespace <namespace>", "metadata.namespace")
    .requiredOption("--url <url>", "oci://registry/repo:tag, a bare image reference (gets oci://), https://…/plugin.wasm, or file:///path/in/proxy.wasm")
    .option("--sha256 <hex>", "spec.sha256 as given (64 hex; a sha256: prefix is dropped)", parseSha256)
    .option("--image <layout>", "oci: compute sha256 (the manifest digest) from this OCI layout directory or archive, e.g. the output of pwas package")
    .option("--tag <tag>", "with --image: the image in the layout (default: the url's tag)")
    .option("--resolve", "oci: read the manifest digest from the registry; http(s): download the module and hash it")
    .option("--module <file>", "http(s): compute sha256 from this local copy of the module (.wasm, .wasm.gz, .tar.gz), as Istio hashes it")
    .option("--pull-policy <policy>", "IfNotPresent or Always (oci only)", parseChoice("--pull-policy", ["IfNotPresent", "Always"]))
    .option("--pull-secret <name>", "imagePullSecret: a kubernetes.io/dockerconfigjson Secret in the same namespace")
    .option("--phase <phase>", "AUTHN, AUTHZ, STATS, or unspecified (last, before the router)", parseChoice("--phase", ["AUTHN", "AUTHZ", "STATS", "unspecified"], { unspecified_phase: "unspecified", none: "unspecified" }))
    .option("--priority <n>", "order within the phase; higher runs first", parseInteger("--priority", -(2 ** 31), 2 ** 31 - 1))
    .option("--plugin-name <root-id>", "pluginName: the root id the plugin registers (Envoy's root_id)")
    .option("-c, --config <file>", "pluginConfig from a JSON or YAML file (- for standard input)")
    .option("--env <NAME=value>", "vmConfig.env entry with an inline value (repeatable)", collect(parseKeyValue("--env")))
    .option("--host-env <NAME>", "vmConfig.env entry copied from the proxy's environment (repeatable)", collect((s: string) => s))
    .option("--match-mode <mode>", "match[].mode: CLIENT, SERVER or CLIENT_AND_SERVER", parseChoice("--match-mode", MATCH_MODES.filter((m) => m !== "UNDEFINED")))
    .option("--port <number>", "match[].ports (repeatable)", collect(parseInteger("--port", 1, 65535)))
    .option("--type <type>", "HTTP or NETWORK", parseChoice("--type", PLUGIN_TYPES.filter((t) => t !== "UNSPECIFIED_PLUGIN_TYPE")))
    .option("--selector <key=value>", "selector.matchLabels entry (repeatable); omit for the whole namespace", collect(parseKeyValue("--selector")))
    .option("--target-ref <[group/]Kind/name>", "targetRefs entry, e.g. Gateway/ingress or Service/reviews (repeatable)", collect(parseTargetRef))
    .option("--fail-strategy <strategy>", "FAIL_CLOSE (default), FAIL_OPEN or FAIL_RELOAD", parseChoice("--fail-strategy", FAIL_STRATEGIES))
    .option("-o, --output <file>", "write the YAML to this file (atomically) instead of standard output")
    .option("--json", "print the result as JSON, the YAML in it (see the README: one shape for every command)");
  addRegistryOptions(command)
    .addHelpText("after", `
sha256 per url scheme (what Istio compares):
  oci://    the image manifest digest (for an index, its linux/amd64 image's), not a hash of the
            .wasm: --image <layout> or --resolve, or --sha256 / a @sha256: digest in the url
  http(s)   the sha256 of the module after gzip/tar are removed: --module <file> or --resolve
  file://   none (the proxy loads the file itself)

Examples:
  pwas wasmplugin --name hello --namespace demo --url 127.0.0.1:5000/hello:0.1.0 \\
      --image out/hello --plugin-name hello --phase STATS -c config.json --selector app=web -o wasmplugin.yaml
  pwas wasmplugin --name auth --url https://example.com/auth.wasm.gz --module build/auth.wasm.gz --phase AUTHN

Exit codes: 0 written, 2 usage (bad or conflicting options, missing file), 3 invalid (bad
config file, an image or module Istio/Envoy would refuse, a WasmPlugin the CRD rejects),
4/5 registry or download failure / auth, 6 digest sources disagree.`)
    .action(async (flags: WasmPluginFlags) => {
      const yaml = await generate(flags);
      if (flags.output) await writeFileAtomic(flags.output, new TextEncoder().encode(yaml));
      if (flags.json) process.stdout.write(jsonResult("wasmplugin", { output: flags.output ?? null, yaml }));
      else if (flags.output) process.stderr.write(`wrote ${flags.output}\n`);
      else process.stdout.write(yaml);
    });
}

async function generate(flags: WasmPluginFlags): Promise<string> {
  if (flags.tag !== undefined && flags.image === undefined) throw new CliError("--tag selects an image of --image <layout>", ExitCode.Usage, "Add --image, or drop --tag.");
  let url: PluginUrl;
  try {
    url = normalizePluginUrl(flags.url);
  } catch (error) {
    if (error instanceof PluginUrlError) throw new CliError(`--url: ${error.message}`, ExitCode.Usage, error.hint);
    throw error;
  }
  const digest = await resolveDigest(url, flags);
  const comment = ["Generated by pwas wasmplugin."];
  if (digest) comment.push(`spec.sha256: ${digest.origin}.`);

  const env: EnvVar[] = [
    ...(flags.env ?? []).map(([name, value]) => ({ name, value })),
    ...(flags.hostEnv ?? []).map((name) => ({ name, valueFrom: "HOST" as const })),
  ];
  if (flags.selector && flags.targetRef) throw new CliError("--selector and --target-ref cannot be combined", ExitCode.Usage, "A WasmPlugin selects workloads by labels (sidecars) or targets Gateways/Services (targetRefs), not both.");
  const resource = buildWasmPlugin({
    name: flags.name,
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
    ...(flags.selector ? { selector: Object.fromEntries(flags.selector) } : {}),
    ...(flags.targetRef ? { targetRefs: flags.targetRef } : {}),
    url: url.url,
    ...(digest ? { sha256: digest.sha256 } : {}),
    ...(flags.pullPolicy ? { imagePullPolicy: flags.pullPolicy } : {}),
    ...(flags.pullSecret !== undefined ? { imagePullSecret: flags.pullSecret } : {}),
    ...(flags.phase && flags.phase !== "unspecified" ? { phase: flags.phase } : {}),
    ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
    ...(flags.pluginName !== undefined ? { pluginName: flags.pluginName } : {}),
    ...(flags.failStrategy ? { failStrategy: flags.failStrategy } : {}),
    ...(flags.type ? { type: flags.type } : {}),
    ...(flags.matchMode || flags.port ? { match: [{ ...(flags.matchMode ? { mode: flags.matchMode } : {}), ...(flags.port ? { ports: flags.port } : {}) }] } : {}),
    ...(env.length > 0 ? { env } : {}),
    ...(flags.config !== undefined ? { pluginConfig: await readPluginConfig(flags.config) } : {}),
  });

  const issues = validateWasmPlugin(resource);
  const errors = issues.filter((i) => i.severity === "error");
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(`pwas: ${formatPath(e.path)}: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ""}`);
    throw new CliError(`the options give a WasmPlugin Istio would reject (${errors.length === 1 ? "see above" : `${errors.length} errors above`})`, ExitCode.Invalid);
  }
  // Pull-policy advice is about the flags, so it is printed once, as warnings (the schema's
  // own warnings repeat it).
  for (const advice of pullPolicyAdvice(url, flags.pullPolicy, digest?.sha256, flags.pullSecret)) {
    process.stderr.write(`pwas: warning: spec.${advice.field} ${advice.message}\n${advice.hint ? `  hint: ${advice.hint}\n` : ""}`);
  }
  if (url.scheme === "oci" && !digest) {
    process.stderr.write("pwas: note: no spec.sha256: Istio runs whatever the tag points to when it pulls; pass --image <layout> or --resolve to pin the image\n");
  }
  return renderYaml([{ resource, comment }]);
}

async function resolveDigest(url: PluginUrl, flags: WasmPluginFlags): Promise<DigestSource | undefined> {
  const sources: DigestSource[] = [];
  if (url.scheme === "file") {
    for (const [flag, set] of [["--sha256", flags.sha256], ["--image", flags.image], ["--resolve", flags.resolve], ["--module", flags.module]] as const) {
      if (set !== undefined && set !== false) throw new CliError(`${flag} does not apply to file:// URLs`, ExitCode.Usage, "The proxy loads a file:// module from its own filesystem; Istio verifies no sha256 for it.");
    }
    return undefined;
  }
  if (url.scheme === "oci") {
    if (flags.module) throw new CliError("--module applies to http(s) URLs", ExitCode.Usage, "For oci:// the sha256 is the image manifest digest: use --image <layout> or --resolve.");
    const digest = url.ref!.digest;
    if (digest) sources.push({ sha256: digest.slice("sha256:".length), origin: "the digest in the url" });
    if (flags.image) sources.push(await layoutDigest(flags.image, flags.tag ?? url.ref!.tag));
    if (flags.resolve) sources.push(await imageDigest(remoteImage(url.ref!, flags)));
  } else {
    if (flags.image) throw new CliError("--image applies to oci:// URLs", ExitCode.Usage, "For http(s) the sha256 is that of the module: use --module <file> or --resolve.");
    if (flags.module) sources.push(await moduleFileDigest(flags.module));
    if (flags.resolve) sources.push(await downloadedModuleDigest(url.url));
  }
  if (flags.sha256) sources.unshift({ sha256: flags.sha256, origin: "the value of --sha256" });
  return reconcileDigests(sources);
}

function parseSha256(text: string): string {
  const hex = text.trim().replace(/^sha256:/, "").toLowerCase();
  if (!SHA256.test(hex)) throw new CliError(`--sha256 "${text}" is not 64 hex characters`, ExitCode.Usage, "For oci:// it is the image manifest digest (pwas push prints it); for http(s) the module's sha256.");
  return hex;
}

function parseTargetRef(text: string): TargetRef {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new CliError(`--target-ref "${text}" is not [group/]Kind/name`, ExitCode.Usage, "e.g. Gateway/ingress, Service/reviews, networking.istio.io/ServiceEntry/external-api");
  }
  const [kind, name] = parts.slice(-2) as [string, string];
  const known = TARGET_KINDS.find((t) => t.kind.toLowerCase() === kind.toLowerCase());
  const group = parts.length === 3 ? parts[0]! : known?.group;
  return { ...(group ? { group } : {}), kind: known && parts.length === 2 ? known.kind : kind, name };
}
