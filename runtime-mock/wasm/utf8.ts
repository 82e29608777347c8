// UTF-8 encoding for the host's text (Node's decoding is fast already). Node's TextEncoder
// crosses into C++ on every call (0.5–1 µs even for a header name), and most of what the
// host encodes is short ASCII (header names and values, property paths, tokens), which a
// loop encodes in a fifth of that; a longer or non-ASCII string goes to TextEncoder, whose
// per-byte cost is lower.
const encoder = new TextEncoder();
const SHORT = 64;

/** The string's UTF-8 bytes (lone surrogates as U+FFFD, as TextEncoder writes them). */
export function utf8Bytes(text: string): Uint8Array {
  const length = text.length;
  if (length > SHORT) return encoder.encode(text);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return encoder.encode(text);
    out[i] = code;
  }
  return out;
}
