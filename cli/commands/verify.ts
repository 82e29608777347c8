// pwas verify: would this load? For a module file: Envoy's load checks. For an image
// (OCI layout, layout archive or registry reference): istio-agent's acceptance rules,
// then Envoy's checks on the module it would extract.
import { jsonResult } from "../json-output.js";
import type { Command } from "commander";
import { CliError, ExitCode } from "../errors.js";
import { DEFAULT_MAX_MODULE_BYTES } from "../module/unwrap.js";
import { resolveTarget } from "../verify/target.js";
import { verifyTarget } from "../verify/verify.js";
import { renderReport } from "../verify/report.js";
import { parseByteSize } from "../option-parsers.js";
import { addRegistryOptions, remoteImage, type RegistryFlags } from "../registry-options.js";

interface VerifyFlags extends RegistryFlags {
  json?: boolean;
  tag?: string;
  maxSize: number;
  instantiate: boolean;
}

export function register(program: Command): void {
  const command = program
    .command("verify")
    .description("Check that Envoy would load a module, or that Istio would accept an image and load its module.")
    .argument("<target>", "a .wasm (.wasm.gz, .tar, .tar.gz) file, an OCI layout directory or archive, or an image reference (oci://registry/repo:tag)")
    .option("--json", "print the report as JSON")
    .option("--tag <tag>", "the image to check in a layout that holds several")
    .option("--max-size <bytes>", "Istio's ISTIO_WASM_MAX_BINARY_SIZE_BYTES (e.g. 256Mi, 10485760)", parseByteSize, DEFAULT_MAX_MODULE_BYTES)
    .option("--no-instantiate", "do not instantiate the module in the mock host (skips running its start-up code)");
  addRegistryOptions(command)
    .addHelpText("after", `
Module checks (what Envoy does before it runs a plugin):
  format       the wasm magic (gzip/tar wrappings are removed first, as Istio does for http(s) URLs)
  size         at most 256 MiB (Istio silently truncates bigger modules)
  ABI marker   a proxy_abi_version_0_1_0 / 0_2_0 / 0_2_1 function export
  imports      every import is a host function Envoy provides for that ABI version, with its type
  exports      memory, an allocator (malloc or proxy_on_memory_allocate), callback signatures
  start        a wasm start section runs before any context exists: an error if it calls the
               host directly, otherwise a warning
  instantiate  the module is instantiated and initialized (_initialize/_start) in the mock host
Image checks (istio-agent's rules): the variant (compat: plugin.wasm in the last tar+gzip
layer; oci: exactly 2 layers with the module layer), index resolution to linux/amd64, the
manifest digest to use as spec.sha256, :latest and untagged references.

Exit codes: 0 it would load (warnings allowed), 2 usage, 3 a check failed, 4 registry
unreachable, 5 registry auth, 6 digest mismatch while reading the image.`)
    .action(async (arg: string, flags: VerifyFlags) => {
      const target = await resolveTarget(arg);
      const report = await verifyTarget(arg, target, {
        maxBytes: flags.maxSize,
        instantiate: flags.instantiate,
        ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
        openRemote: async (remote) => remoteImage(remote.reference, flags),
      });
      process.stdout.write(flags.json ? jsonResult("verify", report, report.ok) : renderReport(report));
      if (!report.ok) {
        throw new CliError(`${arg} would not load`, ExitCode.Invalid, "See the FAIL lines above: each says what to change.");
      }
    });
}
