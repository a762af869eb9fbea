// The tick of examples/realtime-scheduling.mjs, run by RealtimeLoop.inWorker on the loop's own
// thread: a PD controller that drives one simulated joint toward a target that moves slowly.

const kGainP = 40;
const kGainD = 6;
let position = 0;
let velocity = 0;
let lastMs;

/** One control step: the time since the last one is integrated, never assumed. */
export function tick(nowMs) {
  const dt = lastMs === undefined ? 0.001 : (nowMs - lastMs) / 1000;
  lastMs = nowMs;
  const target = Math.sin(nowMs / 500);
  const torque = kGainP * (target - position) - kGainD * velocity;
  velocity += torque * dt;
  position += velocity * dt;
}
