// The TCP (network filter) callbacks (ABI.md §4.5, §8.3), dispatched to the connection's
// TcpContext. Linking this module makes stream contexts lazy: Envoy announces HTTP streams
// and TCP connections alike, and the first callback decides which context the root makes.
// onDone, onLog and onDelete arrive through the core exports (TCP order: done, log, delete).
import { collectIfDue } from "../collector";
import { markLinked, TCP } from "../linked";
import { linkOtherStreams } from "../../registry";
import { tcpStreams } from "../../tcp-streams";
import { FilterStatus, PeerType } from "../../types";

markLinked(TCP);
linkOtherStreams(tcpStreams);

export function proxy_on_new_connection(contextId: u32): FilterStatus {
  collectIfDue();
  const context = tcpStreams.context(contextId);
  return context !== null ? context.onNewConnection() : FilterStatus.Continue;
}

export function proxy_on_downstream_data(contextId: u32, dataSize: u32, endOfStream: bool): FilterStatus {
  collectIfDue();
  const context = tcpStreams.context(contextId);
  return context !== null ? context.onDownstreamData(dataSize, endOfStream) : FilterStatus.Continue;
}

export function proxy_on_upstream_data(contextId: u32, dataSize: u32, endOfStream: bool): FilterStatus {
  collectIfDue();
  const context = tcpStreams.context(contextId);
  return context !== null ? context.onUpstreamData(dataSize, endOfStream) : FilterStatus.Continue;
}

export function proxy_on_downstream_connection_close(contextId: u32, peerType: PeerType): void {
  collectIfDue();
  const context = tcpStreams.context(contextId);
  if (context !== null) context.onDownstreamConnectionClose(peerType);
}

export function proxy_on_upstream_connection_close(contextId: u32, peerType: PeerType): void {
  collectIfDue();
  const context = tcpStreams.context(contextId);
  if (context !== null) context.onUpstreamConnectionClose(peerType);
}
