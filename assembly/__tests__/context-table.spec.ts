// The registry's table of stream contexts: sequential ids, thousands open at once, a
// long-lived stream among millions of short ones, deletions in any order.
import { ContextTable } from "../context-table";

class Item {
  constructor(public id: u32) {}
}

describe("ContextTable", () => {
  it("finds what was set and forgets what was deleted", () => {
    const table = new ContextTable<Item>();
    expect(table.get(1)).toBeNull();
    table.set(1, new Item(1));
    table.set(2, new Item(2));
    expect(table.get(1)!.id).toBe(1);
    expect(table.get(2)!.id).toBe(2);
    expect(table.delete(1)).toBe(true);
    expect(table.delete(1)).toBe(false);
    expect(table.get(1)).toBeNull();
    expect(table.get(2)!.id).toBe(2);
    table.set(2, new Item(22));
    expect(table.get(2)!.id).toBe(22);
  });

  it("keeps thousands open at once, and every one after deletions in another order", () => {
    const table = new ContextTable<Item>();
    for (let id: u32 = 1; id <= 3000; id++) table.set(id, new Item(id));
    for (let id: u32 = 1; id <= 3000; id += 2) expect(table.delete(id)).toBe(true);
    let wrong = 0;
    for (let id: u32 = 1; id <= 3000; id++) {
      const found = table.get(id);
      if (id % 2 == 1 ? found !== null : found === null || found.id != id) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it("a stream that stays open while many pass keeps being found, and so does each newcomer on its slot", () => {
    const table = new ContextTable<Item>();
    table.set(5, new Item(5));
    // Counted here and asserted once: an expect per round would make this the slowest spec by far.
    let misses = 0;
    for (let id: u32 = 6; id < 200_000; id++) {
      table.set(id, new Item(id));
      const found = table.get(id);
      if (found === null || found.id != id || !table.delete(id)) misses++;
    }
    expect(misses).toBe(0);
    expect(table.get(5)!.id).toBe(5);
  });

  it("random sets and deletes agree with a plain model: probe runs that wrap, shift back and grow", () => {
    // Ids from a small range, so hashes collide, runs wrap past the table's end, and
    // deletions move entries back; the table grows from 16 slots on the way.
    const table = new ContextTable<Item>();
    const model = new StaticArray<bool>(600);
    let state: u32 = 12345;
    let wrong = 0;
    for (let step = 0; step < 40_000; step++) {
      state = state * 1103515245 + 12345; // a fixed LCG: the same run every time
      const id: u32 = 1 + ((state >>> 8) % 599);
      if ((state >>> 4) & 1) {
        table.set(id, new Item(id));
        model[id] = true;
      } else if (table.delete(id) != model[id]) wrong++;
      else model[id] = false;
      const probe: u32 = 1 + ((state >>> 16) % 599);
      const found = table.get(probe);
      if (model[probe] ? found === null || found.id != probe : found !== null) wrong++;
    }
    expect(wrong).toBe(0);
  });
});
