// ext-authz: asks an HTTP authorization service about every request, as Envoy's ext_authz
// filter does in HTTP mode. The request pauses; the service gets the request's method, its
// path after `path_prefix`, and the configured request headers. A 2xx answer resumes the
// request (with the configured headers of the answer copied onto it); any other answer
// below 500 goes back to the client (status, body, configured headers); a 5xx answer, a
// reset or the timeout fails closed with `status_on_error` (403, Envoy's default).
//   {"cluster": "outbound|8000||ext-authz.auth.svc.cluster.local", "path_prefix": "/check",
//    "timeout_ms": 200, "request_headers": ["authorization", "x-user"],
//    "upstream_headers": ["x-auth-user"], "client_headers": ["www-authenticate"]}
import {
  ByteBuffer, ConfigReader, Counter, FilterHeadersStatus, HeaderList, HttpCallResponse, HttpContext,
  lastResult, log, LogLevel, registerRootContext, resultName, RootContext,
} from "proxy-wasm-as/assembly";
export * from "proxy-wasm-as/assembly/exports";

// Envoy's ext_authz stats, as wasmcustom.ext_authz.*.
const okCount = new Counter("ext_authz.ok");
const deniedCount = new Counter("ext_authz.denied");
const errorCount = new Counter("ext_authz.error");

class Settings {
  cluster: string = "";
  authority: string = "";
  pathPrefix: string = "";
  timeoutMs: u32 = 200;
  requestHeaders: Array<string> = new Array<string>();
  upstreamHeaders: Array<string> = new Array<string>();
  clientHeaders: Array<string> = new Array<string>();
  statusOnError: u32 = 403;
  // What every request sends, as UTF-8 made once (see `encode`).
  authorityBytes: ArrayBuffer = new ArrayBuffer(0);
  pathPrefixBytes: ArrayBuffer = new ArrayBuffer(0);
  requestHeaderBytes: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  upstreamHeaderBytes: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  clientHeaderBytes: Array<ArrayBuffer> = new Array<ArrayBuffer>();

  encode(): void {
    this.authorityBytes = String.UTF8.encode(this.authority, false);
    this.pathPrefixBytes = String.UTF8.encode(this.pathPrefix, false);
    this.requestHeaderBytes = encodeAll(this.requestHeaders);
    this.upstreamHeaderBytes = encodeAll(this.upstreamHeaders);
    this.clientHeaderBytes = encodeAll(this.clientHeaders);
  }
}

function encodeAll(names: Array<string>): Array<ArrayBuffer> {
  const out = new Array<ArrayBuffer>(names.length);
  for (let i = 0; i < names.length; i++) out[i] = String.UTF8.encode(names[i], false);
  return out;
}

// Made once, filled again on every request: one stream at a time runs in a VM, and each
// is sent (or copied into the request) before the callback returns.
const CALL = new HeaderList();
const COPIED = new HeaderList(64);
const VALUE = new ByteBuffer();
const PATH = new ByteBuffer(128);
const GET = String.UTF8.encode("GET", false);
const SLASH = String.UTF8.encode("/", false);

class ExtAuthzRoot extends RootContext {
  settings: Settings = new Settings();
  /** A refused callout (a misnamed cluster) is logged once per configuration, not per request. */
  warnedRefusal: bool = false;

  onConfigure(pluginConfigurationSize: u32): bool {
    const config = new ConfigReader(this.pluginConfiguration, "with the fields " + FIELDS);
    const settings = readSettings(config);
    if (!config.accept("ext-authz")) return false;
    this.settings = settings;
    this.warnedRefusal = false;
    // Define the stats now, so they show as 0 before the first request.
    okCount.define();
    deniedCount.define();
    errorCount.define();
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new ExtAuthz(contextId, this, this.settings);
  }
}

class ExtAuthz extends HttpContext {
  constructor(contextId: u32, root: RootContext, private settings: Settings) {
    super(contextId, root);
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const settings = this.settings;
    const call = CALL;
    call.clear();
    if (this.requestHeaders.readInto(":method", VALUE)) call.add(":method", VALUE);
    else call.add(":method", GET);
    PATH.clear();
    PATH.append(settings.pathPrefixBytes);
    if (this.requestHeaders.readInto(":path", VALUE)) PATH.appendFrom(VALUE);
    else PATH.append(SLASH);
    call.add(":path", PATH);
    call.add(":authority", settings.authorityBytes);
    // The configured headers in configuration order, each with every value it has.
    const names = settings.requestHeaderBytes;
    for (let i = 0; i < names.length; i++) this.requestHeaders.copyAll(names[i], call);
    const token = this.dispatchHttpCall(settings.cluster, call, "", settings.timeoutMs);
    if (token == 0) {
      const refusal = resultName(lastResult());
      const root = this.root as ExtAuthzRoot;
      if (!root.warnedRefusal) {
        root.warnedRefusal = true;
        log.warn("ext-authz: Envoy refused the call to cluster \"" + settings.cluster + "\" (" + refusal +
          (refusal == "BadArgument" ? ": no such cluster?" : "") + "); requests fail closed with " +
          settings.statusOnError.toString() + " (logged once)");
      }
      return this.fail("Envoy refused the call (" + refusal + ")");
    }
    // Paused: Envoy holds the request (and buffers its body) until the answer.
    return FilterHeadersStatus.StopIteration;
  }

