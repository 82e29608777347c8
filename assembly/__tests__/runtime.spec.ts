// The SDK's runtime (assembly/runtime/): what the collector keeps and frees, and what the
// small-block free lists hand back. Each test keeps what must survive in a global, the
// collector's only roots besides pinned objects (a local is not one: the runtime has no
// shadow stack), and compares dead objects by address only.

/** 13 × 8 bytes (120 with the header): a size class no other object of these specs uses. */
class Probe {
  a: i64 = 1; b: i64 = 2; c: i64 = 3; d: i64 = 4; e: i64 = 5; f: i64 = 6; g: i64 = 7;
  h: i64 = 8; i: i64 = 9; j: i64 = 10; k: i64 = 11; l: i64 = 12; m: i64 = 13;
}

class Node {
  next: Node | null = null;
  constructor(public value: string) {}
}

let kept: Node | null = null;
let keptBuffer: ArrayBuffer | null = null;
let keptText: string | null = null;
const STATIC_ITEMS: StaticArray<string> = ["static", "array"];

function addressOfNewProbe(): usize {
  return changetype<usize>(new Probe());
}

describe("runtime", () => {
  test("a collected small object's block is the next of its size, and comes back zeroed", () => {
    let dead = addressOfNewProbe();
    store<i64>(dead, 0x7777); // what a stale reference could have written
    __collect();
    let reused = new ArrayBuffer(104);
    expect(changetype<usize>(reused)).toBe(dead, "the block came back through the free list");
    expect(load<i64>(changetype<usize>(reused))).toBe(0, "zeroed, as the standard library expects of this runtime");
    expect(load<i64>(changetype<usize>(reused) + 96)).toBe(0);
  });

  test("objects reachable from a global survive, with their contents; the rest is freed", () => {
    let list = new Node("first");
    list.next = new Node("second");
    list.next!.next = new Node("third");
    kept = list;
    let garbage = changetype<usize>(new Node("garbage"));
    __collect();
    // The dead node's block is the next node's (before anything else of that size is made).
    let fresh = changetype<usize>(new Node("fresh"));
    __collect(); // a second cycle, under the other parity
    let walk = kept!;
    expect(walk.value).toBe("first");
    expect(walk.next!.value).toBe("second");
    expect(walk.next!.next!.value).toBe("third");
    expect(fresh).toBe(garbage);
    kept = null;
  });

  test("a pinned object and what it references survive without any other root", () => {
    let node = new Node("pinned");
    node.next = new Node("held by the pinned one");
    let address = __pin(changetype<usize>(node));
    __collect();
    let back = changetype<Node>(address);
    expect(back.value).toBe("pinned");
    expect(back.next!.value).toBe("held by the pinned one");
    __unpin(address);
  });

  test("static data reached from a global keeps what was stored into it", () => {
    STATIC_ITEMS[1] = "heap " + STATIC_ITEMS[0];
    __collect();
    __collect();
    expect(STATIC_ITEMS[1]).toBe("heap static");
  });

  test("a grown buffer keeps its bytes and its new part is zero", () => {
    let bytes = new Uint8Array(10);
    for (let i = 0; i < 10; i++) bytes[i] = <u8>(i + 1);
    let grown = changetype<ArrayBuffer>(__renew(changetype<usize>(bytes.buffer), 4000));
    keptBuffer = grown;
    __collect();
    let view = Uint8Array.wrap(keptBuffer!);
    expect(view.length).toBe(4000);
    expect(view[9]).toBe(10);
    expect(view[10]).toBe(0);
    expect(view[3999]).toBe(0);
    keptBuffer = null;
  });

  test("an array that grows is zero past its elements, also in recycled blocks", () => {
    for (let i = 0; i < 20; i++) addressOfNewProbe();
    __collect();
    let values = new Array<i64>(0);
    for (let i = 0; i < 30; i++) values.push(i);
    values.length = 60;
    expect(values[29]).toBe(29);
    expect(values[59]).toBe(0);
  });

  test("__managedBytes counts each object with its 20-byte header, growth by __renew, and what a collection frees", () => {
    // Every figure is read before any expect(), which allocates objects of its own.
    __collect();
    let before = __managedBytes();
    addressOfNewProbe();
    let withProbe = __managedBytes();
    keptBuffer = new ArrayBuffer(10);
    keptBuffer = changetype<ArrayBuffer>(__renew(changetype<usize>(keptBuffer), 50));
    let withBuffer = __managedBytes();
    __collect();
    let afterCollection = __managedBytes();
    keptBuffer = null;
    __collect();
    let afterAll = __managedBytes();
    expect(withProbe - before).toBe(20 + 104, "a new probe");
    expect(withBuffer - before).toBe(20 + 104 + 20 + 50, "the probe and the grown buffer");
    expect(afterCollection - before).toBe(20 + 50, "the dead probe is gone, the kept buffer stays");
    expect(afterAll).toBe(before, "all gone");
  });

  test("__managedBytes keeps a pinned object's bytes through collections, and drops them once it is unpinned", () => {
    __collect();
    let before = __managedBytes();
    let address = __pin(changetype<usize>(new ArrayBuffer(40)));
    __collect();
    let whilePinned = __managedBytes();
    __unpin(address);
    __collect();
    let afterAll = __managedBytes();
    expect(whilePinned - before).toBe(20 + 40, "pinned: neither reached nor swept, still counted");
    expect(afterAll).toBe(before, "unpinned and unreached: gone");
  });

  test("__managedBytes counts no static data, though a collection reaches it", () => {
    __collect();
    let before = __managedBytes();
    keptText = "a literal: static data, never allocated";
    __collect();
    let reached = __managedBytes();
    keptText = null;
    expect(reached).toBe(before);
  });

  test("the free lists hold a bounded amount: a burst of small objects goes back to TLSF", () => {
    // 8,000 dead probes are 1 MB; the lists keep at most 64 KiB of them. Were they all
    // kept, a large buffer could not reuse that space and memory would grow by it.
    for (let i = 0; i < 8000; i++) addressOfNewProbe();
    __collect();
    let pages = memory.size();
    let big = new ArrayBuffer(800_000);
    keptBuffer = big;
    expect(memory.size()).toBe(pages, "the large buffer fits in what the burst gave back");
    keptBuffer = null;
    __collect();
  });
});
