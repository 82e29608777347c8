// Shared data, shared queues, deferred root deletion and the effective context, against
// the mock host (ABI.md §5.10, §5.11, §5.13, §8.5).
import {
  ByteBuffer, FilterHeadersStatus, Header, HttpContext, lastResult, registerRootContext, RootContext, setEffectiveContext,
  sharedData, SharedQueue, WasmResult,
} from "..";
import { mockHost, REQUEST } from "../testing/host";

// What the contexts saw (AssemblyScript has no closures).
let mode: string = "";
let queue: SharedQueue | null = null;
let readyTokens = new Array<u32>();
let received = new Array<string>();
let emptyAfterDrain: WasmResult = WasmResult.Ok;
let onDoneAnswer: bool = true;
let doneResult: WasmResult = WasmResult.Ok;
let deleted: bool = false;
let paused: Stream | null = null;
let effectiveResult: WasmResult = WasmResult.Ok;
let pathSeenByRoot: string | null = null;

class Root extends RootContext {
  onConfigure(size: u32): bool {
    queue = SharedQueue.register("jobs");
    return true;
  }

  onQueueReady(queueToken: u32): void {
    readyTokens.push(queueToken);
    // Drain: one notification per item, but a consumer takes whatever is there.
    for (let item = queue!.dequeueText(); item !== null; item = queue!.dequeueText()) received.push(item);
    emptyAfterDrain = lastResult();
    if (mode == "doneFromQueue") doneResult = this.done();
    if (mode == "resumeStream" && paused !== null) {
      effectiveResult = paused!.setEffective();
      pathSeenByRoot = paused!.requestHeaders.get(":path");
      paused!.continueRequest();
    }
  }

  onDone(): bool { return onDoneAnswer; }

  onDelete(): void { deleted = true; }

  createHttpContext(contextId: u32): HttpContext { return new Stream(contextId, this); }
}

