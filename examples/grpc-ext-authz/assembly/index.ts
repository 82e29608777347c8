// grpc-ext-authz: asks an authorization service about every request through Envoy's own
// gRPC ext_authz API, envoy.service.auth.v3.Authorization/Check, as Envoy's ext_authz
// filter does in gRPC mode. The request pauses; the service gets a CheckRequest (the
// request's method, path, host, scheme, protocol, id, size and headers, the peers'
// addresses, the configured context extensions). An OK status resumes the request with the
// answer's header changes; any other status answers the client with the service's denied
// status (403 by default), headers and body; a failed call or the timeout fails closed
// with `status_on_error` (403, Envoy's default) unless `failure_mode_allow`.
//   {"cluster": "outbound|9000||ext-authz-grpc.auth.svc.cluster.local", "timeout_ms": 200}
import {
  ConfigReader, Counter, currentTimeNanoseconds, FilterHeadersStatus, GrpcCallResponse, GrpcStatus, Header, Headers,
  HttpContext, lastResult, log, LogLevel, properties, ProtoWriter, registerRootContext, resultName, RootContext,
} from "proxy-wasm-as/assembly";
import { decodeCheckResponse, HeaderChange } from "./check-response";
export * from "proxy-wasm-as/assembly/exports";

const SERVICE = "envoy.service.auth.v3.Authorization";
const METHOD = "Check";
const NO_METADATA = new Array<Header>();

// The CheckRequest's writers, made once and cleared for each request: a nested message is
// copied into its parent, so one writer per message type serves every request.
const CHECK = new ProtoWriter();
const ATTRIBUTES = new ProtoWriter();
const REQUEST = new ProtoWriter();
const HTTP = new ProtoWriter();
const TIME = new ProtoWriter();
const ENTRY = new ProtoWriter();
const PEER = new ProtoWriter();
const ADDRESS = new ProtoWriter();
const SOCKET_ADDRESS = new ProtoWriter();

// Envoy's ext_authz stats, as wasmcustom.ext_authz.*.
const okCount = new Counter("ext_authz.ok");
const deniedCount = new Counter("ext_authz.denied");
const errorCount = new Counter("ext_authz.error");
const failureModeAllowedCount = new Counter("ext_authz.failure_mode_allowed");

class Settings {
  cluster: string = "";
  timeoutMs: u32 = 200;
  statusOnError: u32 = 403;
  failureModeAllow: bool = false;
  /** AttributeContext.context_extensions: sent to the service, never upstream. */
  contextExtensions: Array<Header> = new Array<Header>();
}

class GrpcExtAuthzRoot extends RootContext {
  settings: Settings = new Settings();
  warnedRefusal: bool = false;

  onConfigure(pluginConfigurationSize: u32): bool {
    const config = new ConfigReader(this.pluginConfiguration, "with the fields " + FIELDS);
    const settings = readSettings(config);
    if (!config.accept("grpc-ext-authz")) return false;
    this.settings = settings;
    this.warnedRefusal = false;
    okCount.define();
    deniedCount.define();
    errorCount.define();
    failureModeAllowedCount.define();
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new GrpcExtAuthz(contextId, this, this.settings);
  }
}

class GrpcExtAuthz extends HttpContext {
  /** OkHttpResponse.response_headers_to_add, for the response on its way back. */
  private responseHeadersToAdd: Array<HeaderChange> | null = null;

  constructor(contextId: u32, root: RootContext, private settings: Settings) {
    super(contextId, root);
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const settings = this.settings;
    const token = this.dispatchGrpcCall(settings.cluster, SERVICE, METHOD, this.checkRequest(endOfStream), NO_METADATA, settings.timeoutMs);
    if (token == 0) {
      const refusal = resultName(lastResult());
      const root = this.root as GrpcExtAuthzRoot;
      if (!root.warnedRefusal) {
        root.warnedRefusal = true;
        log.warn("grpc-ext-authz: Envoy refused the call to cluster \"" + settings.cluster + "\" (" + refusal + "); requests fail closed with " +
          settings.statusOnError.toString() + " (logged once)");
      }
      return this.failed("Envoy refused the call (" + refusal + ")") ? FilterHeadersStatus.Continue : FilterHeadersStatus.StopIteration;
    }
    // Paused: Envoy holds the request (and buffers its body) until the answer.
    return FilterHeadersStatus.StopIteration;
  }

