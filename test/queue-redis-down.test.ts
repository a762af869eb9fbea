import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { KeelError } from 'keel';
import { QueuePool, serveQueue } from 'keel/queue';
import { rejectionOf } from './helpers.ts';
import {
  copyOfFixtures,
  freePort,
  kCallerRoot,
  kNeedsRedis,
  kTasks,
  RedisServer,
  startWorker,
  uniqueQueue,
  type WorkerProcess,
} from './queue-helpers.ts';

// A Redis that cannot be reached is ERR_UNAVAILABLE after connectTimeoutMs, never a hang; a
// Redis that dies mid-run rejects the runs it carried, and callers and workers carry on once
// it is back.

describe('QueuePool and serveQueue when Redis is down', { ...kNeedsRedis, timeout: 60_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('Redis down at start: run and serveQueue reject with ERR_UNAVAILABLE after connectTimeoutMs', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const pool = new QueuePool({ connection: url, queue: 'down', connectTimeoutMs: 400 });
    cleanups.push(() => pool.close({ force: true }));
    const startedMs = performance.now();
    const error = await rejectionOf(pool.run(kTasks, 'add', [1, 2]));
    const elapsedMs = performance.now() - startedMs;
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_UNAVAILABLE');
    assert.match(error.message, /connectTimeoutMs \(400 ms\)/);
    assert.ok(elapsedMs >= 350 && elapsedMs < 5_000, `${elapsedMs} ms`);
    assert.equal(pool.stats().connected, false);
    const serving = await rejectionOf(
      serveQueue({ connection: url, queue: 'down', threads: 1, connectTimeoutMs: 400 }),
    );
    assert.equal((serving as KeelError).code, 'ERR_UNAVAILABLE');
  });

  it('Redis killed mid-run: runs in flight reject, and both sides recover when it is back', async () => {
    const redis = await RedisServer.start();
    cleanups.push(() => redis.stop());
    const fixtures = copyOfFixtures();
    cleanups.push(fixtures.remove);
    const queue = uniqueQueue('down');
    const worker: WorkerProcess = await startWorker(redis.url, queue, fixtures.root);
    cleanups.push(() => worker.kill());
    const pool = new QueuePool({
      connection: redis.url,
      queue,
      root: kCallerRoot,
      connectTimeoutMs: 500,
    });
    cleanups.push(() => pool.close({ force: true }));
    assert.equal(await pool.run(kTasks, 'add', [1, 2]), 3);

    // Watched from the start: they reject as soon as the connection drops.
    const inFlight = [1, 2, 3].map((id) => rejectionOf(pool.run(kTasks, 'slowId', [id, 3_000])));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const killedMs = performance.now();
    await redis.kill();
    for (const outcome of inFlight) {
      const error = await outcome;
      assert.equal((error as KeelError).code, 'ERR_UNAVAILABLE');
    }
    assert.ok(performance.now() - killedMs < 2_000, 'the runs waited for the dead Redis');
    const whileDown = await rejectionOf(pool.run(kTasks, 'add', [1, 1]));
    assert.equal((whileDown as KeelError).code, 'ERR_UNAVAILABLE');

    await redis.restart();
    // The worker reconnects by itself (ioredis retries); the pool on its next run.
    const back = await pool.run(kTasks, 'add', [20, 22], { timeoutMs: 15_000 });
    assert.equal(back, 42);
    assert.equal(worker.child.exitCode, null, 'the worker exited while Redis was down');
  });
});
