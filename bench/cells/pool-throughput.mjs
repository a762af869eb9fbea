// Scenario pool-throughput: 100,000 no-op tasks through a 2-thread pool with at most 64 in
// flight. Measures the pool's own per-task cost: tasks/s, CPU µs per task over all threads
// of the process, and the main thread's busy µs per task (what the caller's loop pays).
//   node bench/cells/pool-throughput.mjs --lib=poolifier [--quick]
import { poolAdapters } from '../adapters/pools.mjs';
import { parseFlags, runCell, runPipelined, startMeter, withTimeout } from '../lib/measure.mjs';

const kThreads = 2;
const kInFlight = 64;
const flags = parseFlags();
const lib = String(flags.lib);
const params = flags.quick ? { warmup: 2_000, tasks: 10_000 } : { warmup: 10_000, tasks: 100_000 };

runCell({ scenario: 'pool-throughput', lib }, async () => {
  const createAdapter = poolAdapters[lib];
  if (createAdapter === undefined) throw new Error(`unknown --lib=${lib}`);
  const pool = await createAdapter(kThreads);
  await runPipelined(pool.call, params.warmup, kInFlight);
  const meter = startMeter();
  await runPipelined(pool.call, params.tasks, kInFlight);
  const usage = meter.stop();
  const closed = await withTimeout(pool.close(), 10_000);
  return {
    version: pool.version,
    settings: pool.settings,
    params: { threads: kThreads, inFlight: kInFlight, ...params },
    metrics: {
      tasksPerSec: params.tasks / (usage.wallMs / 1000),
      cpuUsPerTask: usage.cpuUs / params.tasks,
      mainUsPerTask: usage.mainActiveUs / params.tasks,
      wallMs: usage.wallMs,
      closeMs: closed.ok ? closed.ms : null,
    },
  };
});
