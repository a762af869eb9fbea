// Scenario spawn-latency: no-op round trip to one object in a dedicated worker or child process,
// one call at a time (await each). keel's spawn (thread and process) against comlink, a
// 1-thread piscina and the raw platform (postMessage, Atomics, fork IPC).
//   node bench/cells/spawn-latency.mjs --lib=keel-thread [--quick]
import { createRemote } from '../adapters/remotes.mjs';
import {
  parseFlags,
  runCell,
  runSequential,
  startMeter,
  summarizeUs,
  withTimeout,
} from '../lib/measure.mjs';

const flags = parseFlags();
const lib = String(flags.lib);
const params = flags.quick ? { warmup: 200, calls: 2_000 } : { warmup: 2_000, calls: 20_000 };

runCell({ scenario: 'spawn-latency', lib }, async () => {
  const remote = await createRemote(lib, 'call');
  await runSequential(remote.call, params.warmup, false);
  const meter = startMeter();
  const samplesUs = await runSequential(remote.call, params.calls);
  const usage = meter.stop();
  const closed = await withTimeout(remote.close(), 10_000);
  return {
    version: remote.version,
    settings: remote.settings,
    params,
    metrics: {
      ...summarizeUs(samplesUs),
      // The child's CPU too: a process row must not look cheap because its work is elsewhere.
      cpuUsPerCall: (usage.cpuUs + usage.childCpuUs) / params.calls,
      mainCpuUsPerCall: usage.mainCpuUs === null ? null : usage.mainCpuUs / params.calls,
      closeMs: closed.ok ? closed.ms : null,
    },
  };
});
