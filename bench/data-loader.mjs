// DataLoader throughput and the calling thread's cost per batch (plain JS over dist/;
// `npm run build` first):
//   node bench/data-loader.mjs [--batches=200] [--batch=64] [--side=64] [--work-us=200]
//                              [--workers=2]
// For each configuration (one chunk per batch or one chunk per worker; with and without an
// arena), one epoch of `batches` batches is read as fast as the loop can, after a warm-up epoch
// that starts the workers (persistentWorkers). Reported per configuration:
//   - batches/s and samples/s of the epoch;
//   - main CPU µs/batch: the main thread's own on-CPU time (Linux schedstat) per batch, joining
//     chunks and waiting included; ELU active ms/batch beside it (event-loop utilization).
import { performance } from 'node:perf_hooks';
import { Arena, DataLoader, release } from '../dist/index.js';
import { mainThreadCpuUs, parseFlags } from './lib/measure.mjs';

const flags = parseFlags();
const batches = Number(flags.batches ?? 200);
const batchSize = Number(flags.batch ?? 64);
const side = Number(flags.side ?? 64);
const workUs = Number(flags['work-us'] ?? 200);
const numWorkers = Number(flags.workers ?? 2);
const module = new URL('./fixtures/loader-images.mjs', import.meta.url);

async function measure({ chunkSize, useArena }) {
  const arena = useArena ? new Arena({ bytes: 256 * 2 ** 20 }) : undefined;
  const loader = new DataLoader({
    dataset: {
      module,
      factory: 'makeImages',
      args: [{ length: batches * batchSize, side, workUs }],
    },
    batchSize,
    chunkSize,
    numWorkers,
    persistentWorkers: true,
    ...(arena ? { arena } : {}),
  });
  for await (const batch of loader) release(batch); // warm-up: workers started, JIT warm
  const cpuStart = mainThreadCpuUs();
  const eluStart = performance.eventLoopUtilization();
  const started = performance.now();
  let count = 0;
  for await (const batch of loader) {
    if (batch.image.shape[0] !== batchSize) throw new Error('short batch');
    release(batch);
    count++;
  }
  const seconds = (performance.now() - started) / 1000;
  const elu = performance.eventLoopUtilization(eluStart);
  const cpuUs = mainThreadCpuUs() - cpuStart;
  await loader.close();
  arena?.close();
  return {
    chunkSize,
    arena: useArena,
    batchesPerSecond: Math.round(count / seconds),
    samplesPerSecond: Math.round((count * batchSize) / seconds),
    mainCpuUsPerBatch: Math.round(cpuUs / count),
    eluActiveMsPerBatch: Number((elu.active / count).toFixed(3)),
  };
}

const rows = [];
for (const chunkSize of [batchSize, Math.ceil(batchSize / numWorkers)]) {
  for (const useArena of [false, true]) rows.push(await measure({ chunkSize, useArena }));
}
console.log(
  `DataLoader: ${batches} batches of ${batchSize} ${side}x${side}x3 images, ` +
    `${workUs} µs of work per item, ${numWorkers} workers`,
);
console.table(rows);
