// The robot without hardware: an arm of 8 joints, each a unit mass driven by a PD controller
// toward the target the policy last chose, simulated in the control loop itself. The loop's
// state is what a real controller keeps: joint positions and velocities, the ball's last seen
// position in the camera image, the current targets.
//
// One Controller lives in whichever thread runs the 1 kHz loop (the main thread, or the loop's
// worker in scenario 3). Every method is a handful of float operations: the loop's own work
// per tick is about a microsecond, so what the figures show is the scheduling.

import { kActionSize, kObservationSize } from '../workloads/policy.mjs';
import { frameIndex, locateBall } from './frames.mjs';

export const kJoints = kActionSize;
const kStiffness = 400; // PD gains per unit mass: a joint settles in about 0.15 s
const kDamping = 40;
const kTargetRange = 1.2; // an action of ±1 asks for ±1.2 rad

export class Controller {
  #positions = new Float64Array(kJoints);
  #velocities = new Float64Array(kJoints);
  #targets = new Float64Array(kJoints);
  #commands = new Float64Array(kJoints);
  #observation = new Float64Array(kObservationSize);
  #ball = { x: 0.5, y: 0.5 };
  #firstFrame = -1;
  #lastFrame = -1;
  /** Frames the vision looked at, and how many of them showed the ball. */
  framesSeen = 0;
  ballsFound = 0;

  /** Frames the camera published from the first one seen to the last (by their indices). */
  get framesSpanned() {
    return this.framesSeen === 0 ? 0 : this.#lastFrame - this.#firstFrame + 1;
  }

  /** Vision on a new camera frame (a copy or a SharedObject view: it only reads). */
  see(frame) {
    this.framesSeen++;
    this.#lastFrame = frameIndex(frame);
    if (this.#firstFrame < 0) this.#firstFrame = this.#lastFrame;
    const ball = locateBall(frame);
    if (ball === null) return;
    this.ballsFound++;
    this.#ball = ball;
  }

  /** A policy action (kJoints values in [-1, 1]) becomes the joints' targets. */
  setTargets(action) {
    for (let joint = 0; joint < kJoints; joint++) {
      this.#targets[joint] = kTargetRange * action[joint];
    }
  }

  /**
   * One control period of `dtS` seconds: the PD torque of each joint, applied to the simulated
   * arm (semi-implicit Euler). Returns the commands (reused: copy them to keep them).
   */
  step(dtS) {
    for (let joint = 0; joint < kJoints; joint++) {
      const error = this.#targets[joint] - this.#positions[joint];
      const command = kStiffness * error - kDamping * this.#velocities[joint];
      this.#commands[joint] = command;
      this.#velocities[joint] += command * dtS;
      this.#positions[joint] += this.#velocities[joint] * dtS;
    }
    return this.#commands;
  }

  /**
   * What the policy sees (kObservationSize values, reused): positions, velocities (scaled),
   * targets, the ball's position (centred on 0), zeros after that.
   */
  observe() {
    const observation = this.#observation;
    for (let joint = 0; joint < kJoints; joint++) {
      observation[joint] = this.#positions[joint];
      observation[kJoints + joint] = this.#velocities[joint] / 10;
      observation[2 * kJoints + joint] = this.#targets[joint];
    }
    observation[3 * kJoints] = this.#ball.x - 0.5;
    observation[3 * kJoints + 1] = this.#ball.y - 0.5;
    return observation;
  }
}
