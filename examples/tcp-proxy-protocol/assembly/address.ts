// The endpoints Envoy reports in `source.address` and `destination.address` ("10.0.0.1:443",
// "[2001:db8::1]:443"), parsed into what the PROXY protocol carries: the address bytes, the
// address as text, and the port. Anything else (a pipe path, a scope id) is no endpoint.

export class Endpoint {
  constructor(
    /** 4 bytes for IPv4, 16 for IPv6, in network order. */
    public readonly ip: Uint8Array,
    /** The address as PROXY v1 writes it: a dotted quad, or IPv6 in Envoy's (inet_ntop) form. */
    public readonly text: string,
    public readonly port: u16,
  ) {}

  get isIpv4(): bool { return this.ip.length == 4; }
}

/** "ip:port" or "[ipv6]:port"; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as IPv4. Null when it is neither. */
export function parseEndpoint(value: string): Endpoint | null {
  if (value.startsWith("[")) {
    const close = value.indexOf("]:");
    if (close < 0) return null;
    const host = value.substring(1, close);
    const ip = parseIpv6(host);
    const port = parsePort(value.substring(close + 2));
    if (ip === null || port < 0) return null;
    if (isMappedIpv4(ip)) {
      const v4 = ip.slice(12);
      return new Endpoint(v4, dottedQuad(v4), <u16>port);
    }
    return new Endpoint(ip, host, <u16>port);
  }
  const colon = value.lastIndexOf(":");
  if (colon < 0) return null;
  const host = value.substring(0, colon);
  const ip = parseIpv4(host);
  const port = parsePort(value.substring(colon + 1));
  if (ip === null || port < 0) return null;
  return new Endpoint(ip, host, <u16>port);
}

/** 0–65535 in decimal without sign or leading zeros; -1 otherwise. */
function parsePort(text: string): i32 {
  if (text.length == 0 || text.length > 5 || (text.length > 1 && text.charCodeAt(0) == 0x30)) return -1;
  let value: i32 = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value <= 65535 ? value : -1;
}

/** A dotted quad in canonical form (no leading zeros), as Envoy prints it. */
function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length != 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (part.length == 0 || part.length > 3 || (part.length > 1 && part.charCodeAt(0) == 0x30)) return null;
    let value: i32 = 0;
    for (let j = 0; j < part.length; j++) {
      const digit = part.charCodeAt(j) - 0x30;
      if (digit < 0 || digit > 9) return null;
      value = value * 10 + digit;
    }
    if (value > 255) return null;
    out[i] = <u8>value;
  }
  return out;
}

/** RFC 4291 text: eight hex groups, one "::" for a run of zero groups, an optional dotted quad at the end. */
function parseIpv6(text: string): Uint8Array | null {
  if (text.length == 0) return null;
  const gap = text.indexOf("::");
  if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) return null;
  const head = gap >= 0 ? hexGroups(text.substring(0, gap), false) : hexGroups(text, true);
  const tail = gap >= 0 ? hexGroups(text.substring(gap + 2), true) : new Array<i32>();
  if (head === null || tail === null) return null;
  const count = head.length + tail.length;
  if (gap >= 0 ? count > 7 : count != 8) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < head.length; i++) setGroup(out, i, head[i]);
  for (let i = 0; i < tail.length; i++) setGroup(out, 8 - tail.length + i, tail[i]);
  return out;
}

/** The 16-bit groups of one side of "::" (empty text: none); a trailing dotted quad counts as two. */
function hexGroups(text: string, quadAllowed: bool): Array<i32> | null {
  const groups = new Array<i32>();
  if (text.length == 0) return groups;
  const parts = text.split(":");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (quadAllowed && i == parts.length - 1 && part.indexOf(".") >= 0) {
      const quad = parseIpv4(part);
      if (quad === null) return null;
      groups.push((<i32>quad[0] << 8) | quad[1]);
      groups.push((<i32>quad[2] << 8) | quad[3]);
      continue;
    }
    if (part.length == 0 || part.length > 4) return null;
    let value: i32 = 0;
    for (let j = 0; j < part.length; j++) {
      const digit = hexDigit(part.charCodeAt(j));
      if (digit < 0) return null;
      value = (value << 4) | digit;
    }
    groups.push(value);
  }
  return groups;
}

function hexDigit(code: i32): i32 {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  return -1;
}

function setGroup(out: Uint8Array, index: i32, value: i32): void {
  out[2 * index] = <u8>(value >> 8);
  out[2 * index + 1] = <u8>value;
}

function isMappedIpv4(ip: Uint8Array): bool {
  for (let i = 0; i < 10; i++) if (ip[i] != 0) return false;
  return ip[10] == 0xff && ip[11] == 0xff;
}

function dottedQuad(ip: Uint8Array): string {
  return ip[0].toString() + "." + ip[1].toString() + "." + ip[2].toString() + "." + ip[3].toString();
}
