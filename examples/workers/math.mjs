// Functions for examples/pool.mjs. Every export can be called on a pool thread.

/** CPU-bound: the n-th Fibonacci number, the slow way. */
export function fibonacci(n) {
  return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

/** An async export: awaited in the worker. Blocks its thread for `ms` (a stand-in for work). */
export async function busyFor(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return ms;
}
