import { asciiLowerCase, isValidHeaderName, isValidHeaderValue, scanPairs } from "../headers";
import { decodeHeaders, encodeHeaders, Header } from "../pairs";

describe("header validation", () => {
  it("accepts RFC 9110 tokens as names", () => {
    expect(isValidHeaderName("x-request-id")).toBe(true);
    expect(isValidHeaderName("X_Custom.Header~1!#$%&'*+^`|")).toBe(true);
  });

  it("rejects empty names, separators, spaces, pseudo-headers and non-ASCII", () => {
    expect(isValidHeaderName("")).toBe(false);
    expect(isValidHeaderName("bad header")).toBe(false);
    expect(isValidHeaderName("a:b")).toBe(false);
    expect(isValidHeaderName(":path")).toBe(false);
    expect(isValidHeaderName("a\r\nb")).toBe(false);
    expect(isValidHeaderName("é")).toBe(false);
    expect(isValidHeaderName("(x)")).toBe(false);
  });

  it("rejects CR, LF, NUL and control characters in values, allows tabs and UTF-8", () => {
    expect(isValidHeaderValue("some value\twith tab")).toBe(true);
    expect(isValidHeaderValue("")).toBe(true);
    expect(isValidHeaderValue("café")).toBe(true);
    expect(isValidHeaderValue("a\r\nx-injected: 1")).toBe(false);
    expect(isValidHeaderValue("a\nb")).toBe(false);
    expect(isValidHeaderValue("a\0b")).toBe(false);
    expect(isValidHeaderValue("a\x7fb")).toBe(false);
  });

  it("lower-cases ASCII letters only", () => {
    expect(asciiLowerCase("X-Request-ID")).toBe("x-request-id");
    expect(asciiLowerCase("already")).toBe("already");
  });
});

describe("pairs serialization", () => {
  it("encodes the ABI's worked example byte for byte", () => {
    const bytes = Uint8Array.wrap(encodeHeaders([new Header("a", "1"), new Header("b", "22")]));
    const expected: u8[] = [2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x61, 0, 0x31, 0, 0x62, 0, 0x32, 0x32, 0];
    expect(bytes.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(bytes[i]).toBe(expected[i]);
  });

  it("encodes an empty list as no bytes", () => {
    expect(encodeHeaders([]).byteLength).toBe(0);
  });

  it("round-trips names and UTF-8 values", () => {
    const decoded = decodeHeaders(encodeHeaders([new Header(":path", "/é?x=1"), new Header("k", "")]));
    expect(decoded.length).toBe(2);
    expect(decoded[0].name).toBe(":path");
    expect(decoded[0].value).toBe("/é?x=1");
    expect(decoded[1].value).toBe("");
  });

  it("stops at a truncated buffer instead of reading past it", () => {
    const full = encodeHeaders([new Header("a", "1"), new Header("b", "2")]);
    expect(decodeHeaders(full.slice(0, full.byteLength - 3)).length).toBe(1);
    expect(decodeHeaders(full.slice(0, 2)).length).toBe(0);
  });
});

function utf8(text: string): ArrayBuffer {
  return String.UTF8.encode(text, false);
}
const pairs = encodeHeaders([new Header(":path", "/x"), new Header("allow", "true"), new Header("user-agent", "t"), new Header("allow", "true")]);
function scan(buffer: ArrayBuffer, size: i32, name: string, expected: ArrayBuffer | null): i32 {
  return scanPairs(changetype<usize>(buffer), size, utf8(name), null, expected, null);
}

describe("scanning the host's pairs in place (scanPairs)", () => {
  it("counts the entries of a name, or -1 at the first one whose value is not the expected one", () => {
    expect(scan(pairs, pairs.byteLength, "allow", null)).toBe(2);
    expect(scan(pairs, pairs.byteLength, "allow", utf8("true"))).toBe(2);
    expect(scan(pairs, pairs.byteLength, "allow", utf8("tru"))).toBe(-1);
    expect(scan(pairs, pairs.byteLength, "alloW", null)).toBe(0, "names compare byte for byte");
    expect(scan(pairs, pairs.byteLength, "x-none", null)).toBe(0);
    const values = new Array<string>();
    scanPairs(changetype<usize>(pairs), pairs.byteLength, utf8(":path"), values, null, null);
    expect(values.length).toBe(1);
    expect(values[0]).toBe("/x");
  });

  it("stops at the first entry of the name that the block cuts, counting those before it", () => {
    // The last "allow" loses its value's last byte: the first one still counts.
    expect(scan(pairs, pairs.byteLength - 1, "allow", utf8("true"))).toBe(1);
    // Cut inside user-agent: the later "allow" is not read.
    expect(scan(pairs, pairs.byteLength - 12, "allow", null)).toBe(1);
    expect(scan(pairs, 3, "allow", null)).toBe(0, "no room for the count");
  });

  it("sizes that run past the block or wrap around the address space end the walk", () => {
    const copy = pairs.slice(0);
    // The first "allow" claims a value of 2^32 - 16 bytes: its end wraps to before it.
    store<u32>(changetype<usize>(copy) + 4 + 8 + 4, 0xfffffff0);
    expect(scan(copy, copy.byteLength, "allow", null)).toBe(0);
    const huge = pairs.slice(0);
    store<u32>(changetype<usize>(huge), 0x10000000); // a count far beyond the block
    expect(scan(huge, huge.byteLength, "allow", null)).toBe(0);
  });
});
