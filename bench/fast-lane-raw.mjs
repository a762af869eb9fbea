// Raw micro-benchmark of the fast lane (src/transport/fast-lane), against postMessage.
// Sequential no-op round trips main <-> one worker: 2,000 warm-up, then 20,000 measured calls
// per mode, each mode in a fresh worker. Prints p50/p99/max latency in µs and CPU µs per call
// (process.cpuUsage: every thread of the process, so a spinning worker is paid for here).
//
//   npm run build && node bench/fast-lane-raw.mjs [--calls=20000] [--warmup=2000] [--only=a,b]
//
// Modes:
//   postmessage   worker.postMessage -> parentPort echo -> main 'message' event
//   raw-atomics   a bare Int32 ping-pong: main Atomics.waitAsync <-> worker Atomics.wait (no lane)
//   raw-spin      a bare Int32 ping-pong, both sides spinning on Atomics.load (the ceiling;
//                 blocks the main event loop for the whole run, burns two cores)
//   lane-sleep    the lane with both spins off: caller Atomics.waitAsync, worker Atomics.wait
//   lane-sleep-async  the same, the worker parked in Atomics.waitAsync (its event loop runs)
//   lane-server   caller sleeps at once (waitAsync), the worker spins 100 µs before sleeping
//   lane-spin     the lane's default policy: caller adaptive spin <= 50 µs, worker 100 µs
//   lane-spin-obj the same, each call carrying { type: 'call', id, method, args: [i, 2] }
//   lane-hot      the lane with spinning forced: caller always spins 50 µs, worker 1 s
// Then the codec: encode + decode of small values, compact vs v8.serialize/v8.deserialize.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { deserialize, serialize } from 'node:v8';
import os from 'node:os';

const kLane = '../dist/transport/fast-lane/duplex.js';
const kLaneModes = {
  'lane-sleep': { callerSpinUs: 0, serverSpinUs: 0 },
  'lane-sleep-async': { callerSpinUs: 0, serverSpinUs: 0, serverAsync: true },
  'lane-server': { callerSpinUs: 0, serverSpinUs: 100 },
  'lane-spin': { callerSpinUs: 50, serverSpinUs: 100 },
  'lane-spin-obj': { callerSpinUs: 50, serverSpinUs: 100, asCall: true },
  'lane-hot': { callerSpinUs: 50, serverSpinUs: 1_000_000, forcedSpinUs: 50 },
};
const kAllModes = ['postmessage', 'raw-atomics', 'raw-spin', ...Object.keys(kLaneModes)];

if (!isMainThread) await runWorker(workerData);
else await main();

async function runWorker({ mode, lane, signal, spinUs, serverAsync }) {
  if (mode === 'postmessage') {
    parentPort.on('message', (value) => parentPort.postMessage(value));
    return;
  }
  if (mode === 'raw-atomics' || mode === 'raw-spin') {
    const words = new Int32Array(signal); // [0] request count, [1] response count, -1: stop
    for (let seen = 0; ;) {
      if (mode === 'raw-atomics') Atomics.wait(words, 0, seen);
      else while (Atomics.load(words, 0) === seen);
      seen = Atomics.load(words, 0);
      if (seen < 0) return;
      Atomics.store(words, 1, seen);
      if (mode === 'raw-atomics') Atomics.notify(words, 1);
    }
  }
  const { FastLaneServer, kNoMessage } = await import(kLane);
  const server = new FastLaneServer(lane, { spinUs });
  const wait = () => (serverAsync ? server.waitForRequestAsync() : server.waitForRequest());
  for (;;) {
    const request = server.receive();
    if (request !== kNoMessage) server.send(request);
    else if ((await wait()) === 'closed') break;
  }
  parentPort.postMessage(server.stats()); // its spin counters, for the notes column
}

function option(name, fallback) {
  const found = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return found === undefined ? fallback : found.slice(name.length + 3);
}

