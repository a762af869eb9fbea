// A 1 kHz control loop on the main thread beside a policy that takes milliseconds per call.
// The policy lives in its own worker thread (spawn), so the loop never waits for it: every
// 10 ms the tick sends the latest observation if no call is in flight, and uses each answer
// when it arrives. Run: node examples/realtime-policy.mjs
import { RealtimeLoop, close, monitorLoop, spawn } from 'keel';

const kSeconds = 2;
const policyUrl = new URL('./workers/policy.mjs', import.meta.url);

const policy = await spawn(policyUrl, 'makePolicy', [{ seed: 7, repeat: 20 }]);
const monitor = monitorLoop({ blockMs: 5 });

const observation = new Float64Array(16);
let action = new Float64Array(4);
let inFlight = false;
let tickCount = 0;
let answers = 0;
let skipped = 0;
let busyMs = 0; // summed round trips of the policy calls

const loop = new RealtimeLoop({
  hz: 1000,
  tick(nowMs) {
    // The control law: a few microseconds, every millisecond.
    for (let i = 0; i < observation.length; i++) {
      observation[i] = Math.sin(nowMs / 100 + i) + 0.1 * action[i % action.length];
    }
    if (++tickCount % 10 !== 0) return; // the policy runs at 100 Hz
    if (inFlight) {
      skipped++; // the previous answer is not back yet: keep the last action
      return;
    }
    inFlight = true;
    const sentMs = performance.now();
    policy.act(observation).then(
      (next) => {
        action = next;
        answers++;
        busyMs += performance.now() - sentMs;
        inFlight = false;
      },
      (error) => loop.stop().finally(() => console.error(error)),
    );
  },
});

loop.start();
await new Promise((resolve) => setTimeout(resolve, kSeconds * 1000));
await loop.stop();
monitor.stop();

const { ticks, missed, jitterUs } = loop.stats();
const calls = await policy.calls; // an attribute read through the remote
await close(policy);

console.log(
  `loop: ${ticks} ticks, ${missed} missed, lateness p99 ${jitterUs.p99.toFixed(0)} µs; ` +
    `policy: ${answers} answers of ${calls} calls, ${(busyMs / answers).toFixed(1)} ms each, ` +
    `${skipped} slots skipped; ` +
    `event-loop delay p99 ${monitor.stats().delayMs.p99.toFixed(2)} ms`,
);
