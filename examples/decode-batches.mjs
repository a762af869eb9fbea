// A real decode workload: JPEG files decoded, resized and normalised to Float32 by DataLoader
// workers, which also stack them into batches of 32 ([32, 3, 112, 112] float32 tensors); this
// thread only receives batches, and its event loop stays free meanwhile (its delay is printed).
// Run: node examples/decode-batches.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { DataLoader } from 'keel';
import { makeJpegFiles } from './workers/jpeg-images.mjs';

const kImages = 64;
const dir = mkdtempSync(join(tmpdir(), 'keel-decode-example-'));
try {
  const paths = makeJpegFiles(dir, kImages, 160, 120);
  const loader = new DataLoader({
    dataset: {
      module: new URL('./workers/jpeg-images.mjs', import.meta.url),
      factory: 'openJpegs',
      args: [paths],
    },
    batchSize: 32,
    numWorkers: 2,
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  let batches = 0;
  let shape = [];
  let sum = 0;
  for await (const { image } of loader) {
    // image: { data: Float32Array(32 * 3 * 112 * 112), shape: [32, 3, 112, 112], dtype: 'float32' }
    shape = image.shape;
    for (let i = 0; i < image.data.length; i += 97) sum += image.data[i];
    batches++;
  }
  const ms = performance.now() - started;
  delay.disable();
  await loader.close();
  console.log(
    `decode: ${kImages} JPEG files in ${batches} batches of [${shape.join(', ')}] ${Number.isFinite(sum) ? 'finite' : 'NaN'} float32, ` +
      `decoded by 2 workers in ${Math.round(ms)} ms; event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
