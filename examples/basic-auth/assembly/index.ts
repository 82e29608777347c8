// basic-auth: HTTP Basic authentication (RFC 7617) on configured paths and methods, the
// Istio ecosystem's basic_auth example filter. A request whose method and path match a
// rule must carry `Authorization: Basic <base64 of user:password>` with credentials the
// rule lists; otherwise it gets a local 401 with `WWW-Authenticate: Basic realm="istio"`.
//   {"basic_auth_rules": [{"prefix": "/productpage", "request_methods": ["GET", "POST"],
//                          "credentials": ["ok:test", "YWRtaW4zOmFkbWluMw=="]}],
//    "realm": "istio"}
import {
  ByteBuffer, ConfigReader, FilterHeadersStatus, HeaderList, Headers, HttpContext, log, LogLevel, registerRootContext, RootContext,
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
  /** The methods it protects: bit i for METHODS[i]. */
  methods: u32 = 0;
  match: u8 = PREFIX;
  path: string = "";
  pathBytes: ArrayBuffer = new ArrayBuffer(0);

  /** The rule protects this request. `method` is a bit of METHODS (0: another method); `path` the :path without its query. */
  applies(method: u32, path: ByteBuffer): bool {
    if ((this.methods & method) == 0) return false;
    if (this.match == PREFIX) return path.startsWith(this.pathBytes);
    if (this.match == EXACT) return path.equals(this.pathBytes);
    return path.endsWith(this.pathBytes);
  }

  accepts(credential: ByteBuffer): bool {
    for (let i = 0; i < this.credentials.length; i++) {
      if (sameSecret(this.credentials[i], credential)) return true;
    }
    return false;
  }

  describe(): string {
    return MATCH_NAMES[this.match] + " \"" + this.path + "\"";
  }
}

class Settings {
  rules: Array<Rule> = new Array<Rule>();
  /** WWW-Authenticate: Basic realm="...", built once in the pairs the host reads: a 401 encodes nothing. */
  challenge: HeaderList = challengeFor("istio");
}

function challengeFor(realm: string): HeaderList {
  const challenge = new HeaderList(64);
  challenge.add("www-authenticate", "Basic realm=\"" + realm + "\"");
  return challenge;
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

// What a request's check reads, made once and reused by every stream (callbacks never
// overlap): the check makes no string, so a stream costs its three header reads.
const METHOD = new ByteBuffer();
const PATH = new ByteBuffer();
const AUTHORIZATION = new ByteBuffer();
const CREDENTIAL = new ByteBuffer();
const METHOD_BYTES = METHODS.map<ArrayBuffer>((method: string) => String.UTF8.encode(method, false));

class BasicAuth extends HttpContext {
  constructor(contextId: u32, root: RootContext, private settings: Settings) {
    super(contextId, root);
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const rules = this.settings.rules;
    const headers = this.requestHeaders;
    headers.readInto(":method", METHOD);
    const method = methodBit(METHOD);
    headers.readInto(":path", PATH);
    withoutQuery(PATH);
    // Read and decode the credentials once, for the first rule that protects the request:
    // every rule that protects it must accept them.
    let presented = false;
    let read = false;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (!rule.applies(method, PATH)) continue;
      if (!read) {
        presented = readCredential(headers, CREDENTIAL);
        read = true;
      }
      if (!presented) return this.deny(rule, "no Basic credentials", "basic_auth_missing_credentials");
      if (!rule.accepts(CREDENTIAL)) return this.deny(rule, "credentials not accepted", "basic_auth_invalid_credentials");
    }
    return FilterHeadersStatus.Continue;
  }

  private deny(rule: Rule, reason: string, details: string): FilterHeadersStatus {
    if (log.enabled(LogLevel.Debug)) {
      log.debug("basic-auth: 401 for " + METHOD.toString() + " " + PATH.toString() + " (rule " + rule.describe() + "): " + reason);
    }
    this.sendLocalResponse(401, "", this.settings.challenge, details);
    return FilterHeadersStatus.StopIteration;
  }
}

/** The bit of METHODS that `method` is, or 0. */
function methodBit(method: ByteBuffer): u32 {
  for (let i = 0; i < METHOD_BYTES.length; i++) {
    if (method.equals(unchecked(METHOD_BYTES[i]))) return 1 << <u32>i;
  }
  return 0;
}

/**
 * Decodes `Authorization: Basic <token>` into `credential`: false without the header or
 * for another scheme; true when presented, with `credential` empty when the token is not
 * base64 of `user:password` (so it matches no credential but counts as presented).
 */
function readCredential(headers: Headers, credential: ByteBuffer): bool {
  if (!headers.readInto("authorization", AUTHORIZATION)) return false;
  // The scheme is case-insensitive (RFC 9110 §11.1); one or more spaces follow it.
  if (!startsWithBasic(AUTHORIZATION)) return false;
  let start = 6;
  let end = AUTHORIZATION.length;
  while (start < end && isSpace(AUTHORIZATION.byteAt(start))) start++;
  while (end > start && isSpace(AUTHORIZATION.byteAt(end - 1))) end--;
  if (!decodeBase64(AUTHORIZATION.dataStart + <usize>start, end - start, credential) || credential.indexOf(0x3a) < 0) credential.resize(0);
  return true;
}

