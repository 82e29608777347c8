// Fibonacci hashing: a multiply by 2^32 / φ, whose top bits spread any run of keys (context
// ids in sequence, addresses a few blocks apart) evenly over a power-of-two table.

/** 2^32 / φ: consecutive keys land about 0.62 of the table apart. */
const FIBONACCI: u32 = 0x9e3779b9;

/** The slot of `key` in a table of 2^(32 − shift) slots. */
// @ts-ignore: decorator
@inline export function fibonacciSlot(key: u32, shift: u32): u32 {
  return (key * FIBONACCI) >>> shift;
}
