// The controller program: opens the camera's slot `argv[2]` by name (waiting for the camera to
// create it), says it is attached with a trigger, then wakes on each new frame (changed(), no
// polling) until frame 60, checking that every frame it reads is whole.
import { SharedObject } from 'keel';

const name = process.argv[2] ?? 'demo-camera';
const lastFrame = 60;

async function openWhenCreated() {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return SharedObject.open(name);
    } catch (error) {
      if (error.code !== 'ERR_NOT_FOUND' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Every byte equal to the first: the frame against itself shifted by one (a memcmp). */
function isWhole(bytes) {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.compare(view, 1, view.length, 0, view.length - 1) === 0;
}

const camera = await openWhenCreated();
const frame = new Uint8Array(480 * 848 * 3);
let seen = 0;
let previous = 0;
let torn = 0;
let latencyNs = 0n;
camera.fetchInto(frame); // marks the first frame read
const first = camera.changed({ timeoutMs: 10_000 });
camera.trigger();
await first; // our own trigger
while (frame[0] !== lastFrame) {
  // modified: a frame may have arrived between the last fetch and this line.
  if (!camera.modified) await camera.changed({ timeoutMs: 10_000 });
  // mtime is CLOCK_MONOTONIC, comparable between processes: the wake-up's latency.
  latencyNs += process.hrtime.bigint() - camera.mtime;
  camera.fetchInto(frame);
  if (!isWhole(frame)) torn++;
  if (frame[0] !== previous) seen++; // not our own trigger, which changed no bytes
  previous = frame[0];
}
camera.close();
const meanMs = Number(latencyNs / BigInt(seen)) / 1e6;
console.log(
  `controller: saw ${seen} of ${lastFrame} frames of 1.2 MB from the camera process by name, ` +
    `${torn} torn, mean wake-up ${meanMs.toFixed(2)} ms after the assign`,
);
