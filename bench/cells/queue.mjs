// Scenarios queue, queue-scaling and queue-chaos (SPEC §9 and §6's queue bars): keel/queue's
// QueuePool beside raw BullMQ on the same Redis (a redis-server this cell starts on a free
// loopback port, no persistence) with two worker processes each.
//   queue          keel: QueuePool -> 2 `keel worker` (1 thread, concurrency 50);
//                  bullmq: Queue.add + job.waitUntilFinished(QueueEvents) -> 2 plain BullMQ
//                  workers (concurrency 50, the function inline); bullmq-threads: the same
//                  with BullMQ's sandboxed processor in worker threads (useWorkerThreads), the
//                  raw form of running jobs off the main thread. Tiny jobs (echo 0): jobs/s
//                  with 200 in flight, then one job at a time (p50/p99 round trip).
//   queue-scaling  keel-1, keel-2: 10 ms CPU jobs on one or two `keel worker` processes
//                  (1 thread, concurrency 2 each): jobs/s.
//   queue-chaos    keel: 2,000 jobs of 20 ms (sleeping) on two workers (4 threads, concurrency
//                  8, locks of 1 s checked every 0.5 s); every second one worker is SIGKILLed
//                  and a new one started. Counts runs that got no result (lost) and results
//                  delivered twice (duplicated).
// Skipped, with the reason in the settings line, when redis-server is missing.
//   node bench/cells/queue.mjs --lib=keel [--quick]
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

import { installedVersion } from '../adapters/pools.mjs';
import {
  kRedisServer,
  kRoot,
  kTasks,
  startBullWorker,
  startKeelWorker,
  startRedis,
} from '../fixtures/queue-services.mjs';
import { parseFlags, runCell, runPipelined, startMeter, summarizeUs } from '../lib/measure.mjs';

const flags = parseFlags();
const lib = String(flags.lib);
const scenario = flags.scenario === undefined ? scenarioOf(lib) : String(flags.scenario);
const params = flags.quick
  ? { tiny: 2_000, inFlight: 200, sequential: 300, warmup: 200, cpuJobs: 80, chaosJobs: 500 }
  : {
      tiny: 20_000,
      inFlight: 200,
      sequential: 2_000,
      warmup: 1_000,
      cpuJobs: 400,
      chaosJobs: 2_000,
    };
const kCpuMs = 10;
const kNapMs = 20;
const kMissedEventMs = 10_000;

function scenarioOf(name) {
  if (name === 'keel-1' || name === 'keel-2') return 'queue-scaling';
  if (name === 'keel-chaos') return 'queue-chaos';
  return 'queue';
}

runCell({ scenario, lib }, async () => {
  if (kRedisServer === '') {
    return {
      version: installedVersion('bullmq'),
      settings: 'skipped: redis-server is not installed (Debian: apt-get install redis-server)',
      params,
      metrics: {},
    };
  }
  const redis = await startRedis();
  const versions = `redis ${redis.version}, bullmq ${installedVersion('bullmq')}, ioredis ${installedVersion('ioredis')}`;
  try {
    const { settings, metrics } = await measure(redis.url);
    return {
      version: lib.startsWith('bullmq') ? installedVersion('bullmq') : installedVersion('keel'),
      settings: `${settings}; ${versions}`,
      params,
      metrics,
    };
  } finally {
    redis.stop();
  }
});

function measure(url) {
  switch (lib) {
    case 'keel':
      return keelTiny(url);
    case 'bullmq':
      return bullTiny(url, 'inline');
    case 'bullmq-threads':
      return bullTiny(url, 'threads');
    case 'keel-1':
      return keelScaling(url, 1);
    case 'keel-2':
      return keelScaling(url, 2);
    case 'keel-chaos':
      return keelChaos(url);
    default:
      throw new Error(`unknown --lib=${lib}`);
  }
}

/** Jobs/s with `inFlight` outstanding, then sequential round trips; `call` must answer 0. */
async function tinyFigures(call) {
  await runPipelined(call, params.warmup, params.inFlight);
  const meter = startMeter();
  await runPipelined(call, params.tiny, params.inFlight);
  const { wallMs } = meter.stop();
  const samplesUs = new Float64Array(params.sequential);
  for (let i = 0; i < params.sequential; i++) {
    const t0 = performance.now();
    if ((await call(0)) !== 0) throw new Error('a job answered something other than 0');
    samplesUs[i] = (performance.now() - t0) * 1000;
  }
  const { p50Us, p99Us, maxUs } = summarizeUs(samplesUs);
  return { jobsPerSec: (params.tiny / wallMs) * 1000, p50Us, p99Us, maxUs };
}

async function keelWorkers(url, queue, count, workerFlags) {
  return Promise.all(Array.from({ length: count }, () => startKeelWorker(url, queue, workerFlags)));
}

