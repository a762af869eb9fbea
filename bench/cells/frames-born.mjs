// Scenario frames-born: a pool function that allocates and fills a fresh 1.2 MB frame per call
// and returns it ("frames born in the worker": a decoder, a renderer, a camera grab), called one
// call at a time. Per row: the round trip, the caller's CPU, and the user function's own
// allocation time measured inside the worker (SPEC §6: no slower in a keel worker than in a
// piscina worker, within 10 %).
//   node bench/cells/frames-born.mjs --lib=keel-move [--quick] [--calls=5000]
import { bornFramesAdapters } from '../adapters/born-frames.mjs';
import { kFrameBytes, readBornFrame } from '../fixtures/born-frame.mjs';
import { parseFlags, runCell, startMeter, summarizeUs, withTimeout } from '../lib/measure.mjs';

const kThreads = 2;
const flags = parseFlags();
const lib = String(flags.lib);
const params = flags.quick
  ? { warmup: 50, calls: 300 }
  : { warmup: Number(flags.warmup ?? 500), calls: Number(flags.calls ?? 5_000) };

runCell({ scenario: 'frames-born', lib }, async () => {
  const createAdapter = bornFramesAdapters[lib];
  if (createAdapter === undefined) throw new Error(`unknown --lib=${lib}`);
  const pool = await createAdapter(kThreads);
  let seq = 0;
  const step = async (allocUs, index) => {
    const t0 = performance.now();
    const frame = await pool.make(++seq);
    const roundTripUs = (performance.now() - t0) * 1000;
    const inWorkerUs = readBornFrame(frame, seq, `${lib} call ${seq}`);
    pool.done(frame);
    if (allocUs) allocUs[index] = inWorkerUs;
    return roundTripUs;
  };
  for (let i = 0; i < params.warmup; i++) await step(undefined, 0);
  const samplesUs = new Float64Array(params.calls);
  const allocUs = new Float64Array(params.calls);
  const faults0 = process.resourceUsage().minorPageFault;
  const meter = startMeter();
  for (let i = 0; i < params.calls; i++) samplesUs[i] = await step(allocUs, i);
  const usage = meter.stop();
  const faults = process.resourceUsage().minorPageFault - faults0;
  const alloc = summarizeUs(allocUs);
  const closed = await withTimeout(pool.close(), 10_000);
  return {
    version: pool.version,
    settings: pool.settings,
    params: { threads: kThreads, frameBytes: kFrameBytes, ...params },
    metrics: {
      ...summarizeUs(samplesUs),
      cpuUsPerCall: usage.cpuUs / params.calls,
      mainUsPerCall: (usage.mainCpuUs ?? usage.mainActiveUs) / params.calls,
      allocP50Us: alloc.p50Us,
      allocP99Us: alloc.p99Us,
      allocMeanUs: alloc.meanUs,
      // Minor page faults of the whole process (every thread) per call: a fresh 1.2 MB frame
      // the allocator takes from new pages costs ~300.
      faultsPerCall: faults / params.calls,
      closeMs: closed.ok ? closed.ms : null,
    },
  };
});
