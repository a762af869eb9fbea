// Round trips of no-op calls, sync against async functions, through a 1-thread Pool and a
// thread remote (plain JS over dist/; `npm run build` first):
//   node bench/async-calls.mjs [--calls=3000] [--warmup=3000]
// An async function answers after its promise settles on the worker's event loop; a worker
// that spun for the next call before that turn (keel before 2026-11-21, session 3) held its own
// answer back by the spin window. Prints p50/p99 µs per kind of function.
import { Pool, close, spawn } from '../dist/index.js';
import { parseFlags } from './lib/measure.mjs';

const flags = parseFlags();
const calls = Number(flags.calls ?? 3000);
const warmup = Number(flags.warmup ?? 3000);
const url = new URL('./fixtures/async-functions.mjs', import.meta.url);
const kinds = ['syncNoop', 'asyncNoop', 'asyncHops'];

async function measure(call) {
  for (let i = 0; i < warmup; i++) await call(i);
  const samples = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const startMs = performance.now();
    await call(i);
    samples[i] = (performance.now() - startMs) * 1000;
  }
  samples.sort();
  return { p50Us: round(samples[calls >> 1]), p99Us: round(samples[Math.floor(calls * 0.99)]) };
}

function round(value) {
  return Math.round(value * 10) / 10;
}

const results = {};
const pool = new Pool({ minThreads: 1, maxThreads: 1 });
for (const kind of kinds) results[`pool ${kind}`] = await measure((i) => pool.run(url, kind, [i]));
await pool.close();
const remote = await spawn(url, 'make', []);
for (const kind of kinds) results[`remote ${kind}`] = await measure((i) => remote[kind](i));
await close(remote);
console.table(results);