async function keelTiny(url) {
  const { QueuePool } = await import('keel/queue');
  const queue = 'bench-tiny';
  const workers = await keelWorkers(url, queue, 2, ['--threads', '1', '--concurrency', '50']);
  const pool = new QueuePool({ connection: url, queue, root: kRoot });
  try {
    const metrics = await tinyFigures((x) => pool.run(kTasks, 'echo', [x]));
    return { settings: 'QueuePool; 2 keel worker processes, 1 thread, concurrency 50', metrics };
  } finally {
    await pool.close();
    await Promise.all(workers.map((worker) => worker.kill()));
  }
}

async function bullTiny(url, mode) {
  const require = createRequire(import.meta.url);
  const { Job, Queue, QueueEvents } = await import(require.resolve('bullmq'));
  const { Redis } = await import(require.resolve('ioredis'));
  const queue = `bench-tiny-${mode}`;
  const workers = await Promise.all([1, 2].map(() => startBullWorker(url, queue, 50, mode)));
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const producer = new Queue(queue, { connection });
  const events = new QueueEvents(queue, { connection: { url } });
  events.setMaxListeners(0);
  await events.waitUntilReady();
  try {
    // A completion that QueueEvents never delivers would leave waitUntilFinished waiting for
    // ever (a cell of this benchmark once did): after kMissedEventMs the job is read instead,
    // and the miss is counted in the settings line.
    let missed = 0;
    const call = async (x) => {
      const job = await producer.add('echo', [x], { removeOnComplete: 1_000, removeOnFail: 1_000 });
      try {
        return await job.waitUntilFinished(events, kMissedEventMs);
      } catch (error) {
        const stored = await Job.fromId(producer, job.id);
        if (stored?.finishedOn === undefined) throw error;
        missed++;
        return stored.returnvalue;
      }
    };
    const metrics = await tinyFigures(call);
    const misses =
      missed === 0
        ? ''
        : `; ${missed} completion events missed (job read after ${kMissedEventMs} ms)`;
    return {
      settings: `Queue.add + job.waitUntilFinished(QueueEvents); 2 BullMQ worker processes, concurrency 50, the function ${mode === 'inline' ? 'inline on the main thread' : 'in BullMQ worker threads (sandboxed processor)'}${misses}`,
      metrics,
    };
  } finally {
    await events.close();
    await producer.close();
    connection.disconnect();
    await Promise.all(workers.map((worker) => worker.kill()));
  }
}

async function keelScaling(url, count) {
  const { QueuePool } = await import('keel/queue');
  const queue = `bench-cpu-${count}`;
  const workers = await keelWorkers(url, queue, count, ['--threads', '1', '--concurrency', '2']);
  const pool = new QueuePool({ connection: url, queue, root: kRoot });
  try {
    let next = 0;
    const call = () => pool.run(kTasks, 'burn', [next++, kCpuMs]).then(() => 0);
    await runPipelined(call, 4 * count, 4 * count);
    const meter = startMeter();
    await runPipelined(call, params.cpuJobs, 8);
    const { wallMs } = meter.stop();
    return {
      settings: `${count} keel worker process(es), 1 thread, concurrency 2; ${kCpuMs} ms CPU jobs, 8 in flight`,
      metrics: { jobsPerSec: (params.cpuJobs / wallMs) * 1000 },
    };
  } finally {
    await pool.close();
    await Promise.all(workers.map((worker) => worker.kill()));
  }
}

async function keelChaos(url) {
  const { QueuePool } = await import('keel/queue');
  const queue = 'bench-chaos';
  const workerFlags = ['--threads', '4', '--concurrency', '8', '--lock-duration-ms', '1000'];
  workerFlags.push('--stalled-interval-ms', '500');
  const workers = await keelWorkers(url, queue, 2, workerFlags);
  const pool = new QueuePool({ connection: url, queue, root: kRoot });
  let kills = 0;
  let running = true;
  const killer = (async () => {
    while (running) {
      await sleep(1_000);
      if (!running) break;
      const victim = workers.shift();
      await victim.kill();
      kills++;
      workers.push(await startKeelWorker(url, queue, workerFlags));
    }
  })();
  try {
    const meter = startMeter();
    const ids = Array.from({ length: params.chaosJobs }, (_, id) => id);
    const outcomes = await Promise.allSettled(
      ids.map((id) => pool.run(kTasks, 'nap', [id, kNapMs], { timeoutMs: 120_000 })),
    );
    const { wallMs } = meter.stop();
    running = false;
    await killer;
    const delivered = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const seen = new Set();
    let duplicated = 0;
    let wrong = 0;
    delivered.forEach((outcome, index) => {
      if (seen.has(outcome.value)) duplicated++;
      seen.add(outcome.value);
      if (outcome.value !== ids[index]) wrong++;
    });
    return {
      settings: `2 keel worker processes (4 threads, concurrency 8, lock 1 s, stalled check 0.5 s); ${kNapMs} ms jobs; one worker SIGKILLed and replaced every second`,
      metrics: {
        lost: params.chaosJobs - delivered.length + wrong,
        duplicated,
        kills,
        wallMs,
        jobsPerSec: (params.chaosJobs / wallMs) * 1000,
      },
    };
  } finally {
    running = false;
    await killer;
    await pool.close({ force: true });
    await Promise.all(workers.map((worker) => worker.kill()));
  }
}
