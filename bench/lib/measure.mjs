// Cell-side helpers: everything a bench cell needs to measure one (scenario, library) pair
// and hand one JSON line back to bench/index.mjs. Kept dependency-free so a cell process
// loads nothing but this file, the adapter and the library under test.
import { performance } from 'node:perf_hooks';

/** Marker that lets the orchestrator tell the result line from anything a library prints. */
export const kResultTag = 'keel-bench-result';

/**
 * Parses `--name=value` and bare `--flag` arguments into an object (`--quick` -> quick: true).
 * @param {string[]} argv
 */
export function parseFlags(argv = process.argv.slice(2)) {
  /** @type {Record<string, string | true>} */
  const flags = {};
  for (const arg of argv) {
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    if (eq === -1) flags[arg.slice(2)] = true;
    else flags[arg.slice(2, eq)] = arg.slice(eq + 1);
  }
  return flags;
}

/**
 * Nearest-rank percentile of an ascending-sorted array: the smallest sample such that at
 * least p % of the samples are <= it. No interpolation, so every figure is a real sample.
 * @param {ArrayLike<number>} sorted
 * @param {number} p in [0, 100]
 */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

/**
 * Summary of latency samples in µs: n, mean, p50, p90, p99, p99.9 and max.
 * @param {Float64Array} samplesUs (sorted in place)
 */
export function summarizeUs(samplesUs) {
  samplesUs.sort();
  let total = 0;
  for (const s of samplesUs) total += s;
  return {
    n: samplesUs.length,
    meanUs: total / samplesUs.length,
    p50Us: percentile(samplesUs, 50),
    p90Us: percentile(samplesUs, 90),
    p99Us: percentile(samplesUs, 99),
    p999Us: percentile(samplesUs, 99.9),
    maxUs: samplesUs[samplesUs.length - 1],
  };
}

/**
 * Starts a CPU + wall + main-thread-utilisation meter. process.cpuUsage() counts every
 * thread of the process (workers, GC helpers, libuv), which is the budget that matters on a
 * 2-core machine; eventLoopUtilization() isolates the main thread's share.
 */
export function startMeter() {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  return {
    /** @returns {{ wallMs: number, cpuUs: number, mainActiveUs: number }} */
    stop() {
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      return { wallMs, cpuUs: cpu.user + cpu.system, mainActiveUs: elu.active * 1000 };
    },
  };
}

/**
 * Calls `call` `count` times one after another, awaiting each; returns the per-call
 * round-trip times in µs (or nothing when `record` is false, for warm-up).
 * @param {(x: number) => Promise<unknown>} call
 * @param {number} count
 * @param {boolean} record
 */
export async function runSequential(call, count, record = true) {
  const samplesUs = new Float64Array(record ? count : 0);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const result = await call(0);
    const t1 = performance.now();
    if (record) samplesUs[i] = (t1 - t0) * 1000;
    // A library that silently drops or mangles the value must not win a latency race.
    if (result !== 0) throw new Error(`call ${i} returned ${String(result)}, expected 0`);
  }
  return samplesUs;
}

/**
 * Runs `total` calls keeping at most `inFlight` outstanding: `inFlight` lanes, each issuing
 * its next call when the previous one settles (a closed loop, like a server under load).
 * @param {(x: number) => Promise<unknown>} call
 * @param {number} total
 * @param {number} inFlight
 */
export async function runPipelined(call, total, inFlight) {
  let issued = 0;
  let wrong = 0;
  const lane = async () => {
    while (issued < total) {
      issued++;
      if ((await call(0)) !== 0) wrong++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
  if (wrong > 0) throw new Error(`${wrong} of ${total} calls returned a value other than 0`);
}

/**
 * Awaits `promise`, or gives up after `timeoutMs` and resolves to undefined. Used for close(),
 * whose hang must be reported, not wait forever.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} timeoutMs
 * @returns {Promise<{ ok: true, value: T, ms: number } | { ok: false, ms: number }>}
 */
export async function withTimeout(promise, timeoutMs) {
  const t0 = performance.now();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ ok: false }), timeoutMs);
  });
  const outcome = await Promise.race([promise.then((value) => ({ ok: true, value })), timeout]);
  clearTimeout(timer);
  return { ...outcome, ms: performance.now() - t0 };
}

/**
 * Prints the cell's single result line. The orchestrator takes the last line carrying
 * kResultTag; a cell run by hand prints it too, so a cell is debuggable on its own.
 * @param {Record<string, unknown>} result
 */
export function emitResult(result) {
  process.stdout.write(`${JSON.stringify({ tag: kResultTag, ...result })}\n`);
}

/**
 * Wraps a cell's body: emits `{ ok: false, error }` instead of a stack-only crash, so the
 * table shows why a cell is missing. Exits explicitly: a library that leaves a handle open
 * must not stall the whole run (close time is reported separately).
 * @param {{ scenario: string, lib: string }} id
 * @param {() => Promise<Record<string, unknown>>} body
 */
export function runCell(id, body) {
  body().then(
    (result) => {
      emitResult({ ...id, ok: true, ...result });
      process.exit(0);
    },
    (error) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      emitResult({ ...id, ok: false, error: message });
      process.exit(1);
    },
  );
}
