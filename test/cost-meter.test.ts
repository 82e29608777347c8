// The cost meter (HostOptions.meterCost): WebAssembly instructions and host calls per
// callback, counted exactly and the same on every run; the step budget through the same
// instrumentation; reports that still name the plugin's lines.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Host, measureCost, type HostOptions } from "../runtime-mock/index.js";
import { instrumentCost } from "../runtime-mock/wasm/cost-meter.js";
import { compileWat } from "./support/plugin.js";

/** A module written out by hand, so every instruction it executes can be counted here. */
const COUNTED = compileWat(`(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hi")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  ;; 10 iterations: block, loop, then 11 × 4 (test, br_if) and 10 × 5 (increment, br), then i32.const and end = 98
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (local $i i32)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (i32.const 10)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (i32.const 0))
  ;; Two host calls; an if whose arm is taken only when the first argument is odd.
  (func (export "proxy_on_response_headers") (param $ctx i32) (param i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 64) (i32.const 2)))
    (drop (call $log (i32.const 2) (i32.const 64) (i32.const 2)))
    (if (i32.and (local.get $ctx) (i32.const 1)) (then (nop) (nop) (nop)))
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32)))`);

async function metered(bytes: Uint8Array | string, options: HostOptions = {}): Promise<Host> {
  const host = await Host.load(bytes, { meterCost: true, ...options });
  assert.ok(host.start().ok);
  return host;
}

const REQUEST: [string, string][] = [[":method", "GET"], [":path", "/"], [":authority", "x"]];

describe("the cost meter counts instructions and host calls exactly", () => {
  test("a loop counts each iteration; an if's arm only when taken; calls are host calls", async () => {
    const host = await metered(COUNTED);
    const stream = host.newHttpStream();
    stream.sendRequestHeaders(REQUEST, true);
    stream.sendResponseHeaders([[":status", "200"]], true);
    assert.equal(stream.cost.callbacks.proxy_on_request_headers?.instructions, 98);
    // 2 × (3 consts, call, drop) + local.get, i32.const, i32.and, if + (arm: 3 nops, end, when odd) + i32.const, end
    const odd = stream.contextId % 2 === 1;
    assert.equal(stream.cost.callbacks.proxy_on_response_headers?.instructions, 10 + 4 + (odd ? 4 : 0) + 2);
    assert.equal(stream.cost.callbacks.proxy_on_response_headers?.hostCalls, 2);
    assert.equal(stream.cost.callbacks.proxy_on_request_headers?.hostCalls, 0);
    // context_create: end; done: i32.const, end; log and delete: end.
    assert.equal(stream.cost.callbacks.proxy_on_context_create?.instructions, 1);
    assert.equal(stream.cost.callbacks.proxy_on_done?.instructions, 2);
    assert.equal(stream.cost.instructions, 98 + (odd ? 20 : 16) + 1 + 2 + 1 + 1);
    assert.equal(stream.cost.hostCalls, 2);
    assert.equal(stream.cost.callbacks.proxy_on_request_headers?.calls, 1);
  });

  test("the same figures on every run and in every host; host.cost sums every context, the root's too", async () => {
    const run = async () => {
      const host = await metered("examples/header-append/build/release.wasm", { pluginConfig: JSON.stringify({ "x-added": "v" }) });
      const streams = [];
      for (let i = 0; i < 5; i++) {
        const stream = host.newHttpStream();
        stream.sendRequestHeaders(REQUEST, true);
        stream.sendResponseHeaders([[":status", "200"]], true);
        streams.push(stream.cost.instructions);
      }
      return { streams, total: host.cost.instructions, initialize: host.cost.callbacks._initialize?.instructions, configure: host.cost.callbacks.proxy_on_configure };
    };
    const [a, b] = [await run(), await run()];
    assert.deepEqual(a, b);
    assert.ok(a.initialize! > 0 && a.configure!.calls === 1 && a.configure!.hostCalls >= 1, JSON.stringify(a));
    assert.ok(a.total > a.streams.reduce((x, y) => x + y, 0), "the root's callbacks count in host.cost");
  });

  test("measureCost: the mean per stream after a warm-up, for an assertion in CI", async () => {
    const host = await metered("examples/header-append/build/release.wasm", { pluginConfig: JSON.stringify({ "x-added": "v" }) });
    const cost = measureCost(host, 500, (h) => {
      const stream = h.newHttpStream();
      stream.sendRequestHeaders(REQUEST, true);
      stream.sendResponseHeaders([[":status", "200"]], true);
    });
    assert.equal(cost.hostCalls, 1, "header-append makes one host call a stream: the header it adds");
    assert.ok(cost.instructions > 100 && cost.instructions <= 3000, `instructions a stream: ${cost.instructions}`);
    assert.ok(cost.maxInstructions >= cost.instructions);
    await assert.rejects(async () => measureCost(await Host.load(COUNTED), 1, () => {}), /needs a host loaded with \{ meterCost: true \}/);
  });

  test("without meterCost nothing is counted; a compiled WebAssembly.Module cannot be metered", async () => {
    const host = await Host.load(COUNTED);
    host.start();
    host.newHttpStream().sendRequestHeaders(REQUEST, true);
    assert.equal(host.cost.instructions, 0);
    await assert.rejects(Host.load(new WebAssembly.Module(COUNTED), { meterCost: true }), /meterCost needs the module's bytes/);
  });
});

describe("the step budget and failure reports under the cost meter", () => {
  test("a runaway ends at the budget, naming the looping function's line; a trap names the user's line", async () => {
    for (const build of ["debug", "release"] as const) {
      const host = await metered(`test/fixtures/traps/build/${build}.wasm`, { stepBudget: 1_000_000 });
      const loop = host.expectTrap(() => host.newHttpStream().sendRequestHeaders([...REQUEST, ["x-fail", "loop"]], true));
      assert.equal(loop.kind, "runaway", loop.report);
      assert.equal(`${loop.userFrame?.file}:${loop.userFrame?.line}`, "assembly/index.ts:19", loop.report);
      const again = await metered(`test/fixtures/traps/build/${build}.wasm`, { stepBudget: 1_000_000 });
      const divide = again.expectTrap(() => again.newHttpStream().sendRequestHeaders([...REQUEST, ["x-fail", "divide"]], true));
      assert.equal(divide.kind, "divideByZero");
      assert.equal(`${divide.userFrame?.file}:${divide.userFrame?.line}`, "assembly/index.ts:24", divide.report);
    }
  });

  test("the instrumented copy keeps every function and global index; only two globals and their exports are added", () => {
    const metered = instrumentCost(COUNTED, { stepGuard: true });
    const original = new WebAssembly.Module(COUNTED);
    const copy = new WebAssembly.Module(metered.bytes as Uint8Array<ArrayBuffer>);
    const names = (m: WebAssembly.Module) => WebAssembly.Module.exports(m).map((e) => `${e.kind}:${e.name}`);
    assert.deepEqual(names(copy), [...names(original), "global:pwas_cost", "global:pwas_steps_left"]);
    assert.deepEqual(WebAssembly.Module.imports(copy), WebAssembly.Module.imports(original));
    assert.throws(() => instrumentCost(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 10, 4, 1, 2, 0, 0xff]), { stepGuard: false }), /unknown opcode 0xff/);
  });
});
