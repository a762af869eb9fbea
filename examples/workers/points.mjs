// A dataset for examples/data-loader.mjs, loaded once in each loader worker: 2,048 points in
// the plane from two overlapping clusters, labelled 0 or 1. A real dataset would read and
// decode files here; getItem may also be async.

export const length = 2048;

/** One sample: its coordinates and its label. Deterministic: the same index, the same sample. */
export function getItem(index) {
  const label = index % 2;
  const [u, v] = gaussianPair(index);
  const centre = label === 0 ? -1 : 1;
  return { x: Float32Array.of(centre + u, centre + v), y: label };
}

/** Two standard normal values from the index (Box-Muller over a hash of it). */
function gaussianPair(index) {
  const a = (hash(index * 2 + 1) + 0.5) / 2 ** 32;
  const b = (hash(index * 2 + 2) + 0.5) / 2 ** 32;
  const r = Math.sqrt(-2 * Math.log(a));
  return [r * Math.cos(2 * Math.PI * b), r * Math.sin(2 * Math.PI * b)];
}

function hash(n) {
  let h = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