  onGrpcCallResponse(response: GrpcCallResponse): void {
    if (response.failed) {
      const why = "the call failed: " + (<i32>response.status).toString() + " " + response.statusMessage;
      if (this.failed(why)) this.continueRequest();
      return;
    }
    const answer = decodeCheckResponse(response.message.bytes());
    if (answer === null) {
      if (this.failed("the service's CheckResponse is not valid protobuf")) this.continueRequest();
      return;
    }
    if (answer.code == GrpcStatus.Ok) {
      okCount.increment();
      for (let i = 0; i < answer.headers.length; i++) applyTo(this.requestHeaders, answer.headers[i]);
      for (let i = 0; i < answer.headersToRemove.length; i++) {
        const name = answer.headersToRemove[i];
        // Pseudo-headers and Host may not be removed (Envoy ignores them).
        if (name.length > 0 && name.charCodeAt(0) != 0x3a && name != "host") this.requestHeaders.remove(name);
      }
      if (answer.responseHeadersToAdd.length > 0) this.responseHeadersToAdd = answer.responseHeadersToAdd;
      this.continueRequest();
      return;
    }
    deniedCount.increment();
    const status = answer.deniedStatus >= 100 && answer.deniedStatus <= 599 ? answer.deniedStatus : 403;
    const headers = new Array<Header>();
    for (let i = 0; i < answer.headers.length; i++) headers.push(new Header(answer.headers[i].name, answer.headers[i].value));
    if (log.enabled(LogLevel.Debug)) log.debug("grpc-ext-authz: denied (" + answer.code.toString() + " " + answer.message + "): " + status.toString());
    this.sendLocalResponse(status, answer.body, headers, "ext_authz_denied");
  }

  onResponseHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const add = this.responseHeadersToAdd;
    if (add !== null) for (let i = 0; i < add.length; i++) applyTo(this.responseHeaders, add[i]);
    return FilterHeadersStatus.Continue;
  }

  /**
   * The call failed or timed out: fail closed with `status_on_error`, or let the request go
   * on (failure_mode_allow, with Envoy's x-envoy-auth-failure-mode-allowed header). Returns
   * whether the request may go on.
   */
  private failed(why: string): bool {
    if (this.settings.failureModeAllow) {
      failureModeAllowedCount.increment();
      if (log.enabled(LogLevel.Debug)) log.debug("grpc-ext-authz: allowed after a failure (failure_mode_allow): " + why);
      this.requestHeaders.replace("x-envoy-auth-failure-mode-allowed", "true");
      return true;
    }
    errorCount.increment();
    if (log.enabled(LogLevel.Debug)) log.debug("grpc-ext-authz: failing closed with " + this.settings.statusOnError.toString() + ": " + why);
    this.sendLocalResponse(this.settings.statusOnError, "", [], "ext_authz_error");
    return false;
  }

  /** envoy.service.auth.v3.CheckRequest for this request. */
  private checkRequest(endOfStream: bool): ArrayBuffer {
    // One read of the map serves every field: the named ones are its first values.
    const all = this.requestHeaders.all();
    const http = HTTP.clear();
    const id = first(all, "x-request-id");
    if (id !== null) http.string(1, id);
    http.string(2, valueOr(first(all, ":method"), ""));
    // map<string, string> headers: each name once, repeated values joined with "," as Envoy merges them.
    for (let i = 0; i < all.length; i++) {
      if (!firstOfItsName(all, i)) continue;
      http.message(3, ENTRY.clear().string(1, all[i].name).string(2, joinedValues(all, i)));
    }
    http.string(4, valueOr(first(all, ":path"), ""));
    http.string(5, valueOr(first(all, ":authority"), ""));
    http.string(6, valueOr(first(all, ":scheme"), ""));
    http.int64(9, requestSize(first(all, "content-length"), endOfStream));
    http.string(10, valueOr(properties.getString("request.protocol"), ""));

    const now = currentTimeNanoseconds();
    TIME.clear().int64(1, <i64>(now / 1_000_000_000)).int32(2, <i32>(now % 1_000_000_000));
    REQUEST.clear().message(1, TIME).message(2, http);
    const attributes = ATTRIBUTES.clear();
    addPeer(attributes, 1, properties.getString("source.address"));
    addPeer(attributes, 2, properties.getString("destination.address"));
    attributes.message(4, REQUEST);
    const extensions = this.settings.contextExtensions;
    for (let i = 0; i < extensions.length; i++) attributes.message(10, ENTRY.clear().string(1, extensions[i].name).string(2, extensions[i].value));
    return CHECK.clear().message(1, attributes).finish();
  }
}

