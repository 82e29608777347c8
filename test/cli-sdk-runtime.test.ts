// Where pwas build points asc for the SDK's runtime: asc reads the runtime's path from the
// project directory, so a project whose SDK is installed higher up (a workspace) or not at
// all (pwas run from elsewhere) still builds with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SDK_RUNTIME, sdkRuntimeArgs } from "../cli/compiler/sdk-runtime.js";
import { packageInfo } from "../cli/package-root.js";

async function withTree(files: string[], run: (dir: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pwas-runtime-"));
  try {
    for (const file of files) {
      await mkdir(join(dir, file, ".."), { recursive: true });
      await writeFile(join(dir, file), "");
    }
    run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("another runtime (the standard minimal one, a path of the user's) is left as configured", () => {
  assert.deepEqual(sdkRuntimeArgs(process.cwd(), "minimal"), []);
  assert.deepEqual(sdkRuntimeArgs(process.cwd(), "./my-runtime"), []);
  assert.deepEqual(sdkRuntimeArgs(process.cwd(), undefined), []);
});

test("the SDK installed in the project: the configured path already works, nothing is added", () =>
  withTree([`plugin/${SDK_RUNTIME}.ts`], (dir) => {
    assert.deepEqual(sdkRuntimeArgs(join(dir, "plugin"), SDK_RUNTIME), []);
  }));

test("the SDK hoisted to a workspace's root: asc is pointed at that copy, relative to the project", () =>
  withTree([`${SDK_RUNTIME}.ts`, "packages/plugin/asconfig.json"], (dir) => {
    assert.deepEqual(sdkRuntimeArgs(join(dir, "packages", "plugin"), SDK_RUNTIME), ["--runtime", `../../${SDK_RUNTIME}`]);
  }));

test("no SDK installed anywhere up the tree: the SDK pwas runs from", () =>
  withTree(["plugin/asconfig.json"], (dir) => {
    const project = join(dir, "plugin");
    const [flag, path] = sdkRuntimeArgs(project, SDK_RUNTIME);
    assert.equal(flag, "--runtime");
    assert.equal(resolve(project, path!), join(packageInfo().root, "assembly", "runtime", "index"));
  }));
