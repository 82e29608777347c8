// When the garbage collector runs. The SDK is built with its own runtime
// (assembly/runtime/), which never collects on its own and has no shadow stack, so modules
// stay small (the incremental runtime adds ~11 KB to a filter). Collection is only safe when
// no AssemblyScript frame is live: at the entry of a host callback. A collection costs
// time proportional to the live heap, so it runs once half as many bytes as the last one
// left live were allocated since (at least MIN_BYTES_BETWEEN_COLLECTIONS), checked when a
// stream finishes and at root callbacks (ticks, queue notifications, callout answers), or
// after 1 MiB of host data (large bodies) was handed to the plugin within a stream. Its
// cost is then amortized O(1) per allocated byte whatever the live heap (thousands of open
// streams, big caches), and memory stays within 1.5 times the live heap plus 32 KiB.
// (With as much again as is live, ext-authz's VM with 1,000 callouts waiting reached
// 2× its live heap after 270,000 streams and doubled its memory to 1 MiB.)
//
// Under another runtime (asc's minimal one has no byte count), it runs once per
// max(64, live streams) finished streams or root callbacks instead.

const MIN_BYTES_BETWEEN_COLLECTIONS: usize = 32 << 10;
const MIN_STREAMS_BETWEEN_COLLECTIONS: u32 = 64;
const HOST_BYTES_BETWEEN_COLLECTIONS: usize = 1 << 20;

let enabled: bool = true;
let liveStreams: u32 = 0;
let finishedSinceCollection: u32 = 0;
let hostBytesSinceCollection: usize = 0;
/** max(MIN_STREAMS_BETWEEN_COLLECTIONS, liveStreams). */
let streamBudget: u32 = MIN_STREAMS_BETWEEN_COLLECTIONS;
/** A budget ran out: set where the counts change, so every callback's check is one load. */
let due: bool = false;

/** Collect once the managed heap reaches this many bytes (our runtime). */
let collectAtBytes: usize = MIN_BYTES_BETWEEN_COLLECTIONS;

// @ts-ignore: decorator
@inline function countsBytes(): bool {
  // @ts-ignore: the SDK runtime's byte count (assembly/runtime/collector.ts), absent from others
  return isDefined(__managedBytes);
}

export function streamOpened(): void {
  if (countsBytes()) return;
  liveStreams++;
  if (liveStreams > streamBudget) streamBudget = liveStreams;
}

export function streamFinished(): void {
  if (countsBytes()) {
    rootCallback();
    return;
  }
  if (liveStreams > 0) liveStreams--;
  streamBudget = max(MIN_STREAMS_BETWEEN_COLLECTIONS, liveStreams);
  rootCallback();
}

/**
 * A callback outside any stream (a tick, a queue notification, a callout answer, a
 * foreign-function call) counts toward the budget like a finished stream. Without it a
 * VM that serves only such callbacks (a singleton draining a queue, a root polling on
 * ticks) collected only after 1 MiB of host data, however much it allocated itself: an
 * aggregator dequeuing 30-byte events grew to 16 MiB, and one ticking as well without end.
 */
export function rootCallback(): void {
  if (countsBytes()) {
    // @ts-ignore: see countsBytes
    if (__managedBytes() >= collectAtBytes) due = true;
  } else if (++finishedSinceCollection >= streamBudget) due = true;
}

/** Counts bytes the host asked the plugin to allocate. */
export function hostAllocated(size: usize): void {
  hostBytesSinceCollection += size;
  if (hostBytesSinceCollection >= HOST_BYTES_BETWEEN_COLLECTIONS) due = true;
}

/**
 * Test harnesses that call back into the module from inside AssemblyScript code (as-pect
 * specs driving the mock host) switch collection off: there, references do live on the stack.
 */
export function setCollectionEnabled(value: bool): void {
  enabled = value;
}

/** Called first thing in every exported callback, when no managed reference is on the stack. */
// @ts-ignore: decorator (inlined into every callback: the common case is one load and a branch)
@inline
export function collectIfDue(): void {
  if (due) collectNow();
}

function collectNow(): void {
  if (!enabled) return;
  // @ts-ignore: the runtime's collector, a builtin the editor's type definitions do not declare
  __collect();
  if (countsBytes()) {
    // @ts-ignore: see countsBytes
    const live = __managedBytes();
    collectAtBytes = live + max(MIN_BYTES_BETWEEN_COLLECTIONS, live >> 1);
  }
  finishedSinceCollection = 0;
  hostBytesSinceCollection = 0;
  due = false;
}
