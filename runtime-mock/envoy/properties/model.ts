// Envoy's attribute model behind `proxy_get_property` / `proxy_set_property` (ABI.md §5.4,
// §6.2, §7), following Envoy's `Context::getProperty`/`findValue` (E-CTX) and the CEL
// wrappers of E-EXPR: the lookup order, which names need stream info, and the status a
// path ends in.
import { WasmResult } from "../../wasm/types.js";
import { latin1, segmentText, splitPath } from "./path.js";
import { protoMessage, schemas, type ProtoSchema } from "./proto.js";
import {
  HeaderMapNode,
  INT32,
  Wrapper,
  connectionFields,
  parseAbslInt,
  peerFields,
  requestFields,
  responseFields,
  upstreamFields,
  type Fields,
  type Resolved,
  type StreamFacts,
} from "./stream.js";
import {
  TypedValue,
  encodePropertyPairs,
  encodeValue,
  isPlainMap,
  ownValue,
  type PropertyTree,
  type PropertyValue,
} from "./values.js";
import { utf8Bytes } from "../../wasm/utf8.js";

export type { HeaderView, StreamFacts } from "./stream.js";

/** Everything the host knows when a plugin asks for a property. */
export interface PropertyContext {
  kind: "vm" | "root" | "http" | "tcp";
  plugin: { name: string; rootId: string; vmId: string };
  /**
   * Values set by the test (host-wide merged with per-stream), by top-level name. Under the
   * wrapper objects (request, response, connection, source, destination, upstream, xds,
   * filter_state) they win key by key over derived values; any other value replaces the
   * derived one whole. Plain objects at proto-typed places (xds.node / node, *_metadata,
   * metadata, upstream.locality) are turned into those messages.
   */
  overrides: PropertyTree;
  /** Live stream facts; required for "http"/"tcp", ignored for "vm"/"root". */
  stream?: StreamFacts;
  /** `wasm.<path>` filter state written by proxy_set_property on this stream, keyed by `filterStateKey(path)`. */
  filterState: Map<string, Uint8Array>;
  /**
   * Serve the pre-xds top-level names (node, cluster_name, cluster_metadata,
   * listener_direction, listener_metadata, route_name, route_metadata,
   * upstream_host_metadata) that Envoy removed in PR #36619. Default true.
   */
  legacyNames?: boolean;
}

// Proto-typed slots: a plain-object override there becomes the real message (memoized per object).
const protoCache = new Map<ProtoSchema, WeakMap<object, TypedValue>>();
function typed(value: PropertyValue, schema: ProtoSchema | undefined): PropertyValue {
  if (schema === undefined || !isPlainMap(value)) return value;
  let cache = protoCache.get(schema);
  if (cache === undefined) protoCache.set(schema, (cache = new WeakMap()));
  let message = cache.get(value);
  if (message === undefined) cache.set(value, (message = protoMessage(schema, value)));
  return message;
}

const EMPTY_NODE = protoMessage(schemas.Node, {});
const EMPTY_METADATA = protoMessage(schemas.Metadata, {});

/**
 * A wrapper whose keys come from `override` first and `derived` second. `derived` gets the
 * effective value of sibling keys, so e.g. an overridden source.address also moves source.port.
 */
function merged(
  override: PropertyValue | undefined,
  derived: (sibling: (key: string) => Resolved | undefined) => Fields,
  slots: ReadonlyMap<string, ProtoSchema> = new Map(),
): Resolved {
  if (override !== undefined && !isPlainMap(override)) return override; // replaced whole
  const lookup = (key: string): Resolved | undefined => {
    const o = override === undefined ? undefined : ownValue(override, key);
    if (o !== undefined) return typed(o, slots.get(key));
    return fields.get(key)?.();
  };
  const fields = derived(lookup);
  return new Wrapper(lookup);
}

const UPSTREAM_SLOTS = new Map([["locality", schemas.Locality]]);

const XDS_SLOTS = new Map<string, ProtoSchema>([
  ["node", schemas.Node],
  ["cluster_metadata", schemas.Metadata],
  ["route_metadata", schemas.Metadata],
  ["virtual_host_metadata", schemas.Metadata],
  ["upstream_host_metadata", schemas.Metadata],
  ["upstream_host_locality_metadata", schemas.Metadata],
  ["listener_metadata", schemas.Metadata],
]);
// What a real listener always has; cluster/route/host values exist only once routed → overrides.
const XDS_DEFAULTS = new Map<string, () => PropertyValue>([
  ["node", () => EMPTY_NODE],
  ["filter_chain_name", () => ""],
  ["listener_direction", () => 0],
  ["listener_metadata", () => EMPTY_METADATA],
]);

