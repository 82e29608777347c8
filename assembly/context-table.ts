// Stream contexts by id, for the registry: an open-addressing table with linear probing,
// where AssemblyScript's Map cost about 200 instructions a stream to hash, insert, find
// and delete. Envoy hands out context ids in sequence, and the home slot of an id is its
// Fibonacci hash (a multiply and a shift), which spreads any run of ids over the table:
// `id & mask` put the ids of long-lived streams (1,000 gRPC streams, say) into one run
// of occupied slots, and every later id that landed in it probed the whole run. Deletion
// shifts the entries after it back (no tombstones), so the table only grows with the
// number of streams open at once.

import { fibonacciSlot } from "./hash";

const INITIAL_SLOTS: i32 = 16;
const INITIAL_SHIFT: u32 = 28; // 32 − log2(INITIAL_SLOTS)

export class ContextTable<T> {
  private ids: StaticArray<u32> = new StaticArray<u32>(INITIAL_SLOTS);
  private items: StaticArray<T | null> = new StaticArray<T | null>(INITIAL_SLOTS);
  private used: i32 = 0;
  /** Slots − 1 (a power of two): kept, so no lookup asks the array for its length. */
  private mask: i32 = INITIAL_SLOTS - 1;
  /** 32 − log2(slots), the bits a hash drops: kept, as the mask is, so no lookup derives it. */
  private shift: u32 = INITIAL_SHIFT;

  /** True when it holds no entry. */
  get isEmpty(): bool {
    return this.used == 0;
  }

  get(id: u32): T | null {
    const slot = this.find(id);
    return slot >= 0 ? unchecked(this.items[slot]) : null;
  }

  set(id: u32, item: T): void {
    if (this.used * 2 > this.mask) this.grow();
    const mask = this.mask;
    let slot = this.home(id);
    for (let at = this.idAt(slot); at != 0 && at != id; at = this.idAt(slot)) slot = (slot + 1) & mask;
    if (this.idAt(slot) == 0) this.used++;
    this.setIdAt(slot, id);
    unchecked((this.items[slot] = item));
  }

  /** Forgets `id`; false when it was not there. */
  delete(id: u32): bool {
    let hole = this.find(id);
    if (hole < 0) return false;
    const mask = this.mask;
    // Move back each later entry of the probe run whose home slot is not between the hole and it.
    for (let next = (hole + 1) & mask, at = this.idAt(next); at != 0; next = (next + 1) & mask, at = this.idAt(next)) {
      const home = this.home(at);
      const movable = hole <= next ? home <= hole || home > next : home <= hole && home > next;
      if (movable) {
        this.setIdAt(hole, at);
        unchecked((this.items[hole] = unchecked(this.items[next])));
        hole = next;
      }
    }
    this.setIdAt(hole, 0);
    unchecked((this.items[hole] = null));
    this.used--;
    return true;
  }

  /** The slot of `id`, or -1. The table is never more than half full, so a probe meets an empty slot. */
  private find(id: u32): i32 {
    const mask = this.mask;
    for (let slot = this.home(id); ; slot = (slot + 1) & mask) {
      const at = this.idAt(slot);
      if (at == id) return slot;
      if (at == 0) return -1;
    }
    return -1;
  }

  // @ts-ignore: decorator
  @inline private home(id: u32): i32 {
    return <i32>fibonacciSlot(id, this.shift);
  }

  // Raw loads and stores: the size-optimized build does not inline StaticArray's accessors.
  // @ts-ignore: decorator
  @inline private idAt(slot: i32): u32 {
    return load<u32>(changetype<usize>(this.ids) + (<usize>slot << 2));
  }

  // @ts-ignore: decorator
  @inline private setIdAt(slot: i32, id: u32): void {
    store<u32>(changetype<usize>(this.ids) + (<usize>slot << 2), id);
  }

  private grow(): void {
    const ids = this.ids;
    const items = this.items;
    this.ids = new StaticArray<u32>(ids.length * 2);
    this.items = new StaticArray<T | null>(ids.length * 2);
    this.mask = ids.length * 2 - 1;
    this.shift--;
    this.used = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = unchecked(ids[i]);
      if (id != 0) this.set(id, unchecked(items[i])!);
    }
  }
}
