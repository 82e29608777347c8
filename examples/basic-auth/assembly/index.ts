// basic-auth: HTTP Basic authentication (RFC 7617) on configured paths and methods, the
// Istio ecosystem's basic_auth example filter. A request whose method and path match a
// rule must carry `Authorization: Basic <base64 of user:password>` with credentials the
// rule lists; otherwise it gets a local 401 with `WWW-Authenticate: Basic realm="istio"`.
//   {"basic_auth_rules": [{"prefix": "/productpage", "request_methods": ["GET", "POST"],
//                          "credentials": ["ok:test", "YWRtaW4zOmFkbWluMw=="]}],
//    "realm": "istio"}
import {
  ConfigReader, FilterHeadersStatus, Header, HttpContext, log, LogLevel, registerRootContext, RootContext,
} from "proxy-wasm-as/assembly";
export * from "proxy-wasm-as/assembly/exports-http";

const PREFIX: u8 = 0;
const EXACT: u8 = 1;
const SUFFIX: u8 = 2;
const MATCH_NAMES = ["prefix", "exact", "suffix"];
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

class Rule {
  /** Accepted credentials, each the UTF-8 bytes of "user:password". */
  credentials: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  methods: Array<string> = new Array<string>();
  match: u8 = PREFIX;
  path: string = "";

  /** The rule protects this request. `path` is the :path without its query. */
  applies(method: string, path: string): bool {
    if (!this.methods.includes(method)) return false;
    if (this.match == PREFIX) return path.startsWith(this.path);
    if (this.match == EXACT) return path == this.path;
    return path.endsWith(this.path);
  }

  accepts(credential: ArrayBuffer): bool {
    for (let i = 0; i < this.credentials.length; i++) {
      if (sameBytes(this.credentials[i], credential)) return true;
    }
    return false;
  }

  describe(): string {
    return MATCH_NAMES[this.match] + " \"" + this.path + "\"";
  }
}

class Settings {
  rules: Array<Rule> = new Array<Rule>();
  /** [WWW-Authenticate: Basic realm="..."], built once. */
  challenge: Array<Header> = [new Header("www-authenticate", "Basic realm=\"istio\"")];
}

class BasicAuthRoot extends RootContext {
  settings: Settings = new Settings();

  onConfigure(pluginConfigurationSize: u32): bool {
    const config = new ConfigReader(this.pluginConfiguration, "with the fields " + FIELDS);
    const settings = readSettings(config);
    if (!config.accept("basic-auth")) return false;
    this.settings = settings;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new BasicAuth(contextId, this, this.settings);
  }
}

class BasicAuth extends HttpContext {
  constructor(contextId: u32, root: RootContext, private settings: Settings) {
    super(contextId, root);
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const rules = this.settings.rules;
    const methodHeader = this.requestHeaders.get(":method");
    const method = methodHeader !== null ? methodHeader : "";
    const pathHeader = this.requestHeaders.get(":path");
    const path = withoutQuery(pathHeader !== null ? pathHeader : "");
    // Read and decode the credentials once, for the first rule that protects the request:
    // every rule that protects it must accept them.
    let credential: ArrayBuffer | null = null;
    let read = false;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (!rule.applies(method, path)) continue;
      if (!read) {
        credential = this.basicCredential();
        read = true;
      }
      if (credential === null) return this.deny(rule, method, path, "no Basic credentials", "basic_auth_missing_credentials");
      if (!rule.accepts(credential)) return this.deny(rule, method, path, "credentials not accepted", "basic_auth_invalid_credentials");
    }
    return FilterHeadersStatus.Continue;
  }

  /**
   * The decoded `user:password` of `Authorization: Basic <token>`. Null without the
   * header, for another scheme, and for a token that is not base64 of `user:password`
   * (an empty ArrayBuffer then, so it matches no credential but counts as presented).
   */
  private basicCredential(): ArrayBuffer | null {
    const header = this.requestHeaders.get("authorization");
    if (header === null) return null;
    // The scheme is case-insensitive (RFC 9110 §11.1); one or more spaces follow it.
    if (!startsWithBasic(header)) return null;
    const decoded = decodeBase64(header.substring(6).trim());
    return decoded !== null && hasColon(decoded) ? decoded : new ArrayBuffer(0);
  }

  private deny(rule: Rule, method: string, path: string, reason: string, details: string): FilterHeadersStatus {
    if (log.enabled(LogLevel.Debug)) {
      log.debug("basic-auth: 401 for " + method + " " + path + " (rule " + rule.describe() + "): " + reason);
    }
    this.sendLocalResponse(401, "", this.settings.challenge, details);
    return FilterHeadersStatus.StopIteration;
  }
}

/** "Basic " in any case. */
function startsWithBasic(header: string): bool {
  if (header.length < 6 || header.charCodeAt(5) != 0x20) return false;
  const scheme = "basic";
  for (let i = 0; i < 5; i++) {
    if ((header.charCodeAt(i) | 0x20) != scheme.charCodeAt(i)) return false;
  }
  return true;
}

/** The path without `?query` or `#fragment`: a rule for "/admin" also covers "/admin?x=1". */
function withoutQuery(path: string): string {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c == 0x3f || c == 0x23) return path.substring(0, i);
  }
  return path;
}

/** Compares without an early exit, so the time taken does not tell how much of a secret matched. */
function sameBytes(a: ArrayBuffer, b: ArrayBuffer): bool {
  if (a.byteLength != b.byteLength) return false;
  const pa = changetype<usize>(a);
  const pb = changetype<usize>(b);
  let diff: u32 = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= <u32>(load<u8>(pa + i) ^ load<u8>(pb + i));
  return diff == 0;
}

