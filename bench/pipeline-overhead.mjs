// pipeline: what the machinery costs per item (plain JS over dist/; `npm run build` first):
//   node bench/pipeline-overhead.mjs [--items=200000] [--tasks=20000] [--rounds=5]
// - local stages: a `for await` applying the same sync functions by hand, against a pipeline of
//   1 and of 3 sync stages, and of one async stage at concurrency 8; ns of wall time per item.
// - task stage: a tiny export on a 2-thread Pool, called through a pipeline stage at
//   concurrency 4, against the same calls made by hand with at most 4 in flight (a loop over
//   pool.run), with and without an AbortSignal (what the stage passes unless
//   abortOnStop: false); µs per item.
// Medians of `rounds` rounds; the first round of each is a warmup and not counted.
import { Pool, pipeline, task } from '../dist/index.js';
import { parseFlags } from './lib/measure.mjs';

const flags = parseFlags();
const itemCount = Number(flags.items ?? 200_000);
const taskCount = Number(flags.tasks ?? 20_000);
const rounds = Number(flags.rounds ?? 5);
const tasksUrl = new URL('./fixtures/pipeline-task.mjs', import.meta.url);

const items = Array.from({ length: itemCount }, (_, index) => index);
const inc = (value) => value + 1;

async function timePerItem(count, run) {
  const samples = [];
  for (let round = 0; round <= rounds; round++) {
    const started = performance.now();
    const checksum = await run();
    const elapsedMs = performance.now() - started;
    if (typeof checksum !== 'number' || Number.isNaN(checksum)) throw new Error('bad checksum');
    if (round > 0) samples.push(elapsedMs / count);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

async function sum(iterable) {
  let total = 0;
  for await (const value of iterable) total += value;
  return total;
}

async function* byHand(source, fns) {
  for await (const value of source) {
    let result = value;
    for (const fn of fns) result = fn(result);
    yield result;
  }
}

async function byHandPool(pool, count, inFlight, signal) {
  const options = signal ? { signal } : {};
  let next = 0;
  let total = 0;
  async function lane() {
    while (next < count) {
      const value = next++;
      total += await pool.run(tasksUrl, 'double', [value], options);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  return total;
}

const rows = [];
const nsPerItem = async (label, count, run) => {
  rows.push([label, ((await timePerItem(count, run)) * 1e6).toFixed(0) + ' ns/item']);
};
await nsPerItem('for await, 1 fn by hand', itemCount, () => sum(byHand(items, [inc])));
await nsPerItem('pipeline, 1 sync stage', itemCount, () => sum(pipeline(items).pipe(inc).build()));
await nsPerItem('for await, 3 fns by hand', itemCount, () => sum(byHand(items, [inc, inc, inc])));
await nsPerItem('pipeline, 3 sync stages', itemCount, () =>
  sum(pipeline(items).pipe(inc).pipe(inc).pipe(inc).build()),
);
await nsPerItem('pipeline, 1 async stage, concurrency 8', itemCount, () =>
  sum(
    pipeline(items)
      .pipe(async (value) => value + 1, { concurrency: 8 })
      .build(),
  ),
);
await nsPerItem('pipeline, 1 sync stage, buffer 64', itemCount, () =>
  sum(pipeline(items).pipe(inc).build({ buffer: 64 })),
);

const pool = new Pool({ minThreads: 2, maxThreads: 2 });
const taskItems = items.slice(0, taskCount);
const usPerItem = async (label, count, run) => {
  rows.push([label, ((await timePerItem(count, run)) * 1e3).toFixed(2) + ' µs/item']);
};
await usPerItem('pool.run by hand, 4 in flight', taskCount, () => byHandPool(pool, taskCount, 4));
await usPerItem('pipeline task stage, concurrency 4', taskCount, () =>
  sum(
    pipeline(taskItems)
      .pipe(task(tasksUrl, 'double', { pool }), { concurrency: 4 })
      .build(),
  ),
);
await usPerItem('pipeline task stage, concurrency 4, unordered', taskCount, () =>
  sum(
    pipeline(taskItems)
      .pipe(task(tasksUrl, 'double', { pool }), { concurrency: 4 })
      .build({ ordered: false }),
  ),
);
await usPerItem('pool.run by hand, 4 in flight, each with a signal', taskCount, () =>
  byHandPool(pool, taskCount, 4, new AbortController().signal),
);
await usPerItem('pipeline task stage, concurrency 4, abortOnStop: false', taskCount, () =>
  sum(
    pipeline(taskItems)
      .pipe(task(tasksUrl, 'double', { pool, abortOnStop: false }), { concurrency: 4 })
      .build(),
  ),
);
await pool.close();

console.log(
  `node ${process.version}, ${rounds} rounds (medians), ${itemCount} local / ${taskCount} task items`,
);
for (const [label, value] of rows) console.log(`${label.padEnd(58)} ${value}`);
