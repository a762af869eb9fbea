import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pipeline, task } from 'keel';
import { QueuePool } from 'keel/queue';
import {
  copyOfFixtures,
  kCallerRoot,
  kNeedsRedis,
  kTasks,
  RedisServer,
  startWorker,
  uniqueQueue,
  type WorkerProcess,
} from './queue-helpers.ts';

// A QueuePool is accepted wherever a pool is: a pipeline's task stage runs across worker
// processes with the stage's concurrency, order and failure rules.

type Tasks = typeof import('./fixtures/queue/tasks.mjs');

describe('a pipeline stage on a QueuePool', { ...kNeedsRedis, timeout: 60_000 }, () => {
  let redis: RedisServer;
  let fixtures: ReturnType<typeof copyOfFixtures>;
  let workers: WorkerProcess[] = [];
  let pool: QueuePool;
  const queue = uniqueQueue('pipeline');

  before(async () => {
    redis = await RedisServer.start();
    fixtures = copyOfFixtures();
    workers = await Promise.all([
      startWorker(redis.url, queue, fixtures.root),
      startWorker(redis.url, queue, fixtures.root),
    ]);
    pool = new QueuePool({ connection: redis.url, queue, root: kCallerRoot });
  });

  after(async () => {
    await pool?.close();
    await Promise.all(workers.map((worker) => worker.kill()));
    fixtures?.remove();
    await redis?.stop();
  });

  it('runs a task stage on the queue, in order, across both workers', async () => {
    const ids = Array.from({ length: 24 }, (_, index) => index);
    const run = pipeline(ids)
      .pipe(task<Tasks, 'slowId'>(kTasks, 'slowId', { pool }), { concurrency: 8 })
      .build();
    const answers: { id: number; pid: number }[] = [];
    for await (const answer of run) answers.push(answer);
    assert.deepEqual(
      answers.map((answer) => answer.id),
      ids,
    );
    const pids = new Set(answers.map((answer) => answer.pid));
    assert.deepEqual(pids, new Set(workers.map((worker) => worker.child.pid)));
  });

  it("a failing call follows the stage's failure rules", async () => {
    const run = pipeline([1, 2, 3])
      .pipe(task<Tasks, 'failType'>(kTasks, 'failType', { pool }))
      .build();
    await assert.rejects(async () => {
      for await (const answer of run) assert.fail(`an answer after a failure: ${String(answer)}`);
    }, TypeError);
  });

  it('refuses an object that only looks like a pool', () => {
    assert.throws(() => task(kTasks, 'add', { pool: { run: async () => 1 } as never }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /a Pool or a QueuePool/,
    });
  });
});
