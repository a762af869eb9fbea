// Worker-side code for examples/shared-object.mjs: a sensor that publishes joint states into a
// SharedObject it opens by name, and a pool function that reads a slot whose handle it was given.
import { SharedObject } from 'keel';
import { setTimeout as sleep } from 'node:timers/promises';

/** A spawned object: publishes into the slot `slotName`, which the main thread created. */
export function makeSensor(slotName) {
  const joints = SharedObject.open(slotName);
  const state = new Float64Array(joints.shape[0]);
  return {
    /** Publishes `count` states, one every `intervalMs`; all seven values of state i are i. */
    async publish(count, intervalMs) {
      for (let i = 1; i <= count; i++) {
        state.fill(i);
        joints.assign(state); // never waits for a reader
        await sleep(intervalMs);
      }
      return count;
    },
    // close(sensor) runs this in the worker before it ends.
    [Symbol.dispose]() {
      joints.close();
    },
  };
}

/** A pool function: a handle crosses as an argument and still points at the same slot. */
export function spread(joints) {
  // fetch(fn) runs fn on a consistent view of the slot: nothing is copied.
  return joints.fetch((view) => Math.max(...view) - Math.min(...view));
}
