// Scenario spawn-payload: a 1 MiB Uint8Array argument sent to one object in a dedicated worker
// or child process and returned (echo), one call at a time. Clone rows copy it both ways;
// transfer rows move its buffer both ways (the caller continues with the returned array); the
// keel-arena row carries it through an Arena both ways.
//   node bench/cells/spawn-payload.mjs --lib=comlink-transfer [--quick]
import { createRemote } from '../adapters/remotes.mjs';
import {
  parseFlags,
  runCell,
  startMeter,
  summarizeUs,
  timeSequential,
  withTimeout,
} from '../lib/measure.mjs';

const kPayloadBytes = 2 ** 20;
const kTail = 0x5a;
const flags = parseFlags();
const lib = String(flags.lib);
const params = flags.quick ? { warmup: 20, calls: 200 } : { warmup: 100, calls: 1_000 };

runCell({ scenario: 'spawn-payload', lib }, async () => {
  const remote = await createRemote(lib, 'echo');
  let payload = new Uint8Array(kPayloadBytes);
  payload[kPayloadBytes - 1] = kTail;
  const step = async (i) => {
    const back = await remote.echo(payload);
    if (!(back instanceof Uint8Array) || back.length !== kPayloadBytes || back.at(-1) !== kTail) {
      throw new Error(`call ${i}: the 1 MiB array did not come back intact`);
    }
    // Transfer rows must continue with the returned array (theirs is detached); the arena row
    // keeps sending its own array and gives the received view's space back.
    if (remote.release === undefined) payload = back;
    else remote.release(back);
  };
  await timeSequential(step, params.warmup, false);
  const meter = startMeter();
  const samplesUs = await timeSequential(step, params.calls);
  const usage = meter.stop();
  const extra = remote.stats?.() ?? {};
  const closed = await withTimeout(remote.close(), 10_000);
  return {
    version: remote.version,
    settings: remote.settings,
    params: { payloadBytes: kPayloadBytes, ...params },
    metrics: {
      ...summarizeUs(samplesUs),
      cpuUsPerCall: (usage.cpuUs + usage.childCpuUs) / params.calls,
      mainCpuUsPerCall: usage.mainCpuUs === null ? null : usage.mainCpuUs / params.calls,
      ...extra,
      closeMs: closed.ok ? closed.ms : null,
    },
  };
});
