import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeelError } from 'keel';
import { QueuePool, serveQueue, type QueueWorker } from 'keel/queue';
import { eventually, rejectionOf } from './helpers.ts';
import { kCallerRoot, kNeedsRedis, kTasks, RedisServer, uniqueQueue } from './queue-helpers.ts';

// attempts: a job that fails is run again, up to `attempts` runs, and its caller gets one
// answer: the first success, or the last failure. A worker closed with force leaves its running
// jobs in Redis, where another worker takes them once their lock has expired.

describe('QueuePool retries and a forced worker close', { ...kNeedsRedis, timeout: 60_000 }, () => {
  let redis: RedisServer;
  let marks: string;
  const workers: QueueWorker[] = [];
  const pools: QueuePool[] = [];

  before(async () => {
    marks = mkdtempSync(join(tmpdir(), 'keel-queue-retries-'));
    redis = await RedisServer.start();
  });

  after(async () => {
    for (const pool of pools) await pool.close({ force: true });
    for (const worker of workers) await worker.close({ force: true });
    await redis?.stop();
    rmSync(marks, { recursive: true, force: true });
  });

  /** Runs of job `id` so far, by the lines its task appended. */
  const runsOf = (id: string): number =>
    existsSync(join(marks, `${id}.attempts`))
      ? readFileSync(join(marks, `${id}.attempts`), 'utf8')
          .trim()
          .split('\n').length
      : 0;

  const startWorker = async (
    queue: string,
    extra: { lockDurationMs?: number; stalledIntervalMs?: number } = {},
  ): Promise<QueueWorker> => {
    const worker = await serveQueue({
      connection: redis.url,
      queue,
      root: kCallerRoot,
      threads: 1,
      concurrency: 2,
      ...extra,
    });
    workers.push(worker);
    return worker;
  };

  const newPool = (queue: string): QueuePool => {
    const pool = new QueuePool({ connection: redis.url, queue, root: kCallerRoot });
    pools.push(pool);
    return pool;
  };

  it('a job that fails twice with attempts 3 answers once, with its third run', async () => {
    const queue = uniqueQueue('retry');
    await startWorker(queue);
    const pool = newPool(queue);
    const runs = await pool.run<number>(kTasks, 'failTimes', [marks, 'third', 2], { attempts: 3 });
    assert.equal(runs, 3);
    assert.equal(runsOf('third'), 3);
    assert.equal(pool.stats().pending, 0);
  });

  it('a job that keeps failing is rejected once, with its last run, after attempts runs', async () => {
    const queue = uniqueQueue('exhaust');
    const worker = await startWorker(queue);
    const pool = newPool(queue);
    const error = await rejectionOf(
      pool.run(kTasks, 'failTimes', [marks, 'always', 10], { attempts: 2 }),
    );
    assert.ok(error instanceof Error);
    assert.equal(error.message, 'run 2 of always failed');
    assert.equal(runsOf('always'), 2, 'run exactly attempts times');
    // No third run comes later, and the worker counts two failures for one job.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(runsOf('always'), 2);
    assert.equal(worker.stats().failed, 2);
  });

  it('a job without attempts runs once', async () => {
    const queue = uniqueQueue('once');
    await startWorker(queue);
    const pool = newPool(queue);
    const error = await rejectionOf(pool.run(kTasks, 'failTimes', [marks, 'once', 10]));
    assert.equal((error as Error).message, 'run 1 of once failed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(runsOf('once'), 1);
  });

  it('attempts outside 1..100 is ERR_INVALID_ARGUMENT before queueing', async () => {
    const pool = newPool(uniqueQueue('bad-attempts'));
    for (const attempts of [0, 101, 1.5]) {
      const error = await rejectionOf(pool.run(kTasks, 'add', [1, 2], { attempts }));
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.match(error.message, /attempts/);
    }
  });

  it('close({ force }) on a worker leaves its running job to another worker, answered once', async () => {
    const queue = uniqueQueue('forced-worker');
    const locks = { lockDurationMs: 1_000, stalledIntervalMs: 500 };
    const first = await startWorker(queue, locks);
    const pool = newPool(queue);
    const started = join(marks, 'handedOver.started');
    const runs = (): number =>
      existsSync(started) ? readFileSync(started, 'utf8').trim().split('\n').length : 0;
    // The first run would take 20 s, so it cannot answer before the forced close, however long
    // a loaded machine stalls this test; the second run takes 100 ms.
    const answer = pool.run<string>(kTasks, 'appendedSleepFirst', [
      marks,
      'handedOver',
      20_000,
      100,
    ]);
    await eventually(() => runs() === 1, 'the job started');
    const closingStarted = Date.now();
    await first.close({ force: true });
    assert.ok(Date.now() - closingStarted < 1_000, 'a forced close does not wait for the job');
    await startWorker(queue, locks);
    assert.equal(await answer, 'handedOver');
    assert.equal(runs(), 2, 'the second worker ran the job again');
    assert.equal(pool.stats().pending, 0);
  });
});
