// The job functions of examples/queue-pipeline.mjs. The caller names this file; each
// `keel worker` loads it from its own --root (the same checkout), on its local keel Pool.

/** A stand-in for a thumbnail: the mean of each 16-byte block of an image's bytes. */
export function thumbnail(image) {
  const { name, bytes } = image;
  const blocks = new Uint8Array(Math.ceil(bytes.length / 16));
  for (let block = 0; block < blocks.length; block++) {
    let sum = 0;
    const end = Math.min(bytes.length, (block + 1) * 16);
    for (let i = block * 16; i < end; i++) sum += bytes[i];
    blocks[block] = Math.round(sum / (end - block * 16));
  }
  return { name, thumbnail: blocks, worker: process.pid };
}
