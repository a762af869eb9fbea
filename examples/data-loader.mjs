// A DataLoader feeding a training loop: worker threads load the samples and collate them into
// batches ({ data, shape, dtype } tensors), in a seeded shuffled order, a few batches ahead of
// the loop; this thread only trains. Here: a logistic regression fitted by gradient descent.
// Run: node examples/data-loader.mjs
import { DataLoader } from 'keel';

const kEpochs = 3;
const kLearningRate = 0.5;

const loader = new DataLoader({
  dataset: new URL('./workers/points.mjs', import.meta.url), // exports length and getItem(i)
  batchSize: 64,
  numWorkers: 2,
  shuffle: true,
  seed: 1, // the same seed gives the same batches, whatever numWorkers is
});

const weights = new Float64Array(2);
let bias = 0;
let firstLoss;
let lastLoss = 0;
let batches = 0;
for (let epoch = 0; epoch < kEpochs; epoch++) {
  let epochLoss = 0;
  let epochBatches = 0;
  for await (const { x, y } of loader) {
    // x: { data: Float32Array(64 * 2), shape: [64, 2], dtype: 'float32' }; y: { data, shape: [64] }
    const [rows] = x.shape;
    const gradient = new Float64Array(2);
    let gradientBias = 0;
    let loss = 0;
    for (let i = 0; i < rows; i++) {
      const x0 = x.data[i * 2];
      const x1 = x.data[i * 2 + 1];
      const p = 1 / (1 + Math.exp(-(weights[0] * x0 + weights[1] * x1 + bias)));
      const error = p - y.data[i];
      gradient[0] += error * x0;
      gradient[1] += error * x1;
      gradientBias += error;
      loss -= y.data[i] === 1 ? Math.log(p) : Math.log(1 - p);
    }
    weights[0] -= (kLearningRate * gradient[0]) / rows;
    weights[1] -= (kLearningRate * gradient[1]) / rows;
    bias -= (kLearningRate * gradientBias) / rows;
    epochLoss += loss / rows;
    epochBatches++;
    firstLoss ??= loss / rows;
  }
  lastLoss = epochLoss / epochBatches;
  batches += epochBatches;
}
const epochs = loader.epoch;
await loader.close();

console.log(
  `data loader: ${epochs} epochs, ${batches} batches of 64 loaded and collated by 2 workers; ` +
    `loss ${firstLoss.toFixed(3)} on the first batch, ${lastLoss.toFixed(3)} over the last epoch; ` +
    `weights ${weights[0].toFixed(2)}, ${weights[1].toFixed(2)}`,
);
