// pwas coverage: line, branch and function coverage of a plugin's AssemblyScript sources
// from its node tests. The fixture test/fixtures/coverage has known untested lines, branch
// arms and a function; its own test sends GET requests only.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExitCode } from "../cli/errors.js";
import { spawnPwas } from "./support/pwas-run.js";

const FIXTURE = "test/fixtures/coverage";
const FIXTURE_TESTS = `node --import tsx --test ${FIXTURE}/test/*.test.ts`;
const digest = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("pwas coverage", () => {
  test("reports the fixture's untested lines, branch arms and function, as lcov and a text table", async () => {
    const reports = mkdtempSync(join(tmpdir(), "pwas-coverage-test-"));
    const result = await spawnPwas(["coverage", FIXTURE, "--command", FIXTURE_TESTS, "--reporter", "text", "lcovonly", "json-summary", "--report-dir", reports]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /# pass 1/, "the fixture's test ran");
    assert.match(result.stdout, /index\.ts\s*\|\s*75\s*\|\s*50\s*\|\s*75\s*\|\s*81\.81\s*\|\s*12,21/, result.stdout);

    const summary = JSON.parse(readFileSync(join(reports, "coverage-summary.json"), "utf8")).total;
    assert.deepEqual(
      { lines: [summary.lines.covered, summary.lines.total], statements: [summary.statements.covered, summary.statements.total], functions: [summary.functions.covered, summary.functions.total], branches: [summary.branches.covered, summary.branches.total] },
      { lines: [9, 11], statements: [9, 12], functions: [3, 4], branches: [3, 6] },
    );
    const lcov = readFileSync(join(reports, "lcov.info"), "utf8");
    assert.match(lcov, /^SF:.*test\/fixtures\/coverage\/assembly\/index\.ts$/m);
    assert.match(lcov, /^FNDA:0,neverCalled$/m);
    assert.match(lcov, /^DA:12,0$/m);
    assert.match(lcov, /^DA:21,0$/m);
    // if/else (line 18): then taken, else not; ?: (23): "read" only; if without else (25): only its implicit else.
    for (const arm of ["18,0,0,1", "18,0,1,0", "23,1,0,1", "23,1,1,0", "25,2,0,0", "25,2,1,1"]) assert.match(lcov, new RegExp(`^BRDA:${arm}$`, "m"));
  });

  test("leaves the modules it builds as pwas build writes them: the counting copies live elsewhere", async () => {
    const before = await spawnPwas(["build", FIXTURE]);
    assert.equal(before.code, 0, before.stderr);
    const release = digest(`${FIXTURE}/build/release.wasm`);
    const result = await spawnPwas(["coverage", FIXTURE, "--command", FIXTURE_TESTS, "--reporter", "none", "--report-dir", mkdtempSync(join(tmpdir(), "pwas-coverage-test-"))]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(digest(`${FIXTURE}/build/release.wasm`), release);
  });

  test("fails when the tests fail (the report of what ran is still written), when no test loads a counted module, and on an unknown reporter", async () => {
    const reports = mkdtempSync(join(tmpdir(), "pwas-coverage-test-"));
    const failing = await spawnPwas(["coverage", FIXTURE, "--command", `${FIXTURE_TESTS} && exit 7`, "--reporter", "json-summary", "--report-dir", reports]);
    assert.equal(failing.code, ExitCode.Failure);
    assert.match(failing.stderr, /the tests failed \(`.*` exited 7\)/);
    assert.ok(JSON.parse(readFileSync(join(reports, "coverage-summary.json"), "utf8")).total.lines.covered > 0);

    const nothing = await spawnPwas(["coverage", FIXTURE, "--command", "node -e 0"]);
    assert.equal(nothing.code, ExitCode.Failure);
    assert.match(nothing.stderr, /no test loaded a counted module \(2 built\)/);
    assert.match(nothing.stderr, /hint: Check that `node -e 0` runs the tests/);

    const unknown = await spawnPwas(["coverage", FIXTURE, "--reporter", "lcovv"]);
    assert.equal(unknown.code, ExitCode.Usage);
    assert.match(unknown.stderr, /unknown reporter lcovv/);
  });
});
