// Scenario frames-pool: a 1.2 MB frame (480x848x3 Uint8Array) sent through a 2-thread pool to a
// worker function that returns it, one call at a time. keel's Pool with an Arena against each
// peer's transfer path (piscina/tinypool move, workerpool Transfer, poolifier transferList).
//   node bench/cells/frames-pool.mjs --lib=keel-arena [--quick]
import { poolBinaryAdapters } from '../adapters/pool-binary.mjs';
import { checkFrame, kFrameBytes, makeFrame } from '../fixtures/frame.mjs';
import {
  parseFlags,
  runCell,
  startMeter,
  summarizeUs,
  timeSequential,
  withTimeout,
} from '../lib/measure.mjs';

const kThreads = 2;
const flags = parseFlags();
const lib = String(flags.lib);
// Latency is measured in the steady state: on the 2-vCPU reference VM keel's path settles after
// ~5,000 round trips (V8 compiling it while both threads want a core, and the lanes' adaptive
// spin finding its pace), so every library gets the same 10,000 before the measured 2,000. The
// first `cold` calls are recorded too and reported beside the steady state (coldP50Us).
const params = flags.quick
  ? { cold: 50, warmup: 50, calls: 300 }
  : { cold: 2_000, warmup: Number(flags.warmup ?? 10_000), calls: 2_000 };

runCell({ scenario: 'frames-pool', lib }, async () => {
  const createAdapter = poolBinaryAdapters[lib];
  if (createAdapter === undefined) throw new Error(`unknown --lib=${lib}`);
  const pool = await createAdapter(kThreads);
  let frame = pool.adopt?.(makeFrame()) ?? makeFrame();
  const step = async (i) => {
    const back = await pool.echo(frame);
    checkFrame(back, `${lib} call ${i}`);
    frame = pool.next(frame, back);
  };
  const coldUs = await timeSequential(step, params.cold);
  await timeSequential(step, params.warmup - params.cold, false);
  const meter = startMeter();
  const samplesUs = await timeSequential(step, params.calls);
  const usage = meter.stop();
  const extra = pool.stats?.() ?? {};
  const closed = await withTimeout(pool.close(), 10_000);
  return {
    version: pool.version,
    settings: pool.settings,
    params: { threads: kThreads, frameBytes: kFrameBytes, ...params },
    metrics: {
      ...summarizeUs(samplesUs),
      coldP50Us: summarizeUs(coldUs).p50Us,
      cpuUsPerCall: usage.cpuUs / params.calls,
      mainUsPerCall: (usage.mainCpuUs ?? usage.mainActiveUs) / params.calls,
      ...extra,
      closeMs: closed.ok ? closed.ms : null,
    },
  };
});
