// The live objects of a host by numeric id: contexts, open streams and connections, the
// requests in flight through `pwas serve`. Not a Map or Set, on purpose. Under the constant
// add/delete churn of streams, V8 rehashes a Map's table again and again and leaves each old
// table linked to its successor (for iterators). Once one old table is in the old
// generation, the links keep every later table, and every stream in them, alive through
// minor GCs until a full GC. In `pwas serve` that promoted a quarter of all per-request
// garbage and made scavenges ten times slower. Open addressing over two plain arrays has no
// such links: a replaced array is just garbage.

const EMPTY = -1;
const DELETED = -2;

export class IdTable<V> {
  private ids: number[] = [];
  private slots: (V | undefined)[] = [];
  private live = 0;
  /** Slots that are not EMPTY (live or DELETED): probing needs some EMPTY ones left. */
  private used = 0;

  get size(): number {
    return this.live;
  }

  get(id: number): V | undefined {
    const slot = this.find(id);
    return slot < 0 ? undefined : this.slots[slot];
  }

  has(id: number): boolean {
    return this.find(id) >= 0;
  }

  /** Ids are integers ≥ 0. */
  set(id: number, value: V): void {
    const found = this.find(id);
    if (found >= 0) {
      this.slots[found] = value;
      return;
    }
    if ((this.used + 1) * 2 > this.ids.length) this.rebuild(capacityFor(this.live + 1));
    const mask = this.ids.length - 1;
    let slot = home(id, mask);
    while (this.ids[slot] >= 0) slot = (slot + 1) & mask;
    if (this.ids[slot] === EMPTY) this.used++;
    this.ids[slot] = id;
    this.slots[slot] = value;
    this.live++;
  }

  delete(id: number): boolean {
    const slot = this.find(id);
    if (slot < 0) return false;
    this.ids[slot] = DELETED;
    this.slots[slot] = undefined;
    this.live--;
    return true;
  }

  /** The values by ascending id, which is the order they came in when ids are handed out in sequence (a copy: the table may change while the caller walks it). */
  values(): V[] {
    return this.entries().map(([, value]) => value);
  }

  /** [id, value] pairs by ascending id (a copy, like `values`). */
  entries(): [number, V][] {
    const out: [number, V][] = [];
    for (let slot = 0; slot < this.ids.length; slot++) if (this.ids[slot] >= 0) out.push([this.ids[slot], this.slots[slot] as V]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  private find(id: number): number {
    // No arrays until the first set: most tables of a short-lived host stay empty.
    if (this.ids.length === 0) return -1;
    const mask = this.ids.length - 1;
    for (let slot = home(id, mask); ; slot = (slot + 1) & mask) {
      const at = this.ids[slot];
      if (at === id) return slot;
      if (at === EMPTY) return -1;
    }
  }

  /** New arrays with only the live entries; deleted slots are dropped. */
  private rebuild(capacity: number): void {
    const ids = this.ids;
    const slots = this.slots;
    this.ids = new Array<number>(capacity).fill(EMPTY);
    this.slots = new Array<V | undefined>(capacity).fill(undefined);
    this.live = 0;
    this.used = 0;
    for (let slot = 0; slot < ids.length; slot++) if (ids[slot] >= 0) this.set(ids[slot], slots[slot] as V);
  }
}

/** A power of two with room for `live` entries at a quarter full, so rebuilds stay rare. */
function capacityFor(live: number): number {
  let capacity = 16;
  while (capacity < live * 4) capacity *= 2;
  return capacity;
}

function home(id: number, mask: number): number {
  return (Math.imul(id >>> 0, 0x9e3779b1) >>> 0) & mask;
}
