// The import rules of .dependency-cruiser.cjs (run by `npm run lint:imports` in `npm test`):
// the tree as it stands passes, and an upward import or a cycle fails with a message that
// names the layer and what it may import, type-only imports included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "./support/pwas-run.js";

const CONFIG = join(REPO_ROOT, ".dependency-cruiser.cjs");
const DEPCRUISE = join(REPO_ROOT, "node_modules", ".bin", "depcruise");

function cruise(cwd: string, paths: string[]) {
  const run = spawnSync(DEPCRUISE, [...paths, "--config", CONFIG, "--output-type", "err-long"], { cwd, encoding: "utf8" });
  // err-long wraps the rule's comment: one space per run of white space.
  return { status: run.status, output: `${run.stdout}${run.stderr}`.replace(/\s+/g, " ") };
}

/** A throw-away tree laid out like the repository. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "pwas-layers-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test("the repository's runtime-mock/, assembly/ and cli/ keep the layer rules and have no import cycle", () => {
  const { status, output } = cruise(REPO_ROOT, ["runtime-mock", "assembly", "cli"]);
  assert.equal(status, 0, output);
  assert.match(output, /no dependency violations found/);
});

test("an upward import fails, naming the layer and what it may import (type-only imports count)", (t) => {
  const root = tree({
    "runtime-mock/wasm/memory.ts": "export class PluginMemory {}\n",
    "runtime-mock/vm/vm.ts": 'import { PluginMemory } from "../wasm/memory.js";\nexport class PluginVm { memory = new PluginMemory(); }\n',
    "runtime-mock/envoy/headers.ts": 'import type { PluginVm } from "../vm/vm.js";\nexport type Owner = PluginVm;\n',
    "runtime-mock/hostcalls/log.ts": 'import { PluginVm } from "../vm/vm.js";\nexport const make = () => new PluginVm();\n',
    "runtime-mock/wasm/module.ts": 'import type { Owner } from "../envoy/headers.js";\nexport type M = Owner;\n',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { status, output } = cruise(root, ["runtime-mock"]);
  assert.notEqual(status, 0, "the check fails");
  assert.match(output, /layer-envoy: runtime-mock\/envoy\/headers\.ts → runtime-mock\/vm\/vm\.ts/);
  assert.match(output, /runtime-mock\/envoy\/ may import only envoy\/, wasm\/types\.ts, wasm\/pairs\.ts, wasm\/utf8\.ts inside runtime-mock\/: Envoy's model knows the ABI's enums, the pairs codec and UTF-8/);
  assert.match(output, /layer-hostcalls: runtime-mock\/hostcalls\/log\.ts → runtime-mock\/vm\/vm\.ts/);
  assert.match(output, /host calls reach the VM only through the ports/);
  assert.match(output, /layer-wasm: runtime-mock\/wasm\/module\.ts → runtime-mock\/envoy\/headers\.ts/);
  assert.doesNotMatch(output, /layer-vm:/, "the VM may import the layers below it");
});

test("an import cycle fails in the SDK and in the CLI too", (t) => {
  const root = tree({
    "assembly/context.ts": 'import { Pending } from "./callouts";\nexport class BaseContext { p: Pending | null = null; }\n',
    "assembly/callouts.ts": 'import { BaseContext } from "./context";\nexport class Pending { c: BaseContext | null = null; }\n',
    "cli/a.ts": 'import type { B } from "./b.js";\nexport type A = B;\n',
    "cli/b.ts": 'import type { A } from "./a.js";\nexport type B = A | 1;\n',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { status, output } = cruise(root, ["assembly", "cli"]);
  assert.notEqual(status, 0);
  assert.match(output, /no-circular: assembly\/(context|callouts)\.ts/);
  assert.match(output, /no-circular: cli\/(a|b)\.ts/);
  assert.match(output, /an import cycle: break it with a narrower interface/);
});