async function main() {
  const calls = Number(option('calls', 20_000));
  const warmup = Number(option('warmup', 2_000));
  const only = option('only', kAllModes.join(',')).split(',');
  console.log(
    `fast-lane raw round trips: node ${process.version}, ${os.cpus()[0]?.model}, ` +
      `${os.availableParallelism()} CPUs, load avg ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  console.log(`${calls} sequential no-op calls after ${warmup} warm-up, µs\n`);
  const rows = [];
  for (const mode of only) rows.push({ mode, ...(await measureMode(mode, calls, warmup)) });
  printTable(rows);
  console.log('');
  await printCodec();
}

async function measureMode(mode, calls, warmup) {
  const setup = await startMode(mode);
  let result;
  try {
    for (let i = 0; i < warmup; i++) await setup.call(i);
    const samplesUs = new Float64Array(calls);
    const cpuBefore = process.cpuUsage();
    const startMs = performance.now();
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await setup.call(i);
      samplesUs[i] = (performance.now() - t0) * 1000;
    }
    const wallMs = performance.now() - startMs;
    const cpu = process.cpuUsage(cpuBefore);
    samplesUs.sort();
    const at = (q) => samplesUs[Math.min(calls - 1, Math.ceil(q * calls) - 1)];
    result = {
      p50: at(0.5),
      p99: at(0.99),
      max: samplesUs[calls - 1],
      cpuUsPerCall: (cpu.user + cpu.system) / calls,
      wallUsPerCall: (wallMs * 1000) / calls,
    };
  } finally {
    await setup.stop();
  }
  return { ...result, extra: setup.extra?.() ?? '' }; // after stop: the worker's counters came
}

async function startMode(mode) {
  const url = new URL(import.meta.url);
  if (mode === 'postmessage') {
    const worker = new Worker(url, { workerData: { mode } });
    let resolveCall;
    worker.on('message', (value) => resolveCall(value));
    return {
      call: (value) =>
        new Promise((resolve) => {
          resolveCall = resolve;
          worker.postMessage(value);
        }),
      stop: () => worker.terminate(),
    };
  }
  if (mode === 'raw-atomics' || mode === 'raw-spin') return startRaw(url, mode);
  const settings = kLaneModes[mode];
  if (settings === undefined) throw new Error(`unknown mode ${mode}`);
  return startLane(url, mode, settings);
}

async function startLane(url, mode, settings) {
  const { callerSpinUs, serverSpinUs, serverAsync, asCall, forcedSpinUs } = settings;
  const { createFastLane, kNoMessage } = await import(kLane);
  const { caller, serverInit } = createFastLane({ spinUs: callerSpinUs });
  const worker = new Worker(url, {
    workerData: { mode, lane: serverInit, spinUs: serverSpinUs, serverAsync },
    transferList: [serverInit.port],
  });
  const waitOptions = { timeoutMs: 10_000, spinUs: forcedSpinUs };
  let serverStats;
  worker.on('message', (stats) => (serverStats = stats));
  return {
    async call(i) {
      caller.send(asCall ? { type: 'call', id: i, method: 'step', args: [i, 2] } : i);
      for (;;) {
        const answer = caller.receive();
        if (answer !== kNoMessage) return answer;
        const state = await caller.waitForResponse(waitOptions);
        if (state !== 'data') throw new Error(`${mode}: wait ended with ${state}`);
      }
    },
    extra() {
      const c = caller.stats();
      const w = serverStats ?? {};
      return (
        `caller spin hits/misses/sleeps ${c.spinHits}/${c.spinMisses}/${c.sleeps}; ` +
        `worker ${w.spinHits}/${w.spinMisses}/${w.sleeps}`
      );
    },
    async stop() {
      caller.close();
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

function startRaw(url, mode) {
  const signal = new SharedArrayBuffer(8);
  const words = new Int32Array(signal);
  const worker = new Worker(url, { workerData: { mode, signal } });
  let sent = 0;
  return {
    async call() {
      Atomics.store(words, 0, ++sent);
      if (mode === 'raw-spin') {
        while (Atomics.load(words, 1) !== sent);
        return;
      }
      Atomics.notify(words, 0);
      while (Atomics.load(words, 1) !== sent) {
        const waiter = Atomics.waitAsync(words, 1, sent - 1, 10_000);
        if (waiter.async && (await waiter.value) === 'timed-out')
          throw new Error(`${mode}: timeout`);
      }
    },
    async stop() {
      Atomics.store(words, 0, -1);
      Atomics.notify(words, 0);
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

function printTable(rows) {
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  console.log('| mode | p50 µs | p99 µs | max µs | CPU µs/call | wall µs/call | notes |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.mode} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ` +
        `${fmt(r.cpuUsPerCall)} | ${fmt(r.wallUsPerCall)} | ${r.extra} |`,
    );
  }
}

async function printCodec() {
  const { MessageDecoder, MessageEncoder } =
    await import('../dist/transport/fast-lane/message-encoding.js');
  const encoder = new MessageEncoder();
  const shared = new SharedArrayBuffer(64 * 1024);
  const bytes = new Uint8Array(shared);
  const decoder = new MessageDecoder(shared);
  const values = {
    undefined: undefined,
    'number 42.5': 42.5,
    "string 'hello world'": 'hello world',
    '[8 numbers]': [1, 2, 3, 4, 5, 6, 7, 8],
    "[7, 'step', [0.1, 0.2]]": [7, 'step', [0.1, 0.2]],
    "{ type: 'call', id, method, args }": { type: 'call', id: 7, method: 'step', args: [1, 2] },
  };
  const timeNs = (fn, n = 100_000) => {
    for (let i = 0; i < 20_000; i++) fn();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  console.log('| value | compact encode+decode ns | v8.serialize+deserialize ns |');
  console.log('|---|---|---|');
  for (const [name, value] of Object.entries(values)) {
    const compact = timeNs(() => {
      const n = encoder.encode(value);
      bytes.set(encoder.encodedBytes.subarray(0, n), 0);
      return decoder.decode(0, n);
    });
    const v8 = timeNs(() => deserialize(serialize(value)));
    console.log(`| ${name} | ${compact.toFixed(0)} | ${v8.toFixed(0)} |`);
  }
}