/** The first value of `name` among the entries (names as the host keeps them: lower-case), or null. */
function first(all: Array<Header>, name: string): string | null {
  for (let i = 0; i < all.length; i++) if (all[i].name == name) return all[i].value;
  return null;
}

function firstOfItsName(all: Array<Header>, index: i32): bool {
  const name = all[index].name;
  for (let i = 0; i < index; i++) if (all[i].name == name) return false;
  return true;
}

/** Every value of the entry's name from `index` on, joined with ",". */
function joinedValues(all: Array<Header>, index: i32): string {
  const name = all[index].name;
  let value = all[index].value;
  for (let i = index + 1; i < all.length; i++) if (all[i].name == name) value += "," + all[i].value;
  return value;
}

/** A HeaderValueOption applied as Envoy's ext_authz applies it: append adds, otherwise the value replaces. */
function applyTo(map: Headers, change: HeaderChange): void {
  if (change.name.length == 0) return;
  if (change.ifAbsent) {
    if (!map.has(change.name)) map.add(change.name, change.value);
  } else if (change.ifExists) {
    if (map.has(change.name)) map.replace(change.name, change.value);
  } else if (change.append) {
    map.add(change.name, change.value);
  } else {
    map.replace(change.name, change.value);
  }
}

function valueOr(value: string | null, fallback: string): string {
  return value !== null ? value : fallback;
}

/** HttpRequest.size: the content-length, 0 for a request without a body, -1 when unknown (Envoy's rule). */
function requestSize(contentLength: string | null, endOfStream: bool): i64 {
  if (endOfStream) return 0;
  if (contentLength === null) return -1;
  const size = I64.parseInt(contentLength);
  return size >= 0 ? size : -1;
}

/** AttributeContext.Peer with its socket address, from a property "ip:port" ("[ip]:port" for IPv6), as field `field`; nothing without one. */
function addPeer(attributes: ProtoWriter, field: u32, address: string | null): void {
  if (address === null || address.length == 0) return;
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return;
  let host = address.substring(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length - 1);
  const port = <u32>U32.parseInt(address.substring(colon + 1));
  SOCKET_ADDRESS.clear().string(2, host).uint32(3, port);
  attributes.message(field, PEER.clear().message(1, ADDRESS.clear().message(1, SOCKET_ADDRESS)));
}

const FIELDS = "cluster, timeout_ms, status_on_error, failure_mode_allow, context_extensions";

function readSettings(config: ConfigReader): Settings {
  const settings = new Settings();
  if (config.isEmpty) config.fail("the configuration is empty: it needs at least \"cluster\"");
  const names = config.keys();
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name == "cluster") {
      settings.cluster = config.nonEmptyString(name, "");
    } else if (name == "timeout_ms") {
      settings.timeoutMs = <u32>config.integer(name, settings.timeoutMs, 1, 60000, "a whole number of milliseconds");
    } else if (name == "status_on_error") {
      settings.statusOnError = <u32>config.integer(name, settings.statusOnError, 200, 599, "an HTTP status code");
    } else if (name == "failure_mode_allow") {
      settings.failureModeAllow = config.boolean(name, false);
    } else if (name == "context_extensions") {
      const extensions = config.object(name, "of strings");
      const keys = extensions.keys();
      for (let k = 0; k < keys.length; k++) settings.contextExtensions.push(new Header(keys[k], extensions.string(keys[k], "")));
    } else {
      config.unknown(name, FIELDS);
    }
  }
  config.require("cluster", "name the Envoy cluster of the gRPC authorization service");
  return settings;
}

registerRootContext((contextId: u32) => new GrpcExtAuthzRoot(contextId), "grpc-ext-authz");
