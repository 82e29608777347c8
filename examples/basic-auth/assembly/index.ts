// basic-auth: HTTP Basic authentication (RFC 7617) on configured paths and methods, the
// Istio ecosystem's basic_auth example filter. A request whose method and path match a
// rule must carry `Authorization: Basic <base64 of user:password>` with credentials the
// rule lists; otherwise it gets a local 401 with `WWW-Authenticate: Basic realm="istio"`.
//   {"basic_auth_rules": [{"prefix": "/productpage", "request_methods": ["GET", "POST"],
//                          "credentials": ["ok:test", "YWRtaW4zOmFkbWluMw=="]}],
//    "realm": "istio"}
import {
  ByteBuffer, ConfigReader, FilterHeadersStatus, HeaderList, HttpContext, log, LogLevel, registerRootContext, RootContext,
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
  /** Each credential's header as clients send it, "Basic " and its padded base64: compared as it came, with no decode. */
  headers: Array<ArrayBuffer> = new Array<ArrayBuffer>();
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
    return isAnySecret(this.credentials, credential);
  }

  /** The Authorization header is byte for byte one of `headers`: then it decodes to one of the credentials. */
  acceptsHeader(authorization: ByteBuffer): bool {
    return isAnySecret(this.headers, authorization);
  }

  addCredential(credential: ArrayBuffer): void {
    this.credentials.push(credential);
    this.headers.push(basicHeaderOf(credential));
  }

  describe(): string {
    return MATCH_NAMES[this.match] + " \"" + this.path + "\"";
  }
}

class Settings {
  rules: Array<Rule> = new Array<Rule>();
  /** WWW-Authenticate: Basic realm="...", built once in the pairs the host reads: a 401 encodes nothing. */
  challenge: HeaderList = challengeFor("istio");
  /**
   * Some rule needs the path without its query. A prefix without "?" or "#" matches the
   * whole :path exactly when it matches the path before them, so prefix rules skip the cut.
   */
  cutsQuery: bool = false;
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
// The names as the bytes the host compares, also made once: a name given as a string is
// looked up in the SDK's UTF-8 cache on every read (about 35 instructions).
const METHOD_NAME = String.UTF8.encode(":method", false);
const PATH_NAME = String.UTF8.encode(":path", false);
const AUTHORIZATION_NAME = String.UTF8.encode("authorization", false);

class BasicAuth extends HttpContext {
  constructor(contextId: u32, root: RootContext, private settings: Settings) {
    super(contextId, root);
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const rules = this.settings.rules;
    const headers = this.requestHeaders;
    headers.readInto(METHOD_NAME, METHOD);
    const method = methodBit(METHOD);
    headers.readInto(PATH_NAME, PATH);
    if (this.settings.cutsQuery) withoutQuery(PATH);
    // Read the header once, for the first rule that protects the request: every rule that
    // protects it must accept it. Clients send "Basic " and padded base64, which is compared
    // as it came; any other spelling is decoded (once) and its bytes compared.
    let read = false;
    let decoded = false;
    let presented = false;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (!rule.applies(method, PATH)) continue;
      if (!read) {
        if (!headers.readInto(AUTHORIZATION_NAME, AUTHORIZATION)) AUTHORIZATION.clear();
        read = true;
      }
      if (rule.acceptsHeader(AUTHORIZATION)) continue;
      if (!decoded) {
        presented = decodeCredential(AUTHORIZATION, CREDENTIAL);
        decoded = true;
      }
      if (!presented) return this.deny(rule, "no Basic credentials", "basic_auth_missing_credentials");
      if (!rule.accepts(CREDENTIAL)) return this.deny(rule, "credentials not accepted", "basic_auth_invalid_credentials");
    }
    return FilterHeadersStatus.Continue;
  }

