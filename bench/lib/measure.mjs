// Cell-side helpers: everything a bench cell needs to measure one (scenario, library) pair
// and hand one JSON line back to bench/index.mjs. Kept dependency-free so a cell process
// loads nothing but this file, the adapter and the library under test.
import { readdirSync, readFileSync } from 'node:fs';
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
 * On-CPU time of one thread in µs, from Linux's /proc/<pid>/task/<tid>/schedstat (ns
 * precision); undefined where /proc does not have it.
 */
function threadCpuUs(pid, tid) {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

/** On-CPU µs of this process's main thread alone (Linux), or undefined. */
export function mainThreadCpuUs() {
  return threadCpuUs(process.pid, process.pid);
}

/**
 * On-CPU µs of every live thread of each child process of this one, by pid (Linux; empty
 * elsewhere). process.cpuUsage() never counts children, yet a child that serves calls spends
 * the same machine's cores.
 * @returns {Map<number, number>}
 */
function childrenCpuUs() {
  const byPid = new Map();
  let pids;
  try {
    pids = readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim().split(/\s+/);
  } catch {
    return byPid;
  }
  for (const pid of pids.filter(Boolean)) {
    try {
      let total = 0;
      for (const tid of readdirSync(`/proc/${pid}/task`)) total += threadCpuUs(pid, tid) ?? 0;
      byPid.set(Number(pid), total);
    } catch {
      // The child exited meanwhile.
    }
  }
  return byPid;
}

/**
 * Starts a CPU + wall + main-thread meter. process.cpuUsage() counts every thread of the
 * process (workers, GC helpers, libuv), which is the budget that matters on a 2-core machine;
 * child processes alive at both ends are added separately (childCpuUs). For the main thread
 * alone: eventLoopUtilization() (wall time the loop was not idle, descheduled time included)
 * and, on Linux, its own on-CPU time (mainCpuUs; null elsewhere).
 */
export function startMeter() {
  const cpu0 = process.cpuUsage();
  const children0 = childrenCpuUs();
  const mainCpu0 = mainThreadCpuUs();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  return {
    /** @returns {{ wallMs: number, cpuUs: number, childCpuUs: number, mainActiveUs: number, mainCpuUs: number | null }} */
    stop() {
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      const mainCpu1 = mainThreadCpuUs();
      let childCpuUs = 0;
      for (const [pid, us] of childrenCpuUs()) {
        if (children0.has(pid)) childCpuUs += us - children0.get(pid);
      }
      return {
        wallMs,
        cpuUs: cpu.user + cpu.system,
        childCpuUs,
        mainActiveUs: elu.active * 1000,
        mainCpuUs: mainCpu0 === undefined || mainCpu1 === undefined ? null : mainCpu1 - mainCpu0,
      };
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
 * Awaits `step(i)` `count` times one after another; returns each one's time in µs (nothing
 * when `record` is false, for warm-up). `step` checks its own result.
 * @param {(i: number) => Promise<unknown>} step
 * @param {number} count
 * @param {boolean} record
 */
export async function timeSequential(step, count, record = true) {
  const samplesUs = new Float64Array(record ? count : 0);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await step(i);
    if (record) samplesUs[i] = (performance.now() - t0) * 1000;
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
