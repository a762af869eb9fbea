// A paced stream of 1.2 MB frames (one every 2 ms, through an arena) consumed two ways on the
// main thread (plain JS over dist/; `npm run build` first):
//   node bench/poll-frames.mjs [--frames=1000] [--interval-ms=2] [--rounds=2]
// - awaited: `for await` (each frame finds the loop asleep and wakes it);
// - polled: a 1 kHz timer loop that takes what has arrived with `tryNext()` (the loop never
//   sleeps on the stream, so the worker never wakes it).
// Prints main-thread CPU µs per frame (Linux schedstat); for the polled loop, beyond what the
// same timer loop costs without a stream.
import { Arena, iterateInWorker, release } from '../dist/index.js';
import { mainThreadCpuUs, parseFlags } from './lib/measure.mjs';

const flags = parseFlags();
const frames = Number(flags.frames ?? 1000);
const intervalMs = Number(flags['interval-ms'] ?? 2);
const rounds = Number(flags.rounds ?? 2);
const url = new URL('./fixtures/keel-stream.mjs', import.meta.url);
const arena = new Arena({ bytes: 64 * 2 ** 20 });
const open = () =>
  iterateInWorker(url, 'frames', [{ count: frames, intervalMs }], { arena, buffer: 4 });

async function awaited() {
  const startUs = mainThreadCpuUs();
  let received = 0;
  for await (const frame of open()) {
    release(frame);
    received++;
  }
  return (mainThreadCpuUs() - startUs) / received;
}

/** A 1 ms timer loop for `ticks` ticks, or until the stream ends when given one. */
async function timerLoop(stream, ticks) {
  const startUs = mainThreadCpuUs();
  let received = 0;
  let ticked = 0;
  await new Promise((resolve) => {
    const tick = () => {
      ticked++;
      let ended = stream === undefined && ticked >= ticks;
      if (stream !== undefined) {
        let result;
        while ((result = stream.tryNext()) !== undefined && result.done !== true) {
          release(result.value);
          received++;
        }
        ended = result?.done === true;
      }
      if (ended) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  return { cpuUs: mainThreadCpuUs() - startUs, received, ticked };
}

for (let round = 0; round < rounds; round++) {
  const awaitedUs = await awaited();
  const polled = await timerLoop(open());
  const idle = await timerLoop(undefined, polled.ticked);
  const perTickUs = idle.cpuUs / idle.ticked;
  const polledUs = (polled.cpuUs - perTickUs * polled.ticked) / polled.received;
  console.log(
    `awaited: ${awaitedUs.toFixed(1)} µs/frame | polled: ${polledUs.toFixed(1)} µs/frame ` +
      `(${polled.received} frames, ${polled.ticked} ticks; the timer loop alone ${perTickUs.toFixed(1)} µs/tick)`,
  );
}
