// A data pipeline: a light stage on this thread, a heavy one on a pool of worker threads,
// batches at the end, with bounded buffers between the stages. On a terminal, progress() draws
// a live view of every stage on stderr; in a pipe or a file it stays silent.
// Run: node examples/pipeline.mjs
import { Pool, pipeline, task } from 'keel';

const kImages = 300;
const kSide = 128;
const imagesUrl = new URL('./workers/images.mjs', import.meta.url);

/** The source: image ids, as a directory listing would give file names. */
function* imageIds(count) {
  for (let id = 0; id < count; id++) yield id;
}

/** A light stage on this thread: makes the image (a decoder would read a file here). */
function synthesize(id) {
  const pixels = new Uint8Array(kSide * kSide);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + id * 13) & 0xff;
  return { id, width: kSide, height: kSide, pixels };
}

/** The last stage: one call per batch. */
function summarize(batch) {
  return {
    first: batch[0].id,
    count: batch.length,
    mean: batch.reduce((s, r) => s + r.mean, 0) / batch.length,
  };
}

const pool = new Pool({ maxThreads: 2 });
const batches = pipeline(imageIds(kImages))
  .pipe(synthesize, { concurrency: 1 })
  .pipe(task(imagesUrl, 'blur', { pool }), { concurrency: 2 }) // two calls at once, on the pool
  .aggregate(50) // arrays of 50 results
  .pipe(summarize)
  .build({ ordered: true, buffer: 4, maxFailures: 0 })
  .progress(); // stderr, only when it is a terminal

let images = 0;
let batchCount = 0;
for await (const batch of batches) {
  if (batch.first !== images)
    throw new Error(`batch starting at ${batch.first}, expected ${images}`);
  images += batch.count;
  batchCount++;
}
const blurStage = batches.stats().find((stage) => stage.name === 'blur');
await pool.close();

console.log(
  `pipeline: ${images} images in ${batchCount} batches, in source order; ` +
    `blur ran ${blurStage?.outputs} times on the pool, ${blurStage?.taskMs.avg.toFixed(1)} ms a call, ` +
    `${blurStage?.failures} failures`,
);
