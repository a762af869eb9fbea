// Scenario 3's control loop, run by `RealtimeLoop.inWorker(url, 'tick', { hz: 1000 })` on a
// dedicated worker. Everything it exchanges goes through SharedObjects (see slots.mjs): it
// reads the latest camera frame when there is a new one and the policy's latest action, steps
// the robot, and publishes its commands and the observation the policy should see next. Nothing
// here waits for another thread.

import { Controller } from './robot.mjs';
import { kLoopHz } from './rates.mjs';
import { openSlots } from './slots.mjs';
import { TickRecorder } from './timing.mjs';

let slots;
let controller;
let recorder;

/** Run once by RealtimeLoop.inWorker before the first tick. */
export function setup() {
  slots = openSlots();
  controller = new Controller();
  recorder = new TickRecorder(slots.ticks.fetch((value) => value.timesMs.length));
}

/** One control period. */
export function tick(nowMs) {
  if (slots.dump.triggered) publishTicks();
  recorder.record(nowMs);
  // fetch(fn) runs the vision on a view of the frame: nothing is copied.
  if (slots.frame.modified) slots.frame.fetch((frame) => controller.see(frame));
  if (slots.action.modified) controller.setTargets(slots.action.fetch());
  slots.command.assign(controller.step(1 / kLoopHz));
  slots.observation.assign(controller.observe());
}

/** Hands the tick times (and what the vision saw) to the main thread; recording stops. */
function publishTicks() {
  const recorded = recorder.freeze();
  const timesMs = new Float64Array(recorder.timesMs.length);
  timesMs.set(recorded);
  const { framesSeen, framesSpanned, ballsFound } = controller;
  slots.ticks.assign({ count: recorded.length, framesSeen, framesSpanned, ballsFound, timesMs });
}