  onHttpCallResponse(response: HttpCallResponse): void {
    if (response.failed) {
      this.fail("the call failed (" + resultName(response.failureStatus) + ")");
      return;
    }
    const status = response.statusCode;
    if (status == 0 || status >= 500) {
      // Envoy's own timeout reply is a 504; like ext_authz, any 5xx is the service's failure.
      this.fail("the service answered " + status.toString());
      return;
    }
    const copied = COPIED;
    if (status >= 200 && status < 300) {
      okCount.increment();
      const names = this.settings.upstreamHeaderBytes;
      for (let i = 0; i < names.length; i++) {
        copied.clear();
        if (response.headers.copyAll(names[i], copied) == 0) continue;
        // The service's value replaces whatever the client sent under that name.
        this.requestHeaders.remove(names[i]);
        this.requestHeaders.addAll(copied);
      }
      this.continueRequest();
      return;
    }
    deniedCount.increment();
    copied.clear();
    const names = this.settings.clientHeaderBytes;
    for (let i = 0; i < names.length; i++) response.headers.copyAll(names[i], copied);
    if (log.enabled(LogLevel.Debug)) log.debug("ext-authz: denied: the service answered " + status.toString());
    this.sendLocalResponse(status, response.body.bytes(), copied, "ext_authz_denied");
  }

  /** Fail closed: `status_on_error`, no body, Envoy's details for an ext_authz error. */
  private fail(why: string): FilterHeadersStatus {
    errorCount.increment();
    if (log.enabled(LogLevel.Debug)) log.debug("ext-authz: failing closed with " + this.settings.statusOnError.toString() + ": " + why);
    this.sendLocalResponse(this.settings.statusOnError, "", [], "ext_authz_error");
    return FilterHeadersStatus.StopIteration;
  }
}

const FIELDS = "cluster, authority, path_prefix, timeout_ms, request_headers, upstream_headers, client_headers, status_on_error";

/** The settings the configuration asks for; problems go to `config`. */
function readSettings(config: ConfigReader): Settings {
  const settings = new Settings();
  if (config.isEmpty) config.fail("the configuration is empty: it needs at least \"cluster\"");
  // Field by field in document order, so the problem reported is the first one in the text.
  const names = config.keys();
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name == "cluster") {
      settings.cluster = config.nonEmptyString(name, "");
    } else if (name == "authority") {
      settings.authority = config.string(name, "");
      if (!isAuthority(settings.authority)) config.fail("\"authority\": \"" + settings.authority + "\" is not a host name (with an optional port)");
    } else if (name == "path_prefix") {
      settings.pathPrefix = config.string(name, "");
      if (!isPathPrefix(settings.pathPrefix)) config.fail("\"path_prefix\" must start with \"/\" and have no \"?\", \"#\", spaces or control characters");
    } else if (name == "timeout_ms") {
      settings.timeoutMs = <u32>config.integer(name, settings.timeoutMs, 1, 60000, "a whole number of milliseconds");
    } else if (name == "status_on_error") {
      settings.statusOnError = <u32>config.integer(name, settings.statusOnError, 200, 599, "an HTTP status code");
    } else if (name == "request_headers") {
      settings.requestHeaders = lowerAsciiAll(config.headerNames(name));
    } else if (name == "upstream_headers") {
      settings.upstreamHeaders = lowerAsciiAll(config.headerNames(name));
    } else if (name == "client_headers") {
      settings.clientHeaders = lowerAsciiAll(config.headerNames(name));
    } else {
      config.unknown(name, FIELDS);
    }
  }
  config.require("cluster", "name the Envoy cluster of the authorization service");
  if (settings.authority.length == 0) settings.authority = defaultAuthority(settings.cluster);
  settings.encode();
  return settings;
}

/** Header names lower-case, as Envoy's header maps store them. */
function lowerAsciiAll(names: Array<string>): Array<string> {
  for (let i = 0; i < names.length; i++) names[i] = lowerAscii(names[i]);
  return names;
}

/** Istio names clusters "outbound|<port>|<subset>|<host>": the host is the authority; any other name is used as it is. */
function defaultAuthority(cluster: string): string {
  const bar = cluster.lastIndexOf("|");
  return bar >= 0 ? cluster.substring(bar + 1) : cluster;
}

function isAuthority(text: string): bool {
  if (text.length == 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
      c == 0x2d || c == 0x2e || c == 0x3a || c == 0x5b || c == 0x5d || c == 0x5f;
    if (!ok) return false;
  }
  return true;
}

function isPathPrefix(text: string): bool {
  if (text.length == 0) return true;
  if (text.charCodeAt(0) != 0x2f) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c == 0x7f || c == 0x3f || c == 0x23) return false;
  }
  return true;
}

function lowerAscii(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
  }
  return out;
}

registerRootContext((contextId: u32) => new ExtAuthzRoot(contextId), "ext-authz");
