// A camera driver as a generator, run on its own worker thread by iterateInWorker (see
// examples/camera-frames.mjs). Each frame is written straight into the stream's arena
// (Arena.current()), so it crosses to the caller by reference: no copy on either side.
import { Arena } from 'keel';

export const kHeight = 480;
export const kWidth = 848;
export const kFrameBytes = kHeight * kWidth * 3;

/**
 * `count` RGB frames at about `fps` frames a second. Each frame starts with its index (4 bytes,
 * little-endian), so the caller can check that none was lost or reordered.
 * @param {{ count: number, fps: number }} options
 */
export async function* frames({ count, fps }) {
  const arena = Arena.current(); // this worker's handle on the arena given to iterateInWorker
  if (arena === undefined) throw new Error('frames() needs iterateInWorker(..., { arena })');
  const periodMs = 1000 / fps;
  const startMs = performance.now();
  for (let index = 0; index < count; index++) {
    await arena.waitForSpace(kFrameBytes); // the caller has not released enough yet: wait
    const frame = arena.allocate(Uint8Array, kFrameBytes, { zero: false }); // no memset
    capture(frame, index);
    yield frame; // crosses by reference and is handed over: never touch it again here
    const waitMs = startMs + (index + 1) * periodMs - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/** A stand-in for the sensor: a gradient that moves with the frame index. */
function capture(frame, index) {
  for (let row = 0; row < kHeight; row += 8) {
    frame.fill((row + index) & 0xff, row * kWidth * 3, (row + 1) * kWidth * 3);
  }
  new DataView(frame.buffer, frame.byteOffset, 4).setUint32(0, index, true);
}
