// The SDK's cache of UTF-8 for strings named again and again (utf8-cache.ts): a hit is the
// bytes kept for that very string, never another's, and the strings a filter names per
// request all stay.
import { Utf8Cache, utf8Bytes } from "../utf8-cache";

const POOL: StaticArray<string> = [
  ":path", ":method", ":authority", "authorization", "x-user", "content-type", "www-authenticate",
  "cluster_a", "cluster_b", "x-request-id", "user-agent", "cookie",
];

describe("Utf8Cache", () => {
  it("finds the bytes kept for the very same string, and none for an equal copy", () => {
    const cache = new Utf8Cache();
    const bytes = String.UTF8.encode("x-user");
    cache.keep(POOL[4], bytes);
    expect(changetype<usize>(cache.find(POOL[4]))).toBe(changetype<usize>(bytes));
    const copy = "x-" + "user"; // equal text, another string
    expect(cache.find(copy)).toBeNull();
  });

  it("the dozen names a filter uses stay once kept, whatever their slots", () => {
    const cache = new Utf8Cache();
    for (let i = 0; i < POOL.length; i++) cache.keep(POOL[i], String.UTF8.encode(POOL[i]));
    let missing = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < POOL.length; i++) {
        const found = cache.find(POOL[i]);
        if (found === null) {
          missing++;
          cache.keep(POOL[i], String.UTF8.encode(POOL[i]));
        }
      }
    }
    // Three names contending for two slots would miss; a dozen in 32 slots almost never do
    // (moving entries on a keep made 21 misses here, hashing raw addresses 13).
    expect(missing).toBeLessThanOrEqual(1);
  });

  it("random keeps and finds over 64 strings never answer with another string's bytes", () => {
    const cache = new Utf8Cache();
    const texts = new Array<string>();
    for (let i = 0; i < 64; i++) texts.push("name-" + i.toString());
    let state: u32 = 7;
    let wrong = 0;
    for (let step = 0; step < 20_000; step++) {
      state = state * 1103515245 + 12345;
      const text = texts[(state >>> 10) % 64];
      const found = cache.find(text);
      if (found === null) cache.keep(text, String.UTF8.encode(text));
      else if (String.UTF8.decode(found) != text) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it("utf8Bytes encodes a string once while it is kept", () => {
    const first = utf8Bytes(POOL[3]);
    expect(changetype<usize>(utf8Bytes(POOL[3]))).toBe(changetype<usize>(first));
    expect(String.UTF8.decode(first)).toBe("authorization");
  });
});
