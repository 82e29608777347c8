// header-authorization: lets a request through only when it carries the header
// `allow: true` (the Alibaba Cloud ASM example filter); any other request gets a local
// 403. Header name, expected value, status and body are configurable:
//   {"header": "allow", "expectedValue": "true", "status": 403, "body": "..."}
import {
  Configuration, FilterHeadersStatus, HttpContext, isValidHeaderName, isValidHeaderValue, JsonValue,
  log, LogLevel, registerRootContext, RootContext,
} from "proxy-wasm-as/assembly";
export * from "proxy-wasm-as/assembly/exports-http";

class Settings {
  header: string = "allow";
  expectedValue: string = "true";
  status: u32 = 403;
  body: string = "Forbidden by header-authorization Wasm plugin";
}

class HeaderAuthorizationRoot extends RootContext {
  settings: Settings = new Settings();

  onConfigure(pluginConfigurationSize: u32): bool {
    const settings = new Settings();
    const problem = parseConfiguration(this.pluginConfiguration, settings);
    if (problem.length > 0) {
      log.error("header-authorization: " + problem);
      return false;
    }
    this.settings = settings;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new HeaderAuthorization(contextId, this, this.settings);
  }
}

class HeaderAuthorization extends HttpContext {
  constructor(contextId: u32, root: RootContext, private settings: Settings) {
    super(contextId, root);
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const settings = this.settings;
    // Every entry of a repeated header must carry the expected value.
    const values = this.requestHeaders.getAll(settings.header);
    let allowed = values.length > 0;
    for (let i = 0; i < values.length; i++) {
      if (values[i] != settings.expectedValue) allowed = false;
    }
    if (allowed) return FilterHeadersStatus.Continue;
    if (log.enabled(LogLevel.Debug)) {
      const seen = values.length == 0 ? "absent" : "\"" + values.join("\", \"") + "\"";
      log.debug("header-authorization: denied: header \"" + settings.header + "\" is " + seen +
        "; only \"" + settings.expectedValue + "\" passes");
    }
    this.sendLocalResponse(settings.status, settings.body, [], "header_authorization_denied");
    return FilterHeadersStatus.StopIteration;
  }
}

const FIELDS = "header, expectedValue, status, body";

/** Reads the configuration into `settings`; returns what is wrong with it, or "". */
function parseConfiguration(configuration: Configuration, settings: Settings): string {
  if (configuration.isEmpty) return "";
  const parsed = configuration.json();
  const value = parsed.value;
  if (value === null) return "the configuration is not valid JSON: " + parsed.error;
  if (!value.isObject) return "the configuration must be a JSON object with the fields " + FIELDS + ", not " + value.typeName();
  const names = value.keys();
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const field = value.get(name)!;
    if (name == "status") {
      const status = field.asNumber();
      if (!field.isNumber || status != Math.floor(status) || status < 200 || status > 599) {
        return "\"status\" must be an HTTP status code from 200 to 599";
      }
      settings.status = <u32>status;
      continue;
    }
    if (name != "header" && name != "expectedValue" && name != "body") {
      return "unknown field \"" + name + "\" (the fields are " + FIELDS + ")";
    }
    if (!field.isString) return "\"" + name + "\" must be a string, not " + field.typeName();
    const text = field.asString();
    if (name == "header") {
      if (!isValidHeaderName(text)) return "\"header\": \"" + text + "\" is not a valid HTTP header name";
      settings.header = text;
    } else if (name == "expectedValue") {
      if (!isValidHeaderValue(text)) return "\"expectedValue\" is not a valid HTTP header value (CR, LF and control characters are not allowed)";
      settings.expectedValue = text;
    } else {
      settings.body = text;
    }
  }
  return "";
}

registerRootContext((contextId: u32) => new HeaderAuthorizationRoot(contextId), "header-authorization");
