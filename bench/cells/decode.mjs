// Scenario decode: a real client's workload. JPEG files (224x224, quality 85, made once with
// jpeg-js's encoder and kept in the OS temp dir) are read, decoded, resized to 112x112 and
// normalised to Float32 (CHW), in batches of 32, by the same function in every row:
//   single          a loop on the calling thread (no workers);
//   keel-pipeline   pipeline(paths).pipe(task(url, 'decode', { pool })).aggregate(32), collated
//                   on the calling thread; the task returns move(sample);
//   keel-loader     DataLoader (numWorkers = availableParallelism), getItem decodes image i and
//                   returns move(sample); the workers collate, the caller joins chunks;
//   piscina         a Piscina pool and a hand-written window of tasks, each returning
//                   move(image); batches put together in order and collated on the caller.
// Reported: images/s, the calling thread's CPU per batch (Linux schedstat), all threads' CPU
// per batch, and the caller's event-loop delay (p99, max) while the batches come.
//   node bench/cells/decode.mjs --lib=keel-loader [--quick]
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { installedVersion } from '../adapters/pools.mjs';
import { checkBatch, collateImages, decodeFile, makeJpegFiles } from '../fixtures/decode-work.mjs';
import { parseFlags, runCell, startMeter, withTimeout } from '../lib/measure.mjs';

const flags = parseFlags();
const lib = String(flags.lib);
const kBatch = 32;
const kThreads = availableParallelism();
/** Tasks in flight for the rows that choose it (pipeline concurrency, piscina's window). */
const kInFlight = 4 * kThreads;
const kImage = { width: 224, height: 224, quality: 85 };
const params = flags.quick ? { images: 128, warmup: 64 } : { images: 256, warmup: 64 };
const kKeelTask = new URL('../fixtures/decode-keel.mjs', import.meta.url);
const kPiscinaTask = new URL('../fixtures/decode-piscina.mjs', import.meta.url);

/**
 * The JPEG files, made on first use and reused by the later cells and runs (encoding is slower
 * than decoding: seconds per hundred images). A marker file written last says the set is whole.
 */
function jpegFiles(count) {
  const { width, height, quality } = kImage;
  const dir = join(tmpdir(), `keel-bench-decode-${count}-${width}x${height}-q${quality}`);
  const done = join(dir, 'complete');
  const paths = Array.from({ length: count }, (_, index) =>
    join(dir, `image-${String(index).padStart(5, '0')}.jpg`),
  );
  if (existsSync(done)) return paths;
  makeJpegFiles(dir, { count, ...kImage });
  writeFileSync(done, `${count}\n`);
  return paths;
}

/** Batches of `paths`, in order: calls onBatch(batch, size) for each. One object per row. */
const rows = {
  single: async () => ({
    settings: 'a loop on the calling thread, one setImmediate between batches',
    async epoch(paths, onBatch) {
      for (let start = 0; start < paths.length; start += kBatch) {
        const images = [];
        const labels = [];
        for (let index = start; index < Math.min(start + kBatch, paths.length); index++) {
          const sample = decodeFile(paths[index], index);
          images.push(sample.image.data);
          labels.push(sample.label);
        }
        onBatch(collateImages(images, labels), images.length);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    close: async () => {},
  }),
  'keel-pipeline': async () => {
    const { Pool, pipeline, task } = await import('keel');
    const pool = new Pool({ minThreads: kThreads, maxThreads: kThreads });
    const decode = task(kKeelTask, 'decode', { pool });
    return {
      settings: `Pool minThreads=maxThreads=${kThreads}; task concurrency ${kInFlight}; aggregate(${kBatch}); collate on the caller`,
      async epoch(paths, onBatch) {
        const batches = pipeline(paths.map((path, index) => [path, index]))
          .pipe(decode, { concurrency: kInFlight })
          .aggregate(kBatch)
          .pipe((samples) =>
            collateImages(
              samples.map((sample) => sample.image.data),
              samples.map((sample) => sample.label),
            ),
          )
          .build();
        for await (const batch of batches) onBatch(batch, batch.image.shape[0]);
      },
      close: () => pool.close(),
      version: installedVersion('keel'),
    };
  },
  'keel-loader': async () => {
    const { DataLoader } = await import('keel');
    /** @type {InstanceType<typeof DataLoader> | undefined} */
    let loader;
    return {
      settings: `DataLoader numWorkers=${kThreads}, batchSize ${kBatch}, default chunkSize and prefetch, persistentWorkers`,
      async epoch(paths, onBatch) {
        loader ??= new DataLoader({
          dataset: { module: kKeelTask, factory: 'openJpegs', args: [paths] },
          batchSize: kBatch,
          numWorkers: kThreads,
          persistentWorkers: true,
        });
        for await (const batch of loader) onBatch(batch, batch.image.shape[0]);
      },
      close: async () => loader?.close(),
      version: installedVersion('keel'),
    };
  },
  piscina: async () => {
    const { Piscina } = await import('piscina');
    const pool = new Piscina({
      filename: kPiscinaTask.href,
      minThreads: kThreads,
      maxThreads: kThreads,
    });
    return {
      settings: `minThreads=maxThreads=${kThreads} (defaults otherwise); ${kInFlight} tasks in flight, results taken in order, collated on the caller`,
      async epoch(paths, onBatch) {
        const pending = [];
        let issued = 0;
        const issue = () => {
          pending.push(pool.run(paths[issued], { name: 'decode' }));
          issued++;
        };
        while (issued < Math.min(kInFlight, paths.length)) issue();
        for (let start = 0; start < paths.length; start += kBatch) {
          const images = [];
          const labels = [];
          for (let index = start; index < Math.min(start + kBatch, paths.length); index++) {
            images.push(await pending.shift());
            labels.push(index % 10);
            if (issued < paths.length) issue();
          }
          onBatch(collateImages(images, labels), images.length);
        }
      },
      close: () => pool.destroy(),
      version: installedVersion('piscina'),
    };
  },
};

runCell({ scenario: 'decode', lib }, async () => {
  const open = rows[lib];
  if (open === undefined) throw new Error(`unknown --lib=${lib}`);
  const paths = jpegFiles(params.images);
  const row = await open();
  let batches = 0;
  const onBatch = (batch, size) => {
    checkBatch(batch, size, `${lib} batch ${batches}`);
    batches++;
  };
  // Warm-up: workers started, code compiled. The loader reads a whole epoch (its dataset is
  // fixed); the other rows read the first `warmup` images.
  await row.epoch(lib === 'keel-loader' ? paths : paths.slice(0, params.warmup), onBatch);
  batches = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const meter = startMeter();
  await row.epoch(paths, onBatch);
  const usage = meter.stop();
  delay.disable();
  const closed = await withTimeout(row.close(), 10_000);
  const mainUs = usage.mainCpuUs ?? usage.mainActiveUs;
  return {
    version: row.version,
    settings: row.settings,
    params: { ...params, ...kImage, batch: kBatch, threads: kThreads },
    metrics: {
      imagesPerSec: params.images / (usage.wallMs / 1000),
      mainCpuUsPerBatch: mainUs / batches,
      cpuMsPerBatch: (usage.cpuUs + usage.childCpuUs) / 1000 / batches,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
      closeMs: closed.ok ? closed.ms : null,
    },
  };
});
