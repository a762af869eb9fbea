// The demo's CPU-bound work: the forward pass of a small control policy, a multilayer
// perceptron of 32 observations -> 256 -> 256 -> 8 actions (tanh hidden layers, float64).
// It is evaluated over a batch of candidate observations, as a sampling-based controller
// does; the batch size is the knob the demo calibrates so that one call takes about 5 ms.
//
// The module is loaded by the main thread (the inline scenario, calibration) and by the worker
// of a `spawn`ed remote (`makePolicy`, the offloaded scenarios). Both build the same weights
// from the same seed, so both do exactly the same arithmetic.

export const kObservationSize = 32;
export const kHiddenSize = 256;
export const kActionSize = 8;

const kSeed = 0x6b65656c; // 'keel'
const kPerturbation = 0.05; // how far makePolicy's candidates stray from the observation
const kLayers = makeLayers([kObservationSize, kHiddenSize, kHiddenSize, kActionSize], kSeed);

/**
 * Actions for a batch of observations.
 * @param {Float64Array} observations batch × kObservationSize values, row-major
 * @returns {Float64Array} batch × kActionSize actions in [-1, 1]
 */
export function forward(observations) {
  if (!(observations instanceof Float64Array) || observations.length % kObservationSize !== 0) {
    throw new TypeError(
      `observations must be a Float64Array of batch × ${kObservationSize} values`,
    );
  }
  const batch = observations.length / kObservationSize;
  const actions = new Float64Array(batch * kActionSize);
  // Two scratch rows, reused for every sample: the hot loop allocates nothing.
  let input = new Float64Array(kHiddenSize);
  let output = new Float64Array(kHiddenSize);
  for (let sample = 0; sample < batch; sample++) {
    input.set(observations.subarray(sample * kObservationSize, (sample + 1) * kObservationSize));
    for (const layer of kLayers) {
      denseTanh(layer, input, output);
      [input, output] = [output, input];
    }
    actions.set(input.subarray(0, kActionSize), sample * kActionSize);
  }
  return actions;
}

/**
 * The policy as one stateful object, the shape `spawn(url, 'makePolicy', [{ batch }])` hosts.
 * `act(observation)` evaluates `batch` candidates around the observation (the observation plus
 * small fixed perturbations, as a sampling-based controller would) and returns the mean of
 * their actions: kActionSize values in [-1, 1]. Its cost is one forward() of the batch.
 * @param {{ batch: number }} options
 */
export function makePolicy({ batch }) {
  if (!(Number.isInteger(batch) && batch > 0)) {
    throw new RangeError(`batch must be a positive integer, got ${batch}`);
  }
  const perturbations = makeObservations(batch, 7);
  const candidates = new Float64Array(batch * kObservationSize);
  return {
    act(observation) {
      if (!(observation instanceof Float64Array) || observation.length !== kObservationSize) {
        throw new TypeError(`observation must be a Float64Array of ${kObservationSize} values`);
      }
      for (let i = 0; i < candidates.length; i++) {
        candidates[i] = observation[i % kObservationSize] + kPerturbation * perturbations[i];
      }
      return meanAction(forward(candidates), batch);
    },
  };
}

function meanAction(actions, batch) {
  const mean = new Float64Array(kActionSize);
  for (let i = 0; i < actions.length; i++) mean[i % kActionSize] += actions[i] / batch;
  return mean;
}

/** A deterministic batch of observations in [-1, 1] (the same values on every run). */
export function makeObservations(batch, seed = 1) {
  const random = mulberry32(seed);
  const observations = new Float64Array(batch * kObservationSize);
  for (let i = 0; i < observations.length; i++) observations[i] = random() * 2 - 1;
  return observations;
}

/** output[0..outputs) = tanh(weights · input + bias); `input` holds at least `inputs` values. */
function denseTanh({ weights, bias, inputs, outputs }, input, output) {
  for (let row = 0; row < outputs; row++) {
    let sum = bias[row];
    const offset = row * inputs;
    for (let column = 0; column < inputs; column++) sum += weights[offset + column] * input[column];
    output[row] = Math.tanh(sum);
  }
}

/** Layers with weights scaled by 1/sqrt(fan-in), so activations neither vanish nor saturate. */
function makeLayers(sizes, seed) {
  const random = mulberry32(seed);
  const layers = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const inputs = sizes[i];
    const outputs = sizes[i + 1];
    const scale = 1 / Math.sqrt(inputs);
    const weights = new Float64Array(inputs * outputs).map(() => (random() * 2 - 1) * scale);
    const bias = new Float64Array(outputs).map(() => (random() * 2 - 1) * 0.1);
    layers.push({ weights, bias, inputs, outputs });
  }
  return layers;
}

/** A small seeded PRNG (mulberry32): reproducible weights without a dependency. */
function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
