// Pool functions for examples/pipeline.mjs: the heavy stage of the pipeline, run on a worker
// thread. A task's export gets the item as its only argument.

/** A 3x3 box blur of a grey image; returns its mean brightness (a few ms of CPU). */
export function blur({ id, width, height, pixels }) {
  const out = new Float32Array(width * height);
  for (let pass = 0; pass < 4; pass++) {
    for (let y = 1; y < height - 1; y++) {
      for (let x = 1; x < width - 1; x++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) sum += pixels[(y + dy) * width + x + dx];
        }
        out[y * width + x] = sum / 9;
      }
    }
  }
  let total = 0;
  for (const value of out) total += value;
  return { id, mean: total / out.length };
}
