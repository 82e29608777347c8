// Root contexts by root id. Istio sets the root id from a WasmPlugin's `pluginName`
// and sends "" when it is unset; a module with a single registered root serves "".
import { streamFinished, streamOpened } from "./abi/collector";
import { log } from "./log";
import { BaseContext, HttpContext, PassThroughHttpContext, RootContext } from "./context";

/** Makes the root context of a plugin (AssemblyScript has no closures: pass a top-level function). */
export type RootContextFactory = (contextId: u32) => RootContext;

class Registration {
  constructor(public rootId: string, public factory: RootContextFactory) {}
}

const registrations = new Array<Registration>();
// Few roots per VM: a list. Many concurrent streams: a map.
const roots = new Array<RootContext>();
const streams = new Map<u32, HttpContext>();

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

export function createStreamContext(contextId: u32, rootContextId: u32): void {
  const root = rootContext(rootContextId);
  if (root === null) return;
  const created = root.createHttpContext(contextId);
  streams.set(contextId, created !== null ? created : new PassThroughHttpContext(contextId, root));
  streamOpened();
}

function rootIndex(contextId: u32): i32 {
  for (let i = 0; i < roots.length; i++) {
    if (roots[i].contextId == contextId) return i;
  }
  return -1;
}

export function rootContext(contextId: u32): RootContext | null {
  const index = rootIndex(contextId);
  return index >= 0 ? roots[index] : null;
}

// Consecutive callbacks mostly concern the same stream: remember the last one found.
let lastStreamId: u32 = 0;
let lastStream: HttpContext | null = null;

export function httpContext(contextId: u32): HttpContext | null {
  if (contextId == lastStreamId && lastStream !== null) return lastStream;
  if (!streams.has(contextId)) return null;
  const found = streams.get(contextId);
  lastStreamId = contextId;
  lastStream = found;
  return found;
}

export function anyContext(contextId: u32): BaseContext | null {
  const stream = httpContext(contextId);
  if (stream !== null) return stream;
  return rootContext(contextId);
}

/** Forgets a context so the collector can reclaim it. */
export function forgetContext(contextId: u32): void {
  if (contextId == lastStreamId) {
    lastStreamId = 0;
    lastStream = null;
  }
  if (streams.has(contextId)) {
    streams.delete(contextId);
    streamFinished();
    return;
  }
  const index = rootIndex(contextId);
  if (index >= 0) roots.splice(index, 1);
}