function isSpace(c: i32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** "Basic " in any case. */
function startsWithBasic(header: ByteBuffer): bool {
  if (header.length < 6 || header.byteAt(5) != 0x20) return false;
  const p = header.dataStart;
  // "basic" lower-cased by setting bit 5 of each letter.
  return (load<u32>(p) | 0x20202020) == 0x69736162 && (load<u8>(p + 4) | 0x20) == 0x63;
}

/** Cuts `?query` or `#fragment` off the path: a rule for "/admin" also covers "/admin?x=1". */
function withoutQuery(path: ByteBuffer): void {
  const p = path.dataStart;
  for (let i = 0; i < path.length; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 0x3f || c == 0x23) {
      path.truncate(i);
      return;
    }
  }
}

/** Compares without an early exit, so the time taken does not tell how much of a secret matched. */
function sameSecret(expected: ArrayBuffer, presented: ByteBuffer): bool {
  const length = expected.byteLength;
  if (length != presented.length) return false;
  const pa = changetype<usize>(expected);
  const pb = presented.dataStart;
  let diff: u32 = 0;
  let i = 0;
  for (; i + 4 <= length; i += 4) diff |= load<u32>(pa + <usize>i) ^ load<u32>(pb + <usize>i);
  for (; i < length; i++) diff |= <u32>(load<u8>(pa + <usize>i) ^ load<u8>(pb + <usize>i));
  return diff == 0;
}

// Each byte's value in the standard base64 alphabet (RFC 4648 §4); INVALID outside it.
const INVALID: u32 = 0x40;
const SEXTETS: usize = memory.data(256);
memory.fill(SEXTETS, <u8>INVALID, 256);
for (let i = 0; i < 64; i++) {
  store<u8>(SEXTETS + <usize>"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i), <u8>i);
}

// @ts-ignore: decorator
@inline function sextet(text: usize, i: i32): u32 {
  return <u32>load<u8>(SEXTETS + <usize>load<u8>(text + <usize>i));
}

/** Decodes `length` bytes of standard base64 at `text`, with or without `=` padding, into `out`; false when malformed (or empty). */
function decodeBase64(text: usize, length: i32, out: ByteBuffer): bool {
  if (length > 0 && length % 4 == 0 && load<u8>(text + <usize>length - 1) == 0x3d) length--;
  if (length > 0 && length % 4 == 3 && load<u8>(text + <usize>length - 1) == 0x3d) length--;
  // A length of 1 mod 4 cannot end a byte; nor can a lone padded group.
  if (length == 0 || length % 4 == 1) return false;
  out.resize(length * 3 / 4);
  let o = out.dataStart;
  const whole = length & ~3;
  let i = 0;
  // Four characters make three bytes.
  for (; i < whole; i += 4) {
    const a = sextet(text, i), b = sextet(text, i + 1), c = sextet(text, i + 2), d = sextet(text, i + 3);
    if (((a | b | c | d) & INVALID) != 0) return false;
    const bits = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(o, <u8>(bits >> 16));
    store<u8>(o + 1, <u8>(bits >> 8));
    store<u8>(o + 2, <u8>bits);
    o += 3;
  }
  if (i == length) return true;
  // Two or three characters left: one or two bytes. The bits after them must be zero
  // (canonical encoding): "YQ==" is "a", "YR==" is not.
  const a = sextet(text, i), b = sextet(text, i + 1);
  const c = length - i == 3 ? sextet(text, i + 2) : 0;
  if (((a | b | c) & INVALID) != 0) return false;
  const bits = (a << 18) | (b << 12) | (c << 6);
  store<u8>(o, <u8>(bits >> 16));
  if (length - i == 3) {
    store<u8>(o + 1, <u8>(bits >> 8));
    return (bits & 0xff) == 0;
  }
  return (bits & 0xffff) == 0;
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
    else settings.challenge = challengeFor(realm.asString());
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
  rule.pathBytes = String.UTF8.encode(rule.path, false);

  requireNonEmptyList(config, "request_methods", "HTTP methods");
  const methods = config.strings("request_methods", "HTTP methods", isMethod, "is not an HTTP method (" + METHODS.join(", ") + ")");
  for (let i = 0; i < methods.length; i++) rule.methods |= 1 << <u32>METHODS.indexOf(methods[i]);

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
      const text = String.UTF8.encode(item.asString(), false);
      const decoded = new ByteBuffer();
      if (!decodeBase64(changetype<usize>(text), text.byteLength, decoded) || decoded.indexOf(0x3a) < 0) {
        config.fail(where + " is neither \"user:password\" nor the base64 of it");
      } else {
        rule.credentials.push(decoded.toBytes());
      }
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
