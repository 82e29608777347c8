// header-authorization: lets a request through only when it carries the header
// `allow: true` (the Alibaba Cloud ASM example filter); any other request gets a local
// 403. Header name, expected value, status and body are configurable:
//   {"header": "allow", "expectedValue": "true", "status": 403, "body": "..."}
import {
  asciiLowerCase, ConfigReader, FilterHeadersStatus, Header, HttpContext, log, LogLevel, registerRootContext, RootContext,
} from "proxy-wasm-as/assembly";
export * from "proxy-wasm-as/assembly/exports-http";

class Settings {
  header: string = "allow";
  expectedValue: string = "true";
  status: u32 = 403;
  body: string = "Forbidden by header-authorization Wasm plugin";
  /** The header as the host keeps it (lower-case name) with the value that passes: checked in place on every request. */
  required: Header = new Header("allow", "true");
  /** The denial's body as UTF-8, made once: a flood of denied requests encodes nothing. */
  bodyBytes: ArrayBuffer = new ArrayBuffer(0);
}

class HeaderAuthorizationRoot extends RootContext {
  settings: Settings = new Settings();

  onConfigure(pluginConfigurationSize: u32): bool {
    const config = new ConfigReader(this.pluginConfiguration, "with the fields " + FIELDS);
    const settings = readSettings(config);
    if (!config.accept("header-authorization")) return false;
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
    // Every entry of a repeated header must carry the expected value (no strings are made for it).
    if (this.requestHeaders.allAre(settings.required)) return FilterHeadersStatus.Continue;
    if (log.enabled(LogLevel.Debug)) {
      const values = this.requestHeaders.getAll(settings.header);
      const seen = values.length == 0 ? "absent" : "\"" + values.join("\", \"") + "\"";
      log.debug("header-authorization: denied: header \"" + settings.header + "\" is " + seen +
        "; only \"" + settings.expectedValue + "\" passes");
    }
    this.sendLocalResponse(settings.status, settings.bodyBytes, [], "header_authorization_denied");
    return FilterHeadersStatus.StopIteration;
  }
}

const FIELDS = "header, expectedValue, status, body";

/** The settings the configuration asks for; problems go to `config`. */
function readSettings(config: ConfigReader): Settings {
  const settings = new Settings();
  // Field by field in document order, so the problem reported is the first one in the text.
  const names = config.keys();
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name == "header") settings.header = config.headerName(name, settings.header);
    else if (name == "expectedValue") settings.expectedValue = config.headerValue(name, settings.expectedValue);
    else if (name == "status") settings.status = <u32>config.integer(name, settings.status, 200, 599, "an HTTP status code");
    else if (name == "body") settings.body = config.string(name, settings.body);
    else config.unknown(name, FIELDS);
  }
  settings.required = new Header(asciiLowerCase(settings.header), settings.expectedValue);
  settings.bodyBytes = String.UTF8.encode(settings.body, false);
  return settings;
}

registerRootContext((contextId: u32) => new HeaderAuthorizationRoot(contextId), "header-authorization");
