// Conversions between the value types the SDK accepts and the bytes the host takes.

/** The empty buffer, shared: nothing can be written into it. */
// @ts-ignore: decorator
@lazy export const NO_BYTES = new ArrayBuffer(0);

/**
 * `buffer.byteLength`, inlined: the size-optimized build calls ArrayBuffer's getter (about
 * seven instructions a read) on paths that run for every request.
 */
// @ts-ignore: decorator
@inline export function byteLengthOf(buffer: ArrayBuffer): i32 {
  // The object header's last field, rtSize, sits right before the data (~lib/rt/common's
  // OBJECT), which is where the getter reads it too.
  return <i32>load<u32>(changetype<usize>(buffer) - RT_SIZE_BEFORE_DATA);
}

// @ts-ignore: decorator
@inline const RT_SIZE_BEFORE_DATA: usize = 4;

/** UTF-8 for strings; the bytes themselves for ArrayBuffer and Uint8Array. */
export function toBytes<T>(value: T): ArrayBuffer {
  if (isString<T>()) {
    // An empty body (a callout's, a local reply's) is common: no allocation for it.
    if (changetype<string>(value).length == 0) return NO_BYTES;
    return String.UTF8.encode(changetype<string>(value), false);
  } else if (idof<T>() == idof<ArrayBuffer>()) {
    return changetype<ArrayBuffer>(value);
  } else if (idof<T>() == idof<Uint8Array>()) {
    const view = changetype<Uint8Array>(value);
    return view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
  } else {
    ERROR("expected a string, ArrayBuffer or Uint8Array");
    return new ArrayBuffer(0);
  }
}
