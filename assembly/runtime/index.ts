// The SDK's runtime (asc --runtime): TLSF from AssemblyScript's standard library, with a
// free list per small size class in front of it (recycler.ts), and a mark-and-sweep
// collector that runs only when called, as the SDK calls it at the entry of a host
// callback where no AssemblyScript frame is live (abi/collector.ts). It does the job of the
// standard "minimal" runtime; it exists because that one sends every allocation and every
// free through TLSF, which was half of what a passthrough stream cost.
//
// asc treats a runtime given as a path as the incremental one: the standard library then
// leaves zeroing new objects to the runtime (done in __new and __renew), and asc would add
// a shadow stack, which this collector does not need (the build sets stackSize so none is made).
import "~lib/rt/tlsf";
import "./collector";
