// A 1 kHz control loop that keeps its deadlines while more threads compute than there are CPUs.
// The loop's worker asks for priority 'realtime' (SCHED_FIFO) on the last CPU and sleeps between
// ticks; a pool computes at priority 'background' (SCHED_IDLE) on every CPU. Where the OS refuses
// the realtime class (no CAP_SYS_NICE, `ulimit -r` 0), priorityFallback: 'normal' runs the loop
// anyway and the output says so. Needs keel's native layer. Run: node examples/realtime-scheduling.mjs
import { availableParallelism } from 'node:os';
import { Pool, RealtimeLoop } from 'keel';

const kSeconds = 2;
const kBusyThreads = availableParallelism() + 1;
const loopCpu = availableParallelism() - 1;

const pool = new Pool({ maxThreads: kBusyThreads, priority: 'background' });
const math = new URL('./workers/math.mjs', import.meta.url);
let running = true;
// Each pool thread computes without pause: 100 ms tasks, one after the other, until the end.
const busy = Array.from({ length: kBusyThreads }, async () => {
  while (running) await pool.run(math, 'busyFor', [100]);
});

const loop = await RealtimeLoop.inWorker(
  new URL('./workers/joint-control.mjs', import.meta.url),
  'tick',
  {
    hz: 1000,
    priority: 'realtime',
    cpus: [loopCpu],
    priorityFallback: 'normal',
  },
);
await new Promise((resolve) => setTimeout(resolve, kSeconds * 1000));
await loop.stop();
running = false;
await Promise.all(busy);
const poolPolicies = [...new Set(pool.scheduling().map((report) => report.policy))];
await pool.close();

const applied = loop.scheduling();
const loopClass = applied.fallback
  ? `${applied.policy} (realtime refused by the OS, see docs/realtime.md)`
  : `${applied.policy} ${applied.priority}`;
const { ticks, missed, jitterUs } = loop.stats();
console.log(
  `realtime loop: ${loopClass} on CPU ${applied.cpus.join(',')}; ${ticks} ticks, ${missed} missed, ` +
    `lateness p99 ${jitterUs.p99.toFixed(0)} µs beside ${kBusyThreads} busy pool threads (${poolPolicies.join(', ')})`,
);
