// The camera as a `spawn`ed object (scenarios 2 and 3): a worker thread that renders a frame
// 60 times a second and assigns it to a SharedObject the main thread created.

import { RealtimeLoop, SharedObject } from '../keel.mjs';
import { kFrameBytes, makeRenderer } from './frames.mjs';

/**
 * The camera as a `spawn`ed object: once started, it renders a frame `hz` times a second (a
 * RealtimeLoop on its own worker, timer-driven) and assigns it to the SharedObject `slot`,
 * which the main thread created. `stop()` ends it and reports what it did.
 * @param {{ slot: string, hz: number }} options
 */
export function makeCamera({ slot, hz }) {
  const output = SharedObject.open(slot);
  const frame = new Uint8Array(kFrameBytes);
  const render = makeRenderer();
  let published = 0;
  const loop = new RealtimeLoop({
    hz,
    spinUs: 0, // a camera needs no sub-millisecond precision: no polling before deadlines
    tick(nowMs) {
      render(frame, nowMs / 1000, published++);
      output.assign(frame);
    },
  });
  return {
    start() {
      loop.start();
    },
    async stop() {
      await loop.stop();
      output.close();
      const { ticks, missed } = loop.stats();
      return { published, ticks, missed };
    },
  };
}
