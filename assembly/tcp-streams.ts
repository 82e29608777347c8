// TCP connections in the context registry (see OtherStreams in registry.ts). Envoy announces
// a connection's context with the same proxy_on_context_create as an HTTP stream's and calls
// proxy_on_new_connection right after it, so a stream announced while TCP is linked becomes
// a TcpContext at its first TCP callback, and an HttpContext at its first HTTP one.
import { streamFinished, streamOpened } from "./abi/collector";
import { OtherStreams } from "./registry";
import { BaseContext, PassThroughTcpContext, RootContext, TcpContext } from "./context";
import { ContextTable } from "./context-table";

class TcpStreams extends OtherStreams {
  // Every stream of a module with TCP linked is announced here first: tables keyed by
  // Envoy's sequential ids, not hashed Maps (see context-table.ts).
  private readonly announced: ContextTable<RootContext> = new ContextTable<RootContext>();
  private readonly connections: ContextTable<TcpContext> = new ContextTable<TcpContext>();
  // Consecutive callbacks mostly concern the same connection: remember the last one found.
  private lastId: u32 = 0;
  private last: TcpContext | null = null;

  announce(contextId: u32, root: RootContext): void {
    this.announced.set(contextId, root);
  }

  claim(contextId: u32): RootContext | null {
    const root = this.announced.get(contextId);
    if (root !== null) this.announced.delete(contextId);
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
    if (this.announced.delete(contextId)) return true;
    if (contextId == this.lastId) {
      this.lastId = 0;
      this.last = null;
    }
    if (!this.connections.delete(contextId)) return false;
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
    const found = this.connections.get(contextId);
    if (found === null) return null;
    this.lastId = contextId;
    this.last = found;
    return found;
  }
}

export const tcpStreams = new TcpStreams();
