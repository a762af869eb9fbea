// The SharedObjects the offloaded scenarios share between threads, by name. The main thread
// creates them (createSlots); the camera's worker and the loop's worker open the ones they use.
//
//   frame        camera worker -> loop        the latest 480x848x3 frame
//   observation  loop -> main thread          what the policy should look at (scenario 3)
//   action       main thread -> loop          the policy's latest answer (scenario 3)
//   command      loop -> (the robot's driver) the joint commands of the latest tick
//   ticks        loop worker -> main thread   the loop's tick times, published once at the end
//   dump         main thread -> loop worker   a trigger: "publish your tick times now"

import { SharedObject } from '../keel.mjs';
import { kActionSize, kObservationSize } from '../workloads/policy.mjs';
import { kFrameBytes, kFrameShape } from './frames.mjs';
import { tickCapacity } from './timing.mjs';

export const kSlotNames = {
  frame: 'demo.camera.frame',
  observation: 'demo.robot.observation',
  action: 'demo.policy.action',
  command: 'demo.robot.command',
  ticks: 'demo.loop.ticks',
  dump: 'demo.loop.dump',
};

/**
 * Main thread: creates every slot; the `ticks` slot holds the tick times of a loop that runs for
 * `seconds`. `close()` closes these handles and removes the names (workers' handles live on).
 */
export function createSlots({ seconds }) {
  const slots = {
    frame: SharedObject.create(kSlotNames.frame, new Uint8Array(kFrameBytes), {
      shape: kFrameShape,
    }),
    observation: SharedObject.create(kSlotNames.observation, new Float64Array(kObservationSize)),
    action: SharedObject.create(kSlotNames.action, new Float64Array(kActionSize)),
    command: SharedObject.create(kSlotNames.command, new Float64Array(kActionSize)),
    ticks: SharedObject.create(kSlotNames.ticks, {
      count: 0,
      framesSeen: 0,
      framesSpanned: 0,
      ballsFound: 0,
      timesMs: new Float64Array(tickCapacity(seconds)),
    }),
    dump: SharedObject.create(kSlotNames.dump, null),
  };
  return {
    ...slots,
    close() {
      for (const [key, slot] of Object.entries(slots)) {
        slot.close();
        SharedObject.unlink(kSlotNames[key]);
      }
    },
  };
}

/** Any keel worker of this process: a handle on every slot, by name. */
export function openSlots() {
  return Object.fromEntries(
    Object.entries(kSlotNames).map(([key, name]) => [key, SharedObject.open(name)]),
  );
}
