// Root contexts by root id. Istio sets the root id from a WasmPlugin's `pluginName`
// and sends "" when it is unset; a module with a single registered root serves "".
import { streamFinished, streamOpened } from "./abi/collector";
import { log } from "./log";
import { BaseContext, HttpContext, PassThroughHttpContext, RootContext } from "./context";
import { ContextTable } from "./context-table";
import { contextForgotten } from "./forgotten-contexts";

/** Makes the root context of a plugin (AssemblyScript has no closures: pass a top-level function). */
export type RootContextFactory = (contextId: u32) => RootContext;

class Registration {
  constructor(public rootId: string, public factory: RootContextFactory) {}
}

const registrations = new Array<Registration>();
// Few roots per VM: a list. Many concurrent streams: a map.
const roots = new Array<RootContext>();
const streams = new ContextTable<HttpContext>();
// The newest stream is held here, outside the table, until the next one opens: when
// streams come one at a time, as they mostly do on a sidecar, none costs a table insert
// and delete (about 130 instructions).
let newestStreamId: u32 = 0;
let newestStream: HttpContext | null = null;
// Consecutive callbacks mostly concern the same stream: remember the last one found.
let lastStreamId: u32 = 0;
let lastStream: HttpContext | null = null;

/** Registers the plugin's root context under `rootId` ("" = whatever root id the host sends, if it is the only one). */
export function registerRootContext(factory: RootContextFactory, rootId: string = ""): void {
  for (let i = 0; i < registrations.length; i++) {
    if (registrations[i].rootId == rootId) {
      registrations[i].factory = factory;
      return;
    }
  }
  registrations.push(new Registration(rootId, factory));
}

function registeredIds(): string {
  if (registrations.length == 0) return "none";
  let names = "";
  for (let i = 0; i < registrations.length; i++) {
    if (i > 0) names += ", ";
    names += "\"" + registrations[i].rootId + "\"";
  }
  return names;
}

function findRegistration(rootId: string): Registration | null {
  for (let i = 0; i < registrations.length; i++) {
    if (registrations[i].rootId == rootId) return registrations[i];
  }
  if (rootId.length == 0 && registrations.length == 1) return registrations[0];
  if (registrations.length == 1 && registrations[0].rootId.length == 0) return registrations[0];
  return null;
}

/** Stands in for a root id that matches no registration: it fails the plugin's start, loudly. */
class UnknownRootContext extends RootContext {
  onVmStart(vmConfigurationSize: u32): bool {
    log.critical(
      "no root context is registered for root id \"" + this.rootId + "\" (registered: " + registeredIds() +
      "); set the WasmPlugin's pluginName to one of them, or register one with registerRootContext(factory, \"" +
      this.rootId + "\")",
    );
    return false;
  }
}

export function createRootContext(contextId: u32, rootId: string): RootContext {
  const registration = findRegistration(rootId);
  const root = registration !== null ? registration.factory(contextId) : new UnknownRootContext(contextId);
  root.rootId = rootId;
  roots.push(root);
  return root;
}

/**
 * Stream contexts that are not HTTP streams (TCP connections). Their exports module links
 * them in, so an HTTP-only build compiles none of their code. Envoy announces every stream
 * context with the same proxy_on_context_create(id, root); once another kind is linked, a
 * context is made at its first callback, which tells the kinds apart (HTTP: request headers
 * or the access log; TCP: the new connection).
 */
export abstract class OtherStreams {
  /** proxy_on_context_create of a stream: its kind is not known yet. */
  abstract announce(contextId: u32, root: RootContext): void;
  /** Takes the root of an announced stream whose first callback is an HTTP one; null if none. */
  abstract claim(contextId: u32): RootContext | null;
  /** A live context of this kind (for on_done and on_delete), or null. */
  abstract find(contextId: u32): BaseContext | null;
  /** proxy_on_log for a context of this kind; false when it has none. */
  abstract log(contextId: u32): bool;
  /** Forgets a context of this kind, or an announced one never made; false when it has neither. */
  abstract forget(contextId: u32): bool;
}

