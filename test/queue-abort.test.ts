import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { KeelError } from 'keel';
import { QueuePool } from 'keel/queue';
import { eventually, rejectionOf } from './helpers.ts';
import {
  kCallerRoot,
  kNeedsRedis,
  kTasks,
  RedisServer,
  startQueueRig,
  type QueueRig,
} from './queue-helpers.ts';

// timeoutMs and signal withdraw a job wherever it is: a waiting job is removed from the queue
// and never runs; a running one is stopped on its worker. Priorities order waiting jobs.
// One worker with one thread taking one job at a time makes "waiting" and "running" certain.

describe('QueuePool timeout, abort and priority', { ...kNeedsRedis, timeout: 60_000 }, () => {
  let redis: RedisServer;
  let pool: QueuePool;
  let marks: string;
  let queue: string;
  let rig: QueueRig;

  before(async () => {
    marks = mkdtempSync(join(tmpdir(), 'keel-queue-marks-'));
    rig = await startQueueRig('abort', ['--threads', '1', '--concurrency', '1']);
    ({ redis, queue } = rig);
    pool = new QueuePool({ connection: redis.url, queue, root: kCallerRoot });
  });

  after(async () => {
    await pool?.close({ force: true });
    rmSync(marks, { recursive: true, force: true });
    await rig?.stop();
  });

  const started = (id: string): boolean => existsSync(join(marks, `${id}.started`));
  const done = (id: string): boolean => existsSync(join(marks, `${id}.done`));

  it('a waiting job that times out or is aborted is removed and never runs', async () => {
    const blocker = pool.run(kTasks, 'markedSleep', [marks, 'blocker', 1_500]);
    await eventually(() => started('blocker'), 'blocker started');
    const timedOut = pool.run(kTasks, 'markedSleep', [marks, 'waitTimeout', 10], {
      timeoutMs: 300,
    });
    const controller = new AbortController();
    const aborted = pool.run(kTasks, 'markedSleep', [marks, 'waitAbort', 10], {
      signal: controller.signal,
    });
    const timeout = await rejectionOf(timedOut);
    assert.ok(timeout instanceof KeelError);
    assert.equal(timeout.code, 'ERR_TIMEOUT');
    assert.equal(timeout.name, 'TimeoutError');
    controller.abort();
    const abort = (await rejectionOf(aborted)) as Error;
    assert.equal(abort.name, 'AbortError');
    assert.equal(await blocker, 'blocker');
    // The single slot is free: a job still queued would start now. Neither does.
    assert.equal(await pool.run(kTasks, 'add', [1, 1]), 2);
    await sleep(300);
    assert.ok(!started('waitTimeout') && !started('waitAbort'));
  });

  it('a running job that times out or is aborted is stopped on its worker', async () => {
    const controller = new AbortController();
    const reason = new Error('user gave up');
    const aborted = pool.run(kTasks, 'markedSleep', [marks, 'runAbort', 1_500], {
      signal: controller.signal,
    });
    await eventually(() => started('runAbort'), 'runAbort started');
    const abortedAt = performance.now();
    controller.abort(reason);
    assert.equal(await rejectionOf(aborted), reason);
    assert.ok(performance.now() - abortedAt < 1_000);
    const timedOut = pool.run(kTasks, 'markedSleep', [marks, 'runTimeout', 1_500], {
      timeoutMs: 700,
    });
    assert.equal(((await rejectionOf(timedOut)) as KeelError).code, 'ERR_TIMEOUT');
    assert.ok(started('runTimeout'));
    // Well past the 1.5 s both would have slept: neither finished.
    await sleep(1_700);
    assert.ok(!done('runAbort') && !done('runTimeout'));
    // The worker is free again at once (its slot was released when the job was stopped).
    assert.equal(await pool.run(kTasks, 'add', [2, 2], { timeoutMs: 5_000 }), 4);
  });

  it('an already aborted signal rejects at once with its reason', async () => {
    const reason = new Error('before');
    assert.equal(
      await rejectionOf(pool.run(kTasks, 'add', [1, 2], { signal: AbortSignal.abort(reason) })),
      reason,
    );
  });

  it('higher priorities run first; equal ones in submission order', async () => {
    const blocker = pool.run(kTasks, 'markedSleep', [marks, 'priorityBlocker', 800]);
    await eventually(() => started('priorityBlocker'), 'priorityBlocker started');
    const runs = [
      pool.run(kTasks, 'recordOrder', [marks, 'low'], { priority: -5 }),
      pool.run(kTasks, 'recordOrder', [marks, 'mid1']),
      pool.run(kTasks, 'recordOrder', [marks, 'high'], { priority: 10 }),
      pool.run(kTasks, 'recordOrder', [marks, 'mid2'], { priority: 0 }),
    ];
    await Promise.all([blocker, ...runs]);
    const order = readFileSync(join(marks, 'order'), 'utf8').trim().split('\n');
    assert.deepEqual(order, ['high', 'mid1', 'mid2', 'low']);
  });
});
