// A control policy as one stateful object: a small two-layer network whose forward pass takes
// a few milliseconds, far too long to run inside a 1 kHz tick. examples/realtime-policy.mjs
// hosts it with spawn(), so it runs on its own worker thread.

const kObservations = 16;
const kHidden = 512;
const kActions = 4;

/** @param {{ seed: number, repeat: number }} options `repeat` forward passes per act() */
export function makePolicy({ seed, repeat }) {
  const random = mulberry32(seed);
  const w1 = Float64Array.from({ length: kObservations * kHidden }, () => random() - 0.5);
  const w2 = Float64Array.from({ length: kHidden * kActions }, () => random() - 0.5);
  const hidden = new Float64Array(kHidden);
  let calls = 0;
  return {
    /** Actions in [-1, 1] for one observation (a Float64Array of 16 values). */
    act(observation) {
      calls++;
      const action = new Float64Array(kActions);
      for (let r = 0; r < repeat; r++) {
        for (let h = 0; h < kHidden; h++) {
          let sum = 0;
          for (let i = 0; i < kObservations; i++) sum += w1[i * kHidden + h] * observation[i];
          hidden[h] = Math.tanh(sum);
        }
        for (let a = 0; a < kActions; a++) {
          let sum = 0;
          for (let h = 0; h < kHidden; h++) sum += w2[h * kActions + a] * hidden[h];
          action[a] = Math.tanh(sum / kHidden);
        }
      }
      return action;
    },
    /** An attribute: read from the caller with `await policy.calls`. */
    get calls() {
      return calls;
    },
  };
}

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
