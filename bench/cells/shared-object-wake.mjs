// Scenario shared-object-wake: how long a SharedObject's `changed()` takes to resolve after a
// trigger in another thread (process-scope slot) or in another process (machine-scope slot,
// woken by a futex through keel's native layer). The peer triggers every 2 ms; the waiter
// measures process.hrtime.bigint() - slot.mtime as changed() resolves (both are
// CLOCK_MONOTONIC, comparable between processes). µs.
//   node bench/cells/shared-object-wake.mjs --lib=process [--quick]
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';

import { loadKeel, sourcesNote } from '../adapters/keel.mjs';
import { installedVersion } from '../adapters/pools.mjs';
import { parseFlags, runCell, summarizeUs } from '../lib/measure.mjs';

const kIntervalMs = 2;
const flags = parseFlags();
const lib = String(flags.lib);
const params = flags.quick ? { warmup: 50, wakes: 300 } : { warmup: 200, wakes: 2_000 };
const kPeer = new URL('../fixtures/shared-object-peer.mjs', import.meta.url);

runCell({ scenario: 'shared-object-wake', lib }, async () => {
  if (lib !== 'thread' && lib !== 'process') throw new Error(`unknown --lib=${lib}`);
  const { keel, sources } = await loadKeel();
  const name = `bench-wake-${process.pid}`;
  const slot = keel.SharedObject.create(name, 0, lib === 'process' ? { scope: 'machine' } : {});
  const peer = lib === 'process' ? await startProcessPeer(name) : await startThreadPeer(slot);
  try {
    const samplesUs = new Float64Array(params.wakes);
    for (let i = -params.warmup; i < params.wakes; i++) {
      await slot.changed({ timeoutMs: 5_000 });
      const lateUs = Number(process.hrtime.bigint() - slot.mtime) / 1000;
      if (i >= 0) samplesUs[i] = lateUs;
    }
    return {
      version: installedVersion('keel'),
      settings:
        `await slot.changed() while a ${lib === 'process' ? 'child process (machine-scope slot)' : 'worker thread (process-scope slot)'} triggers every ${kIntervalMs} ms; hrtime - mtime` +
        sourcesNote(sources, ['SharedObject']),
      params: { intervalMs: kIntervalMs, ...params },
      metrics: summarizeUs(samplesUs),
    };
  } finally {
    await peer.stop();
    slot.close();
    if (lib === 'process') keel.SharedObject.unlink(name);
  }
});

async function startThreadPeer(slot) {
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(kPeer, {
    workerData: { handle: slot, mode: 'trigger', intervalMs: kIntervalMs, stop },
  });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    async stop() {
      Atomics.store(new Int32Array(stop), 0, 1);
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

async function startProcessPeer(name) {
  const child = spawn(
    process.execPath,
    [kPeer.pathname, JSON.stringify({ name, mode: 'trigger', intervalMs: kIntervalMs })],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the peer process exited with code ${code}`)));
  });
  return {
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}
