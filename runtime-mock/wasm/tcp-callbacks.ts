// The network-filter exports (ABI.md §4.5) as the host calls them, and the conversion of
// their results: cpp-host turns 0 into Continue and anything else into StopIteration. A
// local reply requested meanwhile does not force the result for TCP (§3.3).
import { invokeExport, type CallOutcome, type CallTarget } from "./callbacks.js";
import { FilterStatus, type PeerType } from "./types.js";

export class TcpCallbacks {
  constructor(private readonly target: CallTarget) {}

  newConnection(contextId: number): CallOutcome {
    return invokeExport(this.target, contextId, "proxy_on_new_connection", [contextId]);
  }
  downstreamData(contextId: number, size: number, endOfStream: boolean): CallOutcome {
    return invokeExport(this.target, contextId, "proxy_on_downstream_data", [contextId, size, endOfStream ? 1 : 0]);
  }
  upstreamData(contextId: number, size: number, endOfStream: boolean): CallOutcome {
    return invokeExport(this.target, contextId, "proxy_on_upstream_data", [contextId, size, endOfStream ? 1 : 0]);
  }
  downstreamConnectionClose(contextId: number, peer: PeerType): CallOutcome {
    return invokeExport(this.target, contextId, "proxy_on_downstream_connection_close", [contextId, peer]);
  }
  upstreamConnectionClose(contextId: number, peer: PeerType): CallOutcome {
    return invokeExport(this.target, contextId, "proxy_on_upstream_connection_close", [contextId, peer]);
  }
}

export const filterStatus = (raw: number): FilterStatus => (raw === 0 ? FilterStatus.Continue : FilterStatus.StopIteration);
