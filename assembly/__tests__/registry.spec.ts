// The registry's streams: the newest one is held outside the table until the next one
// opens, so every callback must still find its own stream whatever the order in which
// streams open, are looked up and finish.
import { HttpContext, RootContext } from "../context";
import { createRootContext, createStreamContext, forgetContext, httpContext, registerRootContext } from "../registry";

class Probe extends HttpContext {}

class ProbeRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext {
    return new Probe(contextId, this);
  }
}

const ROOT: u32 = 1;
registerRootContext((contextId: u32) => new ProbeRoot(contextId), "registry-spec");
createRootContext(ROOT, "registry-spec");

/** Whether `id` finds the stream made for it (open) or nothing (not open). */
function foundRightly(id: u32, open: bool): bool {
  const found = httpContext(id);
  return open ? found !== null && found.contextId == id : found === null;
}

describe("registry: stream contexts", () => {
  it("one stream at a time: each is found while open, and not after", () => {
    let wrong = 0;
    for (let id: u32 = 100; id < 200; id++) {
      createStreamContext(id, ROOT);
      if (!foundRightly(id, true)) wrong++;
      forgetContext(id);
      if (!foundRightly(id, false) || !foundRightly(id - 1, false)) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it("the newest stream and the older ones it pushed into the table are each found, finished in any order", () => {
    createStreamContext(300, ROOT);
    createStreamContext(301, ROOT);
    createStreamContext(302, ROOT);
    expect(foundRightly(300, true)).toBe(true);
    expect(foundRightly(302, true)).toBe(true);
    expect(foundRightly(301, true)).toBe(true);
    forgetContext(302); // the newest first: the others stay in the table
    expect(foundRightly(302, false)).toBe(true);
    expect(foundRightly(301, true)).toBe(true);
    expect(foundRightly(300, true)).toBe(true);
    createStreamContext(303, ROOT);
    forgetContext(300);
    expect(foundRightly(301, true)).toBe(true);
    expect(foundRightly(303, true)).toBe(true);
    forgetContext(303);
    forgetContext(301);
    expect(foundRightly(301, false)).toBe(true);
    expect(foundRightly(303, false)).toBe(true);
  });

  it("random opens, lookups and finishes agree with a plain model", () => {
    // Ids only grow, as Envoy hands them out; up to 40 streams are open at once.
    const FIRST: u32 = 1000;
    const COUNT: i32 = 6000;
    const open = new StaticArray<bool>(COUNT);
    let next: u32 = FIRST;
    let openCount = 0;
    let state: u32 = 777;
    let wrong = 0;
    for (let step = 0; step < 30_000; step++) {
      state = state * 1103515245 + 12345; // a fixed LCG: the same run every time
      const made = <i32>(next - FIRST);
      const choice = (state >>> 8) % 3;
      if ((choice == 0 || openCount == 0) && openCount < 40 && made < COUNT) {
        createStreamContext(next, ROOT);
        open[made] = true;
        next++;
        openCount++;
      } else if (choice == 1 && made > 0) {
        // Finish a random open stream, searching from a random start.
        const start = <i32>((state >>> 12) % <u32>made);
        for (let k = 0; k < made; k++) {
          const i = (start + k) % made;
          if (!open[i]) continue;
          forgetContext(FIRST + <u32>i);
          open[i] = false;
          openCount--;
          break;
        }
      }
      if (made > 0) {
        const probe = <i32>((state >>> 16) % <u32>made);
        if (!foundRightly(FIRST + <u32>probe, open[probe])) wrong++;
      }
    }
    expect(wrong).toBe(0);
  });
});
