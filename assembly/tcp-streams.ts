// TCP connections in the context registry (see OtherStreams in registry.ts). Envoy announces
// a connection's context with the same proxy_on_context_create as an HTTP stream's and calls
// proxy_on_new_connection right after it, so a stream announced while TCP is linked becomes
// a TcpContext at its first TCP callback, and an HttpContext at its first HTTP one.
import { streamFinished, streamOpened } from "./abi/collector";
import { OtherStreams } from "./registry";
import { BaseContext, PassThroughTcpContext, RootContext, TcpContext } from "./context";

class TcpStreams extends OtherStreams {
  private readonly announced: Map<u32, RootContext> = new Map<u32, RootContext>();
  private readonly connections: Map<u32, TcpContext> = new Map<u32, TcpContext>();
  // Consecutive callbacks mostly concern the same connection: remember the last one found.
  private lastId: u32 = 0;
  private last: TcpContext | null = null;

  announce(contextId: u32, root: RootContext): void {
    this.announced.set(contextId, root);
  }

  claim(contextId: u32): RootContext | null {
    if (!this.announced.has(contextId)) return null;
    const root = this.announced.get(contextId);
    this.announced.delete(contextId);
    return root;
  }

  find(contextId: u32): BaseContext | null {
    return this.existing(contextId);
  }

  log(contextId: u32): bool {
    const context = this.existing(contextId);
    if (context === null) return false;
    context.onLog();
    return true;
  }

  forget(contextId: u32): bool {
    if (this.announced.has(contextId)) {
      this.announced.delete(contextId);
      return true;
    }
    if (!this.connections.has(contextId)) return false;
    if (contextId == this.lastId) {
      this.lastId = 0;
      this.last = null;
    }
    this.connections.delete(contextId);
    streamFinished();
    return true;
  }

  /** The connection's context, made by the root (or a pass-through) at its first TCP callback. */
  context(contextId: u32): TcpContext | null {
    const found = this.existing(contextId);
    if (found !== null) return found;
    const root = this.claim(contextId);
    if (root === null) return null;
    const created = root.createTcpContext(contextId);
    const context = created !== null ? created : new PassThroughTcpContext(contextId, root);
    this.connections.set(contextId, context);
    streamOpened();
    this.lastId = contextId;
    this.last = context;
    return context;
  }

  private existing(contextId: u32): TcpContext | null {
    if (contextId == this.lastId && this.last !== null) return this.last;
    if (!this.connections.has(contextId)) return null;
    const found = this.connections.get(contextId);
    this.lastId = contextId;
    this.last = found;
    return found;
  }
}

export const tcpStreams = new TcpStreams();
