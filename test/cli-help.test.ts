// pwas --help and each command's --help: usage, what it checks, and the exit codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExitCode } from "../cli/errors.js";
import { readFileSync } from "node:fs";
import { spawnPwas } from "./support/pwas-run.js";

const COMMANDS = ["init", "build", "verify", "wasmplugin", "validate", "migrate"];

test("pwas --help lists the commands and documents every exit code", async () => {
  const result = await spawnPwas(["--help"]);
  assert.equal(result.code, 0);
  for (const command of COMMANDS) assert.match(result.stdout, new RegExp(`^ {2}${command}\\b`, "m"));
  assert.match(result.stdout, /Exit codes:/);
  for (const code of Object.values(ExitCode).filter((v) => typeof v === "number")) {
    assert.match(result.stdout, new RegExp(`^ {2}${code} {2}\\S`, "m"), `exit code ${code}`);
  }
});

test("every command has --help with its exit codes", async () => {
  const results = await Promise.all(COMMANDS.map((command) => spawnPwas([command, "--help"])));
  for (const [i, result] of results.entries()) {
    assert.equal(result.code, 0, COMMANDS[i]);
    assert.match(result.stdout, new RegExp(`^Usage: pwas ${COMMANDS[i]}`, "m"));
    assert.match(result.stdout, /Exit codes: 0 /, COMMANDS[i]);
  }
});

test("usage errors exit 2: unknown option, missing argument", async () => {
  const unknown = await spawnPwas(["validate", "--frobnicate", "x.yaml"]);
  assert.equal(unknown.code, ExitCode.Usage);
  assert.match(unknown.stderr, /unknown option '--frobnicate'/);
  const missing = await spawnPwas(["verify"]);
  assert.equal(missing.code, ExitCode.Usage);
  assert.match(missing.stderr, /missing required argument 'target'/);
  // One line naming the mistake and one hint, like every other failure: not the whole usage.
  for (const result of [unknown, missing, await spawnPwas(["frobnicate"])]) {
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, result.stderr);
    assert.match(lines[0]!, /^pwas: (unknown option|missing required argument|unknown command) '/);
    assert.equal(lines[1], "hint: add --help for the command's usage");
  }
});

test("--version prints the package's version and exits 0", async () => {
  const result = await spawnPwas(["--version"]);
  assert.equal(result.code, 0, result.stderr);
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  assert.equal(result.stdout.trim(), version);
});