/** Pre-xds Wasm property tokens: `needsInfo` ones need a stream, the others only a plugin. */
const LEGACY = new Map<string, { needsInfo: boolean; fallback?: () => PropertyValue }>([
  ["node", { needsInfo: false, fallback: () => EMPTY_NODE }],
  ["listener_direction", { needsInfo: false, fallback: () => 0 }],
  ["listener_metadata", { needsInfo: false, fallback: () => EMPTY_METADATA }],
  ["cluster_name", { needsInfo: true }],
  ["cluster_metadata", { needsInfo: true }],
  ["route_name", { needsInfo: true, fallback: () => "" }],
  ["route_metadata", { needsInfo: true }],
  ["upstream_host_metadata", { needsInfo: true }],
]);

const ACTIVATION = new Set([
  "request", "response", "connection", "upstream", "source", "destination",
  "metadata", "filter_state", "xds", "upstream_filter_state",
]);
const TOKENS = new Set(["plugin_name", "plugin_root_id", "plugin_vm_id", "connection_id"]);

/** Stream info exists only in stream contexts (root/VM contexts have none). */
function streamOf(ctx: PropertyContext): StreamFacts | undefined {
  return ctx.kind === "http" || ctx.kind === "tcp" ? ctx.stream : undefined;
}

/** xds.<key> override, falling back to the same value given under its legacy top-level name. */
function xdsOverride(ctx: PropertyContext, xds: PropertyValue | undefined, key: string): PropertyValue | undefined {
  const direct = xds === undefined ? undefined : ownValue(xds as { [key: string]: PropertyValue }, key);
  return direct ?? (LEGACY.has(key) ? ownValue(ctx.overrides, key) : undefined);
}

function xdsWrapper(ctx: PropertyContext, info: StreamFacts | undefined): Resolved {
  const xds = ownValue(ctx.overrides, "xds");
  if (xds !== undefined && !isPlainMap(xds)) return xds;
  return new Wrapper((key) => {
    // node needs the plugin's local info (any plugin context); the rest need stream info
    if (key === "node" ? ctx.kind === "vm" : info === undefined) return undefined;
    const value = xdsOverride(ctx, xds, key);
    return value !== undefined ? typed(value, XDS_SLOTS.get(key)) : XDS_DEFAULTS.get(key)?.();
  });
}

function filterStateWrapper(ctx: PropertyContext, override: PropertyValue | undefined): Resolved {
  if (override !== undefined && !isPlainMap(override)) return override;
  return new Wrapper((key) => {
    // filter_state.<full key>: the plugin's own writes live under "wasm.<path>"
    if (key.startsWith("wasm.")) {
      const state = ctx.filterState.get(latin1(utf8Bytes(key.slice("wasm.".length))));
      if (state !== undefined) return state;
    }
    return override === undefined ? undefined : ownValue(override, key);
  });
}

/** CEL activation attributes (E-EXPR StreamActivation::FindValue). */
function activationValue(ctx: PropertyContext, name: string, info: StreamFacts | undefined): Resolved | undefined {
  if (name === "xds") return xdsWrapper(ctx, info); // exists even without stream info
  if (info === undefined) return undefined;
  const o = ownValue(ctx.overrides, name);
  switch (name) {
    case "request":
      return merged(o, () => requestFields(ctx.kind === "http", info));
    case "response":
      return merged(o, (sibling) => responseFields(info, sibling));
    case "connection":
      return merged(o, () => connectionFields(info));
    case "source":
      return merged(o, (sibling) => peerFields(info.sourceAddress, sibling));
    case "destination":
      return merged(o, (sibling) => peerFields(info.destinationAddress, sibling));
    case "upstream":
      return merged(o, upstreamFields, UPSTREAM_SLOTS);
    case "metadata":
      return o === undefined ? EMPTY_METADATA : typed(o, schemas.Metadata);
    case "filter_state":
      return filterStateWrapper(ctx, o);
    case "upstream_filter_state":
      // only when the upstream has filter state: here, when the test gave some
      return o === undefined ? undefined : isPlainMap(o) ? new Wrapper((key) => ownValue(o, key)) : o;
  }
  return undefined;
}

/** Wasm-specific tokens (E-CTX property_tokens). Known tokens never fall through to filter state. */
function tokenValue(ctx: PropertyContext, name: string, info: StreamFacts | undefined): Resolved | undefined {
  const o = ownValue(ctx.overrides, name);
  switch (name) {
    case "plugin_name":
      return ctx.kind === "vm" ? undefined : (o ?? ctx.plugin.name); // the VM context has no plugin
    case "plugin_root_id":
      return o ?? (ctx.kind === "vm" ? "" : ctx.plugin.rootId);
    case "plugin_vm_id":
      return o ?? ctx.plugin.vmId;
    case "connection_id":
      return info === undefined ? undefined : (o ?? TypedValue.uint(info.connectionId));
  }
  return undefined;
}

