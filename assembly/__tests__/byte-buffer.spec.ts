// ByteBuffer: the reusable buffer header values are read into, compared in place.
import { ByteBuffer, sameBytes } from "../byte-buffer";

function filled(text: string): ByteBuffer {
  const bytes = String.UTF8.encode(text, false);
  const buffer = new ByteBuffer(2);
  buffer.copyFrom(changetype<usize>(bytes), bytes.byteLength);
  return buffer;
}

const utf8 = (text: string): ArrayBuffer => String.UTF8.encode(text, false);

describe("ByteBuffer", () => {
  it("holds a copy of what it was given, growing past its capacity, and gives it back as a string or bytes", () => {
    const buffer = filled("/productpage?x=1");
    expect(buffer.length).toBe(16);
    expect(buffer.toString()).toBe("/productpage?x=1");
    expect(buffer.toBytes().byteLength).toBe(16);
    expect(buffer.byteAt(0)).toBe(0x2f);
    expect(buffer.byteAt(16)).toBe(-1, "past the end");
    expect(buffer.byteAt(-1)).toBe(-1);
  });

  it("compares whole, as a prefix and as a suffix, byte for byte", () => {
    const buffer = filled("/api/products/1");
    expect(buffer.equals(utf8("/api/products/1"))).toBe(true);
    expect(buffer.equals(utf8("/api/products/2"))).toBe(false);
    expect(buffer.equals(utf8("/api/products/1/"))).toBe(false, "longer");
    expect(buffer.startsWith(utf8("/api/"))).toBe(true);
    expect(buffer.startsWith(utf8("/apx"))).toBe(false);
    expect(buffer.startsWith(utf8(""))).toBe(true);
    expect(buffer.endsWith(utf8("products/1"))).toBe(true);
    expect(buffer.endsWith(utf8("/api/products/1!"))).toBe(false, "longer than the buffer");
    expect(filled("é").equals(utf8("é"))).toBe(true, "UTF-8 as UTF-8");
  });

  it("finds a byte, truncates, and resizes keeping what it held", () => {
    const buffer = filled("/admin?x=1#top");
    expect(buffer.indexOf(0x3f)).toBe(6);
    expect(buffer.indexOf(0x3f, 7)).toBe(-1);
    expect(buffer.indexOf(0x23)).toBe(10);
    buffer.truncate(6);
    expect(buffer.toString()).toBe("/admin");
    buffer.truncate(20);
    expect(buffer.length).toBe(6, "truncating to more is a no-op");
    buffer.resize(200);
    expect(buffer.length).toBe(200);
    expect(buffer.byteAt(5)).toBe(0x6e, "growing keeps the bytes it held");
    buffer.resize(-3);
    expect(buffer.length).toBe(0);
  });

  it("builds text: appends bytes, another buffer, a byte and decimal numbers; clear keeps nothing", () => {
    const buffer = new ByteBuffer(1);
    buffer.append(utf8("rate-limit/"));
    buffer.appendFrom(filled("h:ann"));
    buffer.appendByte(0x20);
    buffer.appendDecimal(0);
    buffer.appendByte(0x20);
    buffer.appendDecimal(18446744073709551615);
    expect(buffer.toString()).toBe("rate-limit/h:ann 0 18446744073709551615");
    buffer.clear();
    expect(buffer.length).toBe(0);
    buffer.appendDecimal(1765000000000);
    expect(buffer.toString()).toBe("1765000000000");
  });

  it("parses the decimal digits a range begins with, up to the first other byte", () => {
    const buffer = filled("99 1765000000000x");
    expect(buffer.parseDecimal(0, 2)).toBe(99);
    expect(buffer.parseDecimal(3)).toBe(1765000000000, "up to the first non-digit");
    expect(buffer.parseDecimal(2)).toBe(0, "no digit first");
    expect(filled("").parseDecimal()).toBe(0);
  });
  it("appends a string's UTF-8 in place and little-endian u32s, growing as it goes", () => {
    const buffer = new ByteBuffer(1);
    buffer.appendString("x-é€");
    buffer.appendString("");
    expect(buffer.length).toBe(2 + 2 + 3);
    expect(buffer.equals(utf8("x-é€"))).toBe(true);
    buffer.clear();
    buffer.appendU32(0x04030201);
    buffer.appendU32(0);
    expect(buffer.length).toBe(8);
    expect(buffer.byteAt(0)).toBe(1);
    expect(buffer.byteAt(3)).toBe(4);
    expect(buffer.byteAt(7)).toBe(0);
  });

  it("sameBytes: every length up to 40, a difference at any place inside it found, one just past it ignored", () => {
    // Eight-byte loads, the overlapping last one, and the loads from both ends below eight
    // bytes each cover different places: every length and every place is tried, at an
    // odd offset too.
    const a = memory.data(64);
    const b = memory.data(64);
    let wrong = 0;
    for (let offset: usize = 0; offset < 2; offset++) {
      for (let n: usize = 0; n <= 40; n++) {
        for (let i: usize = 0; i < 48; i++) {
          store<u8>(a + i, <u8>(i * 7 + 1));
          store<u8>(b + i, <u8>(i * 7 + 1));
        }
        if (!sameBytes(a + offset, b + offset, n)) wrong++;
        for (let at: usize = 0; at <= n; at++) {
          store<u8>(b + offset + at, <u8>(load<u8>(a + offset + at) ^ 0x80));
          // Inside the n bytes: unequal; the byte right after them does not count.
          if (sameBytes(a + offset, b + offset, n) != (at == n)) wrong++;
          store<u8>(b + offset + at, load<u8>(a + offset + at));
        }
      }
    }
    expect(wrong).toBe(0);
  });
});
