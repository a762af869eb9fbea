// Scenarios python-fetch and python-wake: a machine-scope SharedObject between Node and Python
// (python/keel_shared_object.py, run by python3 with numpy; bench/fixtures/python-bench.py).
//   fetch, fetch-into        Python's fetch() / fetch_into() of a 1.2 MB frame Node created
//   numpy-copy, numpy-copyto the same size copied by numpy alone (ndarray.copy(), allocating
//                            like fetch(); numpy.copyto() into a preallocated array, a memcpy)
//   node-to-python           Node triggers every 2 ms; Python's changed() wakes (Python side:
//                            time.monotonic_ns() - slot.mtime, one clock for both processes)
//   python-to-node           Python triggers every 2 ms; Node's changed() resolves
//                            (process.hrtime.bigint() - slot.mtime)
// µs. Skipped, with the reason in the settings line, when python3, numpy or keel's native
// layer (machine-scope slots) is missing.
//   node bench/cells/python.mjs --lib=fetch [--quick]
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { loadKeel, sourcesNote } from '../adapters/keel.mjs';
import { installedVersion } from '../adapters/pools.mjs';
import { kFrameBytes } from '../fixtures/frame.mjs';
import { parseFlags, runCell, summarizeUs } from '../lib/measure.mjs';

const kIntervalMs = 2;
const kFixture = fileURLToPath(new URL('../fixtures/python-bench.py', import.meta.url));
const kPythonPath = fileURLToPath(new URL('../../python/', import.meta.url));
const kCopyLibs = ['fetch', 'fetch-into', 'numpy-copy', 'numpy-copyto'];
const flags = parseFlags();
const lib = String(flags.lib);
const params = flags.quick ? { copies: 300, wakes: 300 } : { copies: 3_000, wakes: 2_000 };
const scenario = kCopyLibs.includes(lib) ? 'python-fetch' : 'python-wake';

runCell({ scenario, lib }, async () => {
  if (!kCopyLibs.includes(lib) && lib !== 'node-to-python' && lib !== 'python-to-node')
    throw new Error(`unknown --lib=${lib}`);
  const { keel, sources } = await loadKeel();
  const missing = whatIsMissing(keel);
  if (missing !== undefined) {
    return {
      version: installedVersion('keel'),
      settings: `skipped: ${missing}`,
      params,
      metrics: { p50Us: null, p99Us: null, maxUs: null },
    };
  }
  const name = `bench-python-${process.pid}`;
  const frame = new Uint8Array(kFrameBytes).fill(3);
  const slot = keel.SharedObject.create(name, kCopyLibs.includes(lib) ? frame : 0, {
    scope: 'machine',
    ...(kCopyLibs.includes(lib) ? { shape: [480, 848, 3] } : {}),
  });
  try {
    const samplesUs = kCopyLibs.includes(lib)
      ? await pythonSamples(lib.replace('numpy-', ''), name, params.copies)
      : lib === 'node-to-python'
        ? await wakePython(slot, name)
        : await wakeNode(slot, name);
    return {
      version: installedVersion('keel'),
      settings: `${settingsOf(lib)}; python3 ${pythonVersion()}${sourcesNote(sources, ['SharedObject'])}`,
      params: { intervalMs: kIntervalMs, ...params },
      metrics: summarizeUs(Float64Array.from(samplesUs)),
    };
  } finally {
    slot.close();
    keel.SharedObject.unlink(name);
  }
});

/** Why the scenario cannot run here, or undefined. */
function whatIsMissing(keel) {
  if (!keel.nativeStatus().loaded)
    return `keel's native layer is not loaded (${keel.nativeStatus().reason ?? 'unknown'})`;
  const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `python3 cannot be run (${probe.error.message})`;
  if (probe.status !== 0) return 'python3 has no numpy';
  return undefined;
}

function pythonVersion() {
  const probe = spawnSync(
    'python3',
    ['-c', 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)'],
    { encoding: 'utf8' },
  );
  return probe.stdout.trim();
}

function settingsOf(name) {
  switch (name) {
    case 'fetch':
      return 'slot.fetch() of a 480x848x3 uint8 frame, idle slot';
    case 'fetch-into':
      return 'slot.fetch_into(out), out preallocated once';
    case 'numpy-copy':
      return 'frame.copy() of a 1.2 MB uint8 array (allocates, like fetch())';
    case 'numpy-copyto':
      return 'numpy.copyto(out, frame), out preallocated once';
    case 'node-to-python':
      return `Node triggers every ${kIntervalMs} ms; Python changed(); monotonic_ns - mtime`;
    default:
      return `Python triggers every ${kIntervalMs} ms; Node await changed(); hrtime - mtime`;
  }
}

/** python-bench.py in `mode`; its JSON lines one by one. */
function startPython(mode, name, count) {
  const child = spawn('python3', [kFixture, mode, name, String(count)], {
    env: { ...process.env, PYTHONPATH: kPythonPath, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    exited,
    async next() {
      const { value, done } = await lines.next();
      if (done) throw new Error(`python3 ${mode} exited with code ${await exited}`);
      return JSON.parse(value);
    },
  };
}

async function pythonSamples(mode, name, count) {
  const python = startPython(mode, name, count);
  if ((await python.next()) !== 'ready') throw new Error('python3 did not start');
  const { samplesUs } = await python.next();
  await python.exited;
  return samplesUs;
}

async function wakePython(slot, name) {
  const python = startPython('wait', name, params.wakes);
  if ((await python.next()) !== 'ready') throw new Error('python3 did not start');
  const timer = setInterval(() => slot.trigger(), kIntervalMs);
  try {
    const { samplesUs } = await python.next();
    return samplesUs;
  } finally {
    clearInterval(timer);
    python.child.stdin.end();
    await python.exited;
  }
}

async function wakeNode(slot, name) {
  const python = startPython('trigger', name, kIntervalMs);
  if ((await python.next()) !== 'ready') throw new Error('python3 did not start');
  try {
    const warmup = Math.max(Math.floor(params.wakes / 10), 10);
    const samplesUs = [];
    for (let i = -warmup; i < params.wakes; i++) {
      await slot.changed({ timeoutMs: 5_000 });
      if (i >= 0) samplesUs.push(Number(process.hrtime.bigint() - slot.mtime) / 1000);
    }
    return samplesUs;
  } finally {
    python.child.stdin.end();
    await python.exited;
  }
}
