// header-append: appends the configured headers to every HTTP response
// (the OpenShift Service Mesh example filter). Configuration: a JSON object of
// header name -> value, e.g. {"first-header": "some-value"}.
import {
  Configuration, FilterHeadersStatus, Header, HttpContext, isValidHeaderName, isValidHeaderValue, log,
  registerRootContext, RootContext,
} from "proxy-wasm-as/assembly";
export * from "proxy-wasm-as/assembly/exports-http";

class HeaderAppendRoot extends RootContext {
  headers: Array<Header> = [];

  onConfigure(pluginConfigurationSize: u32): bool {
    const headers = new Array<Header>();
    const problem = parseConfiguration(this.pluginConfiguration, headers);
    if (problem.length > 0) {
      log.error("header-append: " + problem);
      return false;
    }
    this.headers = headers;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new HeaderAppend(contextId, this, this.headers);
  }
}

/** Fills `headers` from the configuration; returns what is wrong with it, or "". */
function parseConfiguration(configuration: Configuration, headers: Array<Header>): string {
  if (configuration.isEmpty) return "";
  const parsed = configuration.json();
  const value = parsed.value;
  if (value === null) return "the configuration is not valid JSON: " + parsed.error;
  if (!value.isObject) return "the configuration must be a JSON object of header name to value, not " + value.typeName();
  const names = value.keys();
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const entry = value.get(name)!;
    if (!entry.isString) return "the value of \"" + name + "\" must be a string, not " + entry.typeName();
    if (!isValidHeaderName(name)) return "\"" + name + "\" is not a valid HTTP header name";
    if (!isValidHeaderValue(entry.asString())) return "the value of \"" + name + "\" is not a valid HTTP header value (CR, LF and control characters are not allowed)";
    headers.push(new Header(name, entry.asString()));
  }
  return "";
}

class HeaderAppend extends HttpContext {
  constructor(contextId: u32, root: RootContext, private headers: Array<Header>) {
    super(contextId, root);
  }

  onResponseHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    this.responseHeaders.addAll(this.headers);
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((contextId: u32) => new HeaderAppendRoot(contextId), "header-append");
