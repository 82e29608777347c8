import { asciiLowerCase, isValidHeaderName, isValidHeaderValue } from "../headers";
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