function hasColon(bytes: ArrayBuffer): bool {
  const p = changetype<usize>(bytes);
  for (let i = 0; i < bytes.byteLength; i++) if (load<u8>(p + i) == 0x3a) return true;
  return false;
}

/** The value of one standard base64 character (RFC 4648 §4), or -1. */
function sextet(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2b) return 62;
  if (c == 0x2f) return 63;
  return -1;
}

/** Decodes standard base64, with or without `=` padding; null when malformed (or empty). */
function decodeBase64(text: string): ArrayBuffer | null {
  let length = text.length;
  if (length > 0 && length % 4 == 0 && text.charCodeAt(length - 1) == 0x3d) length--;
  if (length > 0 && length % 4 == 3 && text.charCodeAt(length - 1) == 0x3d) length--;
  // A length of 1 mod 4 cannot end a byte; nor can a lone padded group.
  if (length == 0 || length % 4 == 1) return null;
  const out = new ArrayBuffer(length * 3 / 4);
  const p = changetype<usize>(out);
  let bits: u32 = 0;
  let count = 0;
  let o = 0;
  for (let i = 0; i < length; i++) {
    const v = sextet(text.charCodeAt(i));
    if (v < 0) return null;
    bits = (bits << 6) | <u32>v;
    count += 6;
    if (count >= 8) {
      count -= 8;
      store<u8>(p + o++, <u8>(bits >> count));
    }
  }
  // The bits left over must be zero (canonical encoding): "YQ==" is "a", "YR==" is not.
  if ((bits & ((1 << count) - 1)) != 0) return null;
  return out;
}

const FIELDS = "basic_auth_rules, realm";
const RULE_FIELDS = "prefix, exact, suffix, request_methods, credentials";
const CREDENTIALS = "\"user:password\" or its base64";

/** The settings the configuration asks for; problems go to `config`. */
function readSettings(config: ConfigReader): Settings {
  const settings = new Settings();
  if (config.isEmpty) config.fail("the configuration is empty: it needs \"basic_auth_rules\"");
  config.rejectUnknown(FIELDS);
  const realm = config.get("realm");
  if (realm !== null) {
    if (!realm.isString || !isRealm(realm.asString())) config.fail("\"realm\" must be a non-empty string without quotes, backslashes or control characters");
    else settings.challenge = [new Header("www-authenticate", "Basic realm=\"" + realm.asString() + "\"")];
  }
  config.require("basic_auth_rules");
  const rules = config.array("basic_auth_rules", "rules");
  if (config.ok && rules.length == 0) config.fail("\"basic_auth_rules\" is empty: the filter would protect nothing");
  for (let i = 0; i < rules.length && config.ok; i++) {
    settings.rules.push(readRule(config.nested(rules[i], "basic_auth_rules[" + i.toString() + "]", "with the fields " + RULE_FIELDS)));
  }
  return settings;
}

/** One of "basic_auth_rules"; `config` names it by its place, e.g. basic_auth_rules[0]. */
function readRule(config: ConfigReader): Rule {
  const rule = new Rule();
  config.rejectUnknown(RULE_FIELDS);
  const names = config.keys();
  const matches = new Array<string>();
  for (let i = 0; i < names.length; i++) {
    if (MATCH_NAMES.includes(names[i])) matches.push(names[i]);
  }
  if (matches.length != 1) {
    const found = matches.length == 0 ? "none" : "\"" + matches.join("\", \"") + "\"";
    config.fail(config.path + " must have exactly one of \"prefix\", \"exact\" and \"suffix\", not " + found);
    return rule;
  }
  const match = config.get(matches[0])!;
  if (!match.isString || match.asString().length == 0) config.fail(config.label(matches[0]) + " must be a non-empty string");
  rule.match = <u8>MATCH_NAMES.indexOf(matches[0]);
  rule.path = match.asString();

  requireNonEmptyList(config, "request_methods", "HTTP methods");
  rule.methods = config.strings("request_methods", "HTTP methods", isMethod, "is not an HTTP method (" + METHODS.join(", ") + ")");

  requireNonEmptyList(config, "credentials", CREDENTIALS);
  const credentials = config.array("credentials", CREDENTIALS);
  for (let i = 0; i < credentials.length && config.ok; i++) {
    const item = credentials[i];
    // The value is a secret: problems never repeat it.
    const where = config.label("credentials") + "[" + i.toString() + "]";
    if (!item.isString) {
      config.fail(where + " must be a string, not " + item.typeName());
    } else if (item.asString().includes(":")) {
      rule.credentials.push(String.UTF8.encode(item.asString(), false));
    } else {
      const decoded = decodeBase64(item.asString());
      if (decoded === null || !hasColon(decoded)) config.fail(where + " is neither \"user:password\" nor the base64 of it");
      else rule.credentials.push(decoded);
    }
  }
  return rule;
}

/** Absent, not a list and empty are one problem: a rule needs at least one of each. */
function requireNonEmptyList(config: ConfigReader, name: string, what: string): void {
  const field = config.get(name);
  if (field === null || !field.isArray || field.asArray().length == 0) config.fail(config.label(name) + " must be a non-empty list of " + what);
}

function isMethod(method: string): bool {
  return METHODS.includes(method);
}

/** A realm goes between double quotes: no `"`, `\` or control characters, and not empty. */
function isRealm(realm: string): bool {
  if (realm.length == 0) return false;
  for (let i = 0; i < realm.length; i++) {
    const c = realm.charCodeAt(i);
    if (c < 0x20 || c == 0x7f || c == 0x22 || c == 0x5c) return false;
  }
  return true;
}

registerRootContext((contextId: u32) => new BasicAuthRoot(contextId), "basic-auth");
