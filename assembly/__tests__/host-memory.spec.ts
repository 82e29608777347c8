// The blocks the host writes into (abi/memory.ts): the first one a static scratch area, a
// second while it is taken (or a large one) from the heap; each released block is reusable.
import { allocate, release } from "../abi/memory";

describe("host-written blocks", () => {
  it("one at a time reuse the scratch area", () => {
    const first = allocate(64);
    release(first);
    const again = allocate(100);
    expect(again).toBe(first);
    release(again);
  });

  it("a second block while the first is taken comes from the heap, and both can be written whole", () => {
    const first = allocate(1024);
    const second = allocate(1024);
    expect(second).not.toBe(first);
    memory.fill(first, 0xaa, 1024);
    memory.fill(second, 0x55, 1024);
    expect(load<u8>(first + 1023)).toBe(0xaa);
    expect(load<u8>(second)).toBe(0x55);
    release(second);
    release(first);
    // The scratch area is free again.
    const third = allocate(8);
    expect(third).toBe(first);
    release(third);
  });

  it("a block larger than the scratch area comes from the heap", () => {
    const big = allocate(4096);
    const small = allocate(16);
    expect(small).not.toBe(big);
    memory.fill(big, 1, 4096);
    release(big);
    release(small);
    expect(allocate(16)).toBe(small);
    release(small);
  });

  it("releasing nothing (0) is a no-op", () => {
    release(0);
    const block = allocate(8);
    expect(block).not.toBe(0);
    release(block);
  });
});