// Never set in an HTTP-only build, so the optimizer folds every use away.
let otherStreams: OtherStreams | null = null;

/** Called once from the top level of a stream kind's exports module. */
export function linkOtherStreams(kinds: OtherStreams): void {
  otherStreams = kinds;
}

export function createStreamContext(contextId: u32, rootContextId: u32): void {
  const root = rootContext(rootContextId);
  if (root === null) return;
  const others = otherStreams;
  if (others !== null) others.announce(contextId, root);
  else addHttpContext(contextId, root);
}

function addHttpContext(contextId: u32, root: RootContext): HttpContext {
  const created = root.createHttpContext(contextId);
  const context = created !== null ? created : new PassThroughHttpContext(contextId, root);
  const previous = newestStream;
  if (previous !== null && newestStreamId != contextId) streams.set(newestStreamId, previous);
  newestStreamId = contextId;
  newestStream = context;
  streamOpened();
  // Its first callback comes next: found without a lookup.
  lastStreamId = contextId;
  lastStream = context;
  return context;
}

// Streams of one root follow each other: remember the root last asked for.
let lastRootId: u32 = 0;
let lastRoot: RootContext | null = null;

function rootIndex(contextId: u32): i32 {
  for (let i = 0; i < roots.length; i++) {
    if (roots[i].contextId == contextId) return i;
  }
  return -1;
}

export function rootContext(contextId: u32): RootContext | null {
  if (contextId == lastRootId && lastRoot !== null) return lastRoot;
  const index = rootIndex(contextId);
  if (index < 0) return null;
  const root = roots[index];
  lastRootId = contextId;
  lastRoot = root;
  return root;
}

/** The HTTP context of `contextId` (made now when another stream kind announced it), or null. */
// @ts-ignore: decorator (inlined into each callback: the common case is one comparison)
@inline
export function httpContext(contextId: u32): HttpContext | null {
  const last = lastStream;
  return contextId == lastStreamId && last !== null ? last : findHttpContext(contextId);
}

function findHttpContext(contextId: u32): HttpContext | null {
  let found = contextId == newestStreamId ? newestStream : streams.get(contextId);
  if (found === null) {
    const others = otherStreams;
    if (others === null) return null;
    const root = others.claim(contextId);
    if (root === null) return null;
    found = addHttpContext(contextId, root);
  }
  lastStreamId = contextId;
  lastStream = found;
  return found;
}

/** proxy_on_log for a stream context of another kind (TCP: after onDone); false when there is none. */
export function logOtherStream(contextId: u32): bool {
  const others = otherStreams;
  return others !== null && others.log(contextId);
}

export function anyContext(contextId: u32): BaseContext | null {
  const stream = httpContext(contextId);
  if (stream !== null) return stream;
  const others = otherStreams;
  if (others !== null) {
    const other = others.find(contextId);
    if (other !== null) return other;
  }
  return rootContext(contextId);
}

/** Forgets a context so the collector can reclaim it. */

export function forgetContext(contextId: u32): void {
  contextForgotten(contextId);
  if (contextId == lastStreamId) {
    lastStreamId = 0;
    lastStream = null;
  }
  if (contextId == newestStreamId && newestStream !== null) {
    newestStreamId = 0;
    newestStream = null;
    // A host that created the id twice left the older context in the table: it goes too.
    if (!streams.isEmpty) streams.delete(contextId);
    streamFinished();
    return;
  }
  if (streams.delete(contextId)) {
    streamFinished();
    return;
  }
  const others = otherStreams;
  if (others !== null && others.forget(contextId)) return;
  if (contextId == lastRootId) {
    lastRootId = 0;
    lastRoot = null;
  }
  const index = rootIndex(contextId);
  if (index >= 0) roots.splice(index, 1);
}
