// pwas init: a new plugin project that depends on proxy-wasm-as, builds with pwas build,
// tests in the mock host, and ships with a WasmPlugin. `npm install && npm test` passes in
// it straight away.
import { spawn } from "node:child_process";
import { basename, resolve } from "node:path";
import { jsonResult } from "../json-output.js";
import type { Command } from "commander";
import { npmChildEnv } from "../child-env.js";
import { CliError, ExitCode } from "../errors.js";
import { prepareSdkDependency } from "../init/sdk-dependency.js";
import { renderTemplates, type ProjectFile } from "../init/templates.js";
import { stageProject } from "../init/write-project.js";
import { packageInfo } from "../package-root.js";
import { buildWasmPlugin, renderYaml } from "../wasmplugin/generate.js";

interface InitFlags {
  name?: string;
  rootId?: string;
  from?: string;
  force?: boolean;
  install?: boolean;
  json?: boolean;
}

const NPM_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function register(program: Command): void {
  program
    .command("init")
    .description("Create a new plugin project: an AssemblyScript filter, its tests in the mock host, a WasmPlugin.")
    .argument("<dir>", "directory to create (must not exist, or be empty)")
    .option("--name <name>", "npm package name (default: the directory name)")
    .option("--root-id <id>", "root id the plugin registers, the WasmPlugin's pluginName (default: the name)")
    .option("--from <checkout|tarball>", "take proxy-wasm-as from a checkout (packed with npm pack) or a .tgz, into vendor/ (default: the package this pwas runs from: its checkout or tarball, else the npm registry)")
    .option("--force", "write into a non-empty directory (template files are overwritten, others kept)")
    .option("--install", "run npm install in the new project")
    .option("--json", "print the result as JSON (see the README: one shape for every command)")
    .addHelpText("after", `
Creates: package.json (scripts build, test, coverage, verify), asconfig.json (extends
node_modules/proxy-wasm-as/asconfig.json), assembly/index.ts (adds a configured response
header), test/plugin.test.ts (node:test + tsx, mock host), config.json, wasmplugin.yaml,
README.md, .gitignore.

Run from a checkout or a tarball's install, pwas packs that same package into vendor/; or choose with --from:
  pwas init hello-filter --from /path/to/proxy-wasm-as      (a checkout with dist/ built)
  pwas init hello-filter --from proxy-wasm-as-0.1.0.tgz     (npm pack output)
  cd hello-filter && npm install && npm test

Exit codes: 0 created, 1 npm failed, 2 usage (non-empty directory, bad name, --from not found).`)
    .action(async (dir: string, flags: InitFlags) => {
      // The directory first: it is the most basic problem, and nothing is staged before it is checked.
      const staging = await stageProject(dir, flags.force ?? false);
      let placed: string[];
      let sdkUsed: { spec: string; description: string };
      try {
        const packageName = flags.name ?? basename(resolve(dir));
        if (!NPM_NAME.test(packageName) || packageName.length > 214) {
          throw new CliError(`"${packageName}" is not a valid npm package name`, ExitCode.Usage, "Use lowercase letters, digits, '-', '.' and '_' (pass --name if the directory name does not fit).");
        }
        const k8sName = kubernetesName(packageName);
        const rootId = flags.rootId ?? k8sName;
        if (rootId === "" || rootId.length > 256 || /["\\\n]/.test(rootId)) throw new CliError(`--root-id "${rootId}" cannot be used`, ExitCode.Usage, "Use 1 to 256 characters without quotes, backslashes or newlines.");
        const info = packageInfo();
        const sdk = await prepareSdkDependency(flags.from, staging.dir, info.version);
        const files = await renderTemplates({
          packageName,
          k8sName,
          rootId,
          sdkDependency: sdk.spec,
          assemblyscriptVersion: info.assemblyscript,
          tsxVersion: info.tsx,
        });
        files.push(wasmPluginFile(k8sName, rootId, files));
        await staging.write(files);
        placed = await staging.commit();
        sdkUsed = sdk;
        if (!flags.json) process.stdout.write(`created ${dir}/ with proxy-wasm-as from ${sdk.description}:\n${placed.map((p) => `  ${p}`).join("\n")}\n`);
      } catch (error) {
        await staging.discard();
        throw error;
      }

      if (flags.install) await npm(["install", "--no-audit", "--no-fund"], resolve(dir), flags.json ?? false);
      if (flags.json) {
        process.stdout.write(jsonResult("init", { dir: resolve(dir), files: placed, sdk: sdkUsed, installed: flags.install ?? false }));
      } else {
        process.stdout.write(`\nnext:\n  cd ${dir}\n${flags.install ? "" : "  npm install\n"}  npm test\n`);
      }
    });
}

/** A name for the WasmPlugin and the image: a DNS label derived from the package name. */
function kubernetesName(packageName: string): string {
  const bare = packageName.replace(/^@[^/]+\//, "");
  const name = bare.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  if (!DNS_LABEL.test(name)) throw new CliError(`cannot derive a Kubernetes name from "${packageName}"`, ExitCode.Usage, "Pass --name with letters and digits.");
  return name;
}

/** wasmplugin.yaml, made by the same code as `pwas wasmplugin`, with config.json as pluginConfig. */
function wasmPluginFile(k8sName: string, rootId: string, files: ProjectFile[]): ProjectFile {
  const config = files.find((f) => f.path === "config.json");
  const resource = buildWasmPlugin({
    name: k8sName,
    url: `oci://registry.example.com/${k8sName}:0.1.0`,
    imagePullPolicy: "IfNotPresent",
    phase: "STATS",
    pluginName: rootId,
    ...(config ? { pluginConfig: JSON.parse(config.contents) as Record<string, unknown> } : {}),
  });
  const contents = renderYaml([{
    resource,
    comment: [
      `${k8sName}: adds a configured header to every response of the workloads in its namespace.`,
      "Replace registry.example.com with your registry, push the image, then pin it:",
      `  pwas wasmplugin --name ${k8sName} --url oci://<registry>/${k8sName}:0.1.0 --resolve --plugin-name ${rootId} --phase STATS --config config.json -o wasmplugin.yaml`,
    ],
  }]);
  return { path: "wasmplugin.yaml", contents };
}

function npm(args: string[], cwd: string, quietStdout: boolean): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    // With --json, stdout holds only the JSON: npm's own output goes to stderr.
    const child = spawn("npm", args, { cwd, stdio: ["ignore", quietStdout ? process.stderr : "inherit", "inherit"], env: npmChildEnv() });
    child.on("error", (error) => reject(new CliError(`cannot run npm: ${error.message}`, ExitCode.Failure, "Install Node.js with npm, or run npm install yourself.")));
    child.on("exit", (code) => (code === 0 ? resolvePromise() : reject(new CliError(`npm ${args[0]} failed (exit ${code}) in ${cwd}`, ExitCode.Failure, "The project was created; fix the npm problem above and run npm install there. If npm could not find proxy-wasm-as (it is not published yet), create the project with --from <checkout or .tgz>."))));
  });
}
