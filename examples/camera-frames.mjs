// Camera frames from a worker thread to this one through an Arena: the worker writes each
// 1.2 MB frame into shared memory and this thread reads it in place, with no copy and no
// structured cloning. Run: node examples/camera-frames.mjs
import { Arena, iterateInWorker, release } from 'keel';

const cameraUrl = new URL('./workers/camera.mjs', import.meta.url);
const arena = new Arena({ bytes: 16 * 2 ** 20 }); // room for a dozen frames in flight

let received = 0;
let frameBytes = 0;
let expected = 0;
let brightness = 0;
const startMs = performance.now();
for await (const frame of iterateInWorker(cameraUrl, 'frames', [{ count: 120, fps: 60 }], {
  arena,
  buffer: 4, // the camera runs at most 4 frames ahead of this loop
})) {
  const index = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0, true);
  if (index !== expected) throw new Error(`frame ${index} arrived, ${expected} was due`);
  expected++;
  received++;
  frameBytes = frame.byteLength;
  brightness += frame[frame.length >> 1]; // "process" the frame: it is a Uint8Array over the arena
  release(frame); // its space goes back to the camera now, not at the next garbage collection
}
const seconds = (performance.now() - startMs) / 1000;

const { fallbacks, highWaterBytes } = arena.stats();
arena.close();
console.log(
  `camera: ${received} frames of ${(frameBytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s, ` +
    `in order, ${fallbacks} copied instead of shared, arena high-water ${(highWaterBytes / 2 ** 20).toFixed(1)} MiB ` +
    `(mean sample ${Math.round(brightness / received)})`,
);