function legacyValue(ctx: PropertyContext, name: string, info: StreamFacts | undefined): Resolved | undefined {
  const spec = LEGACY.get(name)!;
  if (spec.needsInfo ? info === undefined : ctx.kind === "vm") return undefined;
  const xds = ownValue(ctx.overrides, "xds");
  const value = ownValue(ctx.overrides, name) ?? (isPlainMap(xds) ? ownValue(xds, name) : undefined);
  return value !== undefined ? typed(value, XDS_SLOTS.get(name)) : spec.fallback?.();
}

/** Envoy's findValue order: CEL attributes, then Wasm tokens, then `wasm.<name>` filter state. */
function resolveTop(ctx: PropertyContext, segment: Uint8Array): Resolved | undefined {
  const name = segmentText(segment);
  const info = streamOf(ctx);
  const legacyOn = ctx.legacyNames ?? true;
  if (name !== undefined) {
    const attribute = ACTIVATION.has(name) ? activationValue(ctx, name, info) : undefined;
    if (attribute !== undefined) return attribute;
    if (TOKENS.has(name)) return tokenValue(ctx, name, info);
    if (legacyOn && LEGACY.has(name)) return legacyValue(ctx, name, info);
  }
  if (info === undefined) return undefined; // filter state lives in stream info
  const state = ctx.filterState.get(latin1(segment));
  if (state !== undefined) return state;
  // Any other top-level override stands for filter state set up before the plugin ran.
  // Legacy names stay aliases of xds.* even when switched off, and are not served here.
  if (name === undefined || ACTIVATION.has(name) || TOKENS.has(name) || LEGACY.has(name)) return undefined;
  return ownValue(ctx.overrides, name);
}

/** One step down: map key, message field, decimal list index; nothing is below a scalar. */
function child(node: Resolved, segment: Uint8Array): Resolved | undefined {
  const key = segmentText(segment);
  if (key === undefined) return undefined;
  if (node instanceof Wrapper || node instanceof HeaderMapNode) return node.get(key);
  if (node instanceof TypedValue) return node.kind === "message" ? node.field(key) : undefined;
  if (Array.isArray(node)) {
    const i = parseAbslInt(key, ...INT32);
    return i !== undefined && i >= 0n && i < BigInt(node.length) ? node[Number(i)] : undefined;
  }
  if (isPlainMap(node)) return ownValue(node, key);
  return undefined;
}

function encodeResolved(node: Resolved): Uint8Array | undefined {
  if (node instanceof Wrapper) return undefined; // its keys cannot be listed
  if (node instanceof HeaderMapNode) {
    return encodePropertyPairs(node.entries().map(([k, v]) => [utf8Bytes(k), utf8Bytes(v)] as const));
  }
  return encodeValue(node);
}

/**
 * `proxy_get_property`. Status order of ABI.md §5.4: unknown or unavailable first segment →
 * NotFound; missing key / bad index / anything below a scalar → NotFound; whole wrapper
 * object, null, or the empty path → SerializationFailure; else Ok (`value` may be empty: the
 * host then writes ptr 0 / size 0). Throws only for test-setup errors (see encodeValue).
 */
export function getProperty(ctx: PropertyContext, rawPath: Uint8Array): { status: WasmResult; value?: Uint8Array } {
  const segments = splitPath(rawPath);
  if (segments.length === 0) return { status: WasmResult.SerializationFailure }; // nothing resolved: CEL null
  let node = resolveTop(ctx, segments[0]!);
  for (let i = 1; node !== undefined && i < segments.length; i++) node = child(node, segments[i]!);
  if (node === undefined) return { status: WasmResult.NotFound };
  const value = encodeResolved(node);
  return value === undefined ? { status: WasmResult.SerializationFailure } : { status: WasmResult.Ok, value };
}

/**
 * `proxy_set_property`: stores the bytes as mutable filter state "wasm." + the whole raw path
 * (Envoy's default CelState prototype, so always Ok); NotFound without stream info. Only a
 * single-segment path reads back, as `<path>` (or `filter_state.wasm.<path>`), and only if
 * it is not already a known attribute name.
 */
export function setProperty(ctx: PropertyContext, rawPath: Uint8Array, value: Uint8Array): WasmResult {
  if (streamOf(ctx) === undefined) return WasmResult.NotFound;
  ctx.filterState.set(latin1(rawPath), value.slice());
  return WasmResult.Ok;
}