class Stream extends HttpContext {
  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    if (mode == "resumeStream") {
      paused = this;
      return FilterHeadersStatus.StopIteration;
    }
    if (mode == "enqueueFromStream") queue!.enqueue("from a stream");
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((id: u32) => new Root(id), "shared");

function reset(newMode: string): void {
  mode = newMode;
  onDoneAnswer = true;
  mockHost.start("shared"); // also shuts the previous plugin down (its onDelete runs)
  readyTokens = [];
  received = [];
  deleted = false;
  paused = null;
  pathSeenByRoot = null;
}

function request(): Array<Header> {
  return [new Header(":method", "GET"), new Header(":path", "/held"), new Header(":authority", "h")];
}

describe("shared data", () => {
  it("is null with NotFound for a missing key", () => {
    reset("");
    expect(sharedData.get("missing")).toBeNull();
    expect(lastResult()).toBe(WasmResult.NotFound);
  });

  it("stores values with a CAS token; a stale token is CasMismatch, the current one writes", () => {
    reset("");
    expect(sharedData.set("k", "one")).toBe(WasmResult.Ok);
    const first = sharedData.get("k")!;
    expect(first.text()).toBe("one");
    expect(first.cas).toBeGreaterThan(0);
    expect(sharedData.set("k", "two", first.cas)).toBe(WasmResult.Ok);
    const second = sharedData.get("k")!;
    expect(second.cas).toBeGreaterThan(first.cas);
    expect(sharedData.set("k", "three", first.cas)).toBe(WasmResult.CasMismatch);
    expect(sharedData.get("k")!.text()).toBe("two");
    expect(sharedData.set("k", "four", 0)).toBe(WasmResult.Ok);
    expect(mockHost.sharedDataText("k")).toBe("four");
  });

  it("creates a missing key whatever the CAS token; an empty value is an entry with a token", () => {
    reset("");
    expect(sharedData.set("fresh", new Uint8Array(0), 12345)).toBe(WasmResult.Ok);
    const entry = sharedData.get("fresh")!;
    expect(entry.value.byteLength).toBe(0);
    expect(entry.cas).toBeGreaterThan(0);
  });

  it("reads into and writes from ByteBuffers, with the CAS token of the read; a missing key empties the buffer", () => {
    reset("");
    const key = new ByteBuffer();
    key.append(String.UTF8.encode("bucket/ann", false));
    const value = new ByteBuffer();
    value.append(String.UTF8.encode("stale", false));
    expect(sharedData.readInto(key, value)).toBe(false);
    expect(lastResult()).toBe(WasmResult.NotFound);
    expect(value.length).toBe(0);
    expect(sharedData.lastCas()).toBe(0);
    value.appendDecimal(41);
    expect(sharedData.writeFrom(key, value)).toBe(WasmResult.Ok);
    expect(mockHost.sharedDataText("bucket/ann")).toBe("41");
    expect(sharedData.readInto(key, value)).toBe(true);
    const cas = sharedData.lastCas();
    expect(cas).toBe(sharedData.get("bucket/ann")!.cas);
    expect(value.parseDecimal()).toBe(41);
    value.clear();
    value.appendDecimal(42);
    expect(sharedData.writeFrom(key, value, cas)).toBe(WasmResult.Ok);
    expect(sharedData.writeFrom(key, value, cas)).toBe(WasmResult.CasMismatch, "the token of the read is stale now");
    expect(mockHost.sharedDataText("bucket/ann")).toBe("42");
  });

  it("is partitioned by vm_id", () => {
    mockHost.hostOptions("{\"vmId\": \"first\"}");
    reset("");
    sharedData.set("k", "first's");
    mockHost.hostOptions("{\"vmId\": \"second\"}");
    reset("");
    expect(sharedData.get("k")).toBeNull();
    mockHost.hostOptions("{}");
  });
});

describe("shared queues", () => {
  it("enqueues from and dequeues into a ByteBuffer; Empty leaves it empty", () => {
    reset("");
    const item = new ByteBuffer();
    item.append(String.UTF8.encode("GET 200 3 /", false));
    expect(SharedQueue.resolve("jobs")!.enqueueFrom(item)).toBe(WasmResult.Ok);
    expect(mockHost.queueDepth(queue!.token)).toBe(1);
    const taken = new ByteBuffer();
    expect(queue!.dequeueInto(taken)).toBe(true);
    expect(taken.toString()).toBe("GET 200 3 /");
    expect(taken.toString(4, 7)).toBe("200", "a range of it");
    expect(queue!.dequeueInto(taken)).toBe(false);
    expect(lastResult()).toBe(WasmResult.Empty);
    expect(taken.length).toBe(0);
  });

  it("registers in onConfigure; resolve finds it by name, NotFound elsewhere", () => {
    reset("");
    expect(queue).not.toBeNull();
    const resolved = SharedQueue.resolve("jobs")!;
    expect(resolved.token).toBe(queue!.token);
    expect(SharedQueue.resolve("jobs", "another-vm")).toBeNull();
    expect(lastResult()).toBe(WasmResult.NotFound);
    expect(SharedQueue.resolve("nope")).toBeNull();
  });

  it("delivers onQueueReady to the root later, from the host's event loop, once per item", () => {
    reset("");
    expect(SharedQueue.resolve("jobs")!.enqueue("a")).toBe(WasmResult.Ok);
    expect(mockHost.enqueue(queue!.token, "b")).toBe(WasmResult.Ok);
    expect(readyTokens.length).toBe(0);
    expect(mockHost.queueDepth(queue!.token)).toBe(2);
    mockHost.runPosted();
    expect(readyTokens.length).toBe(2);
    expect(readyTokens[0]).toBe(queue!.token);
    expect(received.length).toBe(2);
    expect(received[0]).toBe("a");
    expect(received[1]).toBe("b");
    expect(emptyAfterDrain).toBe(WasmResult.Empty);
  });

  it("delivers an item enqueued by a stream after the stream's callback", () => {
    reset("enqueueFromStream");
    const stream = mockHost.openStream();
    mockHost.sendHeaders(stream, REQUEST, request(), true);
    mockHost.runPosted();
    expect(received.length).toBe(1);
    expect(received[0]).toBe("from a stream");
  });

  it("dequeues null with Empty when nothing waits, an empty string for an empty item; NotFound for an unknown queue", () => {
    reset("");
    expect(queue!.dequeue()).toBeNull();
    expect(lastResult()).toBe(WasmResult.Empty);
    queue!.enqueue("");
    expect(queue!.dequeueText()).toBe("");
    const unknown = new SharedQueue(9999);
    expect(unknown.enqueue("x")).toBe(WasmResult.NotFound);
    expect(unknown.dequeue()).toBeNull();
    expect(lastResult()).toBe(WasmResult.NotFound);
  });
});

describe("deferred deletion", () => {
  it("done() is NotFound while the root is not waiting for it", () => {
    reset("");
    const root = new RootContext(1);
    expect(root.done()).toBe(WasmResult.NotFound);
  });

  it("onDone false parks the root; done() from a queue callback deletes it after that callback", () => {
    reset("doneFromQueue");
    onDoneAnswer = false;
    const token = queue!.token;
    mockHost.shutdown();
    expect(mockHost.awaitingDone()).toBe(true);
    expect(deleted).toBe(false);
    mockHost.enqueue(token, "last job");
    mockHost.runPosted();
    expect(received[0]).toBe("last job");
    expect(doneResult).toBe(WasmResult.Ok);
    expect(deleted).toBe(true);
    expect(mockHost.awaitingDone()).toBe(false);
  });
});

describe("effective context", () => {
  it("lets the root act on a paused stream from a queue callback", () => {
    reset("resumeStream");
    const stream = mockHost.openStream();
    mockHost.sendHeaders(stream, REQUEST, request(), true);
    expect(mockHost.paused(stream, REQUEST)).toBe(true);
    mockHost.enqueue(queue!.token, "resume");
    mockHost.runPosted();
    expect(effectiveResult).toBe(WasmResult.Ok);
    expect(pathSeenByRoot).toBe("/held");
    expect(mockHost.paused(stream, REQUEST)).toBe(false);
  });

  it("is BadArgument for an unknown context; 0 goes back to the current one", () => {
    reset("");
    expect(setEffectiveContext(999)).toBe(WasmResult.BadArgument);
    expect(setEffectiveContext(0)).toBe(WasmResult.Ok);
  });
});
