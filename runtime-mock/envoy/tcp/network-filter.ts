// The seam between Envoy's network filter manager (filter-manager.ts) and one network filter
// (Envoy's `Network::Filter` and its read/write filter callbacks). The Wasm filter
// (vm/tcp-filter-context.ts) implements `NetworkFilter`.
import type { FilterStatus, PeerType } from "../../wasm/types.js";
import type { PropertyTree, StreamFacts } from "../properties.js";
import type { Flow } from "./flow.js";

/** What the connection's filter manager calls on the filter. */
export interface NetworkFilter {
  /** onNewConnection; Continue lets the filter manager go on to tcp_proxy. */
  newConnection(): FilterStatus;
  /** onData: the client's bytes Envoy holds for the filter (`flow.pending`). */
  downstreamData(flow: Flow): FilterStatus;
  /** onWrite: the upstream's bytes on their way to the client; with `endOfStream` the upstream's close follows. */
  upstreamData(flow: Flow, endOfStream: boolean): FilterStatus;
  /** The client connection closed (onEvent): the filter's teardown. */
  connectionClosed(peer: PeerType): void;
}

/** What the filter may ask of its connection (Envoy's read/write filter callbacks). */
export interface NetworkFilterCallbacks {
  /** `continueReading()`: the held client bytes go on to the next filter (tcp_proxy). */
  continueReading(): void;
  /** `connection().close(FlushWrite, details)` on the client connection. */
  close(details: string): void;
  /** Envoy `failStream` after a VM failure: the client connection closes at once. */
  failConnection(): void;
  streamFacts(): StreamFacts;
  readonly properties: PropertyTree;
}
