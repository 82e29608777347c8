// pwas: from source to a running WasmPlugin. Each command lives in cli/commands/<name>.ts
// and exports `register(program)`.
import { Command, CommanderError } from "commander";
import { CliError, ExitCode } from "./errors.js";
import { jsonFailure, wantsJson } from "./json-output.js";
import { commands } from "./commands/index.js";
import { exitCodesHelp } from "./exit-codes-help.js";
import { packageInfo } from "./package-root.js";

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = new Command("pwas")
    .description("Build, package, push, verify and deploy proxy-wasm plugins (Envoy, Istio WasmPlugin).")
    .version(packageInfo().version, "-V, --version", "print the version of proxy-wasm-as")
    .exitOverride()
    // A mistake is one line and a hint, as every other failure; the usage is one --help away.
    .showHelpAfterError("hint: add --help for the command's usage")
    .addHelpText("after", exitCodesHelp())
    .configureOutput({
      writeErr: (text) => process.stderr.write(text),
      outputError: (text, write) => write(text.replace(/^error: /, "pwas: ")),
    });
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv);
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with code 0.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`pwas: ${error.message}\n`);
      if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
      if (wantsJson(argv)) process.stdout.write(jsonFailure(argv[2] ?? "pwas", error));
      return error.exitCode;
    }
    process.stderr.write(`pwas: unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    return ExitCode.Failure;
  }
}

// Run when executed directly (the package's bin, or `node --import tsx cli/index.ts`).
const invokedDirectly = process.argv[1] !== undefined && /(?:cli[\\/]index\.[cm]?[jt]s|[\\/]cli\.js|[\\/]pwas)$/.test(process.argv[1]);
if (invokedDirectly) {
  main().then((code) => process.exit(code));
}
