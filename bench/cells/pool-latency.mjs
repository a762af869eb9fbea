// Scenario pool-latency: no-op round trip through a 2-thread pool, one call at a time
// (await each). Measures what one small offloaded call costs the caller in wall time,
// which on an idle machine is dominated by waking a sleeping worker thread.
//   node bench/cells/pool-latency.mjs --lib=piscina [--quick]
import { poolAdapters } from '../adapters/pools.mjs';
import {
  parseFlags,
  runCell,
  runSequential,
  startMeter,
  summarizeUs,
  withTimeout,
} from '../lib/measure.mjs';

const kThreads = 2;
const flags = parseFlags();
const lib = String(flags.lib);
const params = flags.quick ? { warmup: 200, calls: 2_000 } : { warmup: 2_000, calls: 20_000 };

runCell({ scenario: 'pool-latency', lib }, async () => {
  const createAdapter = poolAdapters[lib];
  if (createAdapter === undefined) throw new Error(`unknown --lib=${lib}`);
  const pool = await createAdapter(kThreads);
  await runSequential(pool.call, params.warmup, false);
  const meter = startMeter();
  const samplesUs = await runSequential(pool.call, params.calls);
  const usage = meter.stop();
  const closed = await withTimeout(pool.close(), 10_000);
  return {
    version: pool.version,
    settings: pool.settings,
    params: { threads: kThreads, ...params },
    metrics: {
      ...summarizeUs(samplesUs),
      cpuUsPerCall: usage.cpuUs / params.calls,
      closeMs: closed.ok ? closed.ms : null,
    },
  };
});