  private deny(rule: Rule, reason: string, details: string): FilterHeadersStatus {
    if (log.enabled(LogLevel.Debug)) {
      withoutQuery(PATH); // a query string can carry tokens: it stays out of logs
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
 * Decodes an Authorization value `Basic <token>` into `credential`: false when empty (no
 * header) or for another scheme; true when presented, with `credential` empty when the
 * token is not base64 of `user:password` (so it matches no credential but counts as presented).
 */
function decodeCredential(authorization: ByteBuffer, credential: ByteBuffer): bool {
  // The scheme is case-insensitive (RFC 9110 §11.1); one or more spaces follow it.
  if (!startsWithBasic(authorization)) return false;
  const p = authorization.dataStart;
  let start = 6;
  let end = authorization.length;
  while (start < end && isSpace(load<u8>(p + <usize>start))) start++;
  while (end > start && isSpace(load<u8>(p + <usize>end - 1))) end--;
  if (!decodeBase64(p + <usize>start, end - start, credential) || credential.indexOf(0x3a) < 0) credential.resize(0);
  return true;
}

function isSpace(c: u8): bool {
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
  const end = queryStart(path.dataStart, path.length);
  if (end >= 0) path.truncate(end);
}

/** Where `?` or `#` first comes in `length` bytes at `p`, or -1. */
function queryStart(p: usize, length: i32): i32 {
  for (let i = 0; i < length; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 0x3f || c == 0x23) return i;
  }
  return -1;
}

/** Whether `presented` is one of `secrets`, each compared without an early exit. */
function isAnySecret(secrets: Array<ArrayBuffer>, presented: ByteBuffer): bool {
  for (let i = 0; i < secrets.length; i++) {
    if (sameSecret(secrets[i], presented)) return true;
  }
  return false;
}

/** Compares without an early exit, so the time taken does not tell how much of a secret matched. */
function sameSecret(expected: ArrayBuffer, presented: ByteBuffer): bool {
  const length = expected.byteLength;
  if (length != presented.length) return false;
  const pa = changetype<usize>(expected);
  const pb = presented.dataStart;
  let diff: u64 = 0;
  if (length >= 8) {
    // Eight bytes at a time, the last load overlapping the one before it.
    const last = <usize>length - 8;
    for (let i: usize = 0; i < last; i += 8) diff |= load<u64>(pa + i) ^ load<u64>(pb + i);
    diff |= load<u64>(pa + last) ^ load<u64>(pb + last);
  } else {
    for (let i = 0; i < length; i++) diff |= <u64>(load<u8>(pa + <usize>i) ^ load<u8>(pb + <usize>i));
  }
  return diff == 0;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// Each byte's value in the standard base64 alphabet (RFC 4648 §4); INVALID outside it.
const INVALID: u32 = 0x40;
const SEXTETS: usize = memory.data(256);
memory.fill(SEXTETS, <u8>INVALID, 256);
for (let i = 0; i < 64; i++) {
  store<u8>(SEXTETS + <usize>ALPHABET.charCodeAt(i), <u8>i);
}

/** "Basic " and the padded standard base64 of `credential` (RFC 7617), as UTF-8. */
function basicHeaderOf(credential: ArrayBuffer): ArrayBuffer {
  const p = changetype<usize>(credential);
  const length = credential.byteLength;
  const out = new ByteBuffer(6 + (length + 2) / 3 * 4);
  out.appendString("Basic ");
  for (let i = 0; i < length; i += 3) {
    const left = length - i;
    const bits = (<u32>load<u8>(p + <usize>i) << 16) | (left > 1 ? <u32>load<u8>(p + <usize>i + 1) << 8 : 0) | (left > 2 ? <u32>load<u8>(p + <usize>i + 2) : 0);
    for (let k = 0; k < 4; k++) {
      // Three bytes make four characters; past the last byte, "=".
      out.appendByte(k <= left ? <u8>ALPHABET.charCodeAt((bits >> (18 - 6 * k)) & 63) : 0x3d);
    }
  }
  return out.toBytes();
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
    const rule = readRule(config.nested(rules[i], "basic_auth_rules[" + i.toString() + "]", "with the fields " + RULE_FIELDS));
    if (rule.match != PREFIX || queryStart(changetype<usize>(rule.pathBytes), rule.pathBytes.byteLength) >= 0) settings.cutsQuery = true;
    settings.rules.push(rule);
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
      rule.addCredential(String.UTF8.encode(item.asString(), false));
    } else {
      const text = String.UTF8.encode(item.asString(), false);
      const decoded = new ByteBuffer();
      if (!decodeBase64(changetype<usize>(text), text.byteLength, decoded) || decoded.indexOf(0x3a) < 0) {
        config.fail(where + " is neither \"user:password\" nor the base64 of it");
      } else {
        rule.addCredential(decoded.toBytes());
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
