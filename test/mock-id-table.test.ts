// The host's table of live objects by id (contexts, streams, callouts): it must behave as a
// Map under the churn of streams opening and closing, including across its rebuilds.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { IdTable } from "../runtime-mock/envoy/id-table.js";

test("IdTable agrees with a Map over any sequence of sets and deletes", () => {
  const operation = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), id: fc.nat(200), value: fc.integer() }),
    fc.record({ kind: fc.constant("delete" as const), id: fc.nat(200) }),
  );
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 400 }), (operations) => {
      const table = new IdTable<number>();
      const model = new Map<number, number>();
      for (const op of operations) {
        if (op.kind === "set") {
          table.set(op.id, op.value);
          model.set(op.id, op.value);
        } else {
          assert.equal(table.delete(op.id), model.delete(op.id));
        }
        assert.equal(table.size, model.size);
      }
      for (let id = 0; id <= 200; id++) {
        assert.equal(table.get(id), model.get(id));
        assert.equal(table.has(id), model.has(id));
      }
      assert.deepEqual(table.entries(), [...model].sort((a, b) => a[0] - b[0]));
    }),
  );
});

test("IdTable keeps a steady size under stream-like churn: a million opens and closes with 1,000 open", () => {
  const table = new IdTable<{ id: number }>();
  for (let id = 1; id <= 1_000_000; id++) {
    table.set(id, { id });
    if (id > 1000) assert.ok(table.delete(id - 1000));
  }
  assert.equal(table.size, 1000);
  assert.deepEqual(table.values().map((v) => v.id), Array.from({ length: 1000 }, (_, i) => 999_001 + i));
  assert.equal(table.get(500), undefined);
  assert.equal(table.get(1_000_000)?.id, 1_000_000);
});
