// Stateless functions on a pool of worker threads: typed module proxies, pool.run, a
// self-contained function made async, and a timeout that is a coded error, not a hang.
// Run: node examples/pool.mjs
import { KeelError, Pool, asyncify } from 'keel';

const mathUrl = new URL('./workers/math.mjs', import.meta.url);
const kThreads = 2;
const pool = new Pool({ maxThreads: kThreads });

// Every export of the module, as an async function that runs on a pool thread.
const math = pool.module(mathUrl);
const startMs = performance.now();
const results = await Promise.all([25, 26, 27, 28].map((n) => math.fibonacci(n)));
const parallelMs = performance.now() - startMs;

// The same through pool.run, with a deadline: the thread running it is ended and replaced.
let timeout = 'none';
try {
  await pool.run(mathUrl, 'busyFor', [500], { timeoutMs: 20 });
} catch (error) {
  if (!(error instanceof KeelError)) throw error;
  timeout = error.code;
}

// A self-contained function (it must not use outer variables): its source runs on the pool.
const checksum = asyncify((bytes) => bytes.reduce((sum, byte) => (sum + byte) | 0, 0), { pool });
const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i);

console.log(
  `pool: fibonacci(25..28) = ${results.join(', ')} in ${parallelMs.toFixed(0)} ms ` +
    `on ${kThreads} threads; a 500 ms call with timeoutMs 20: ${timeout}; ` +
    `checksum ${await checksum(bytes)} on a worker, ${checksum.sync(bytes)} here`,
);
await pool.close();
