// Running a command as a user would in a project of their own (npm, node, a shell script):
// with the user's npm (see cli/child-env.ts) and without this test run's NODE_TEST_CONTEXT,
// which would make the project's own `node --test` think it is nested here and skip its files.
import { spawn } from "node:child_process";
import { npmChildEnv } from "../../cli/child-env.js";

export interface ChildRun {
  code: number;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  stdout: string;
}

export function runChild(command: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const { NODE_TEST_CONTEXT: _, ...env } = npmChildEnv();
    const child = spawn(command, args, { cwd, env: { ...env, npm_config_update_notifier: "false", ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => ((stdout += d), (output += d)));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, output, stdout }));
  });
}

/** npm could not reach its registry: the test cannot install a project's dependencies here. */
export const registryUnreachable = (output: string): boolean => /ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|network/i.test(output);
