import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { KeelError } from 'keel';
import { QueuePool } from 'keel/queue';
import { Redis } from 'ioredis';
import { eventually, fixturePath, rejectionOf } from './helpers.ts';
import {
  copyOfFixtures,
  kCallerRoot,
  kNeedsRedis,
  kTasks,
  RedisServer,
  startQueueRig,
  type QueueRig,
  uniqueQueue,
} from './queue-helpers.ts';

// close() waits for the answers of runs in flight; close({ force }) rejects them with
// ERR_CLOSED and withdraws their jobs; nothing of a closed pool or worker keeps a process
// alive, and consumed jobs and replies leave nothing behind in Redis.

describe('QueuePool close', { ...kNeedsRedis, timeout: 60_000 }, () => {
  let redis: RedisServer;
  let fixtures: ReturnType<typeof copyOfFixtures>;
  let marks: string;
  let inspect: Redis;
  let queue: string;
  let rig: QueueRig;

  before(async () => {
    marks = mkdtempSync(join(tmpdir(), 'keel-queue-marks-'));
    rig = await startQueueRig('close', ['--threads', '1']);
    ({ redis, fixtures, queue } = rig);
    inspect = new Redis(redis.url);
  });

  after(async () => {
    inspect?.disconnect();
    rmSync(marks, { recursive: true, force: true });
    await rig?.stop();
  });

  const newPool = (): QueuePool =>
    new QueuePool({ connection: redis.url, queue, root: kCallerRoot });
  const started = (id: string): boolean => existsSync(join(marks, `${id}.started`));

  it('a graceful close waits for runs in flight, then refuses new ones with ERR_CLOSED', async () => {
    const pool = newPool();
    const run = pool.run(kTasks, 'slowId', ['graceful', 400]);
    await sleep(50);
    await pool.close();
    assert.deepEqual(((await run) as { id: string }).id, 'graceful');
    const late = await rejectionOf(pool.run(kTasks, 'add', [1, 2]));
    assert.ok(late instanceof KeelError);
    assert.equal(late.code, 'ERR_CLOSED');
    await pool.close(); // idempotent
  });

  it('close({ force }) rejects pending runs with ERR_CLOSED and withdraws their jobs', async () => {
    const pool = newPool();
    const running = pool.run(kTasks, 'markedSleep', [marks, 'forcedRunning', 1_000]);
    await eventually(() => started('forcedRunning'), 'the first job started');
    const waiting = pool.run(kTasks, 'markedSleep', [marks, 'forcedWaiting', 10]);
    await sleep(100);
    const outcomes = [running, waiting].map(rejectionOf);
    await pool.close({ force: true });
    for (const outcome of outcomes) {
      assert.equal(((await outcome) as KeelError).code, 'ERR_CLOSED');
    }
    assert.equal(pool.stats().pending, 0);
    // The running one was stopped, the waiting one never runs.
    await sleep(1_200);
    assert.ok(!existsSync(join(marks, 'forcedRunning.done')));
    assert.ok(!started('forcedWaiting'));
  });

  it('consumed jobs and replies leave nothing in Redis', async () => {
    const pool = newPool();
    await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run(kTasks, 'add', [i, 1])));
    await rejectionOf(pool.run(kTasks, 'failType'));
    await pool.close();
    // The worker replies before BullMQ moves the job to completed or failed (and so removes
    // it), so the last job may hold its keys a few milliseconds after its answer arrived.
    // BullMQ's own bookkeeping stays (id counter, meta, events stream); no job, no list.
    let left: string[] = [];
    const nothingLeft = async (): Promise<boolean> => {
      const keys = await inspect.keys(`bull:${queue}:*`);
      left = keys.filter((key) => !/:(id|meta|events|stalled-check)$/.test(key));
      return left.length === 0;
    };
    await eventually(nothingLeft, 'the consumed jobs left Redis').catch(() => {
      assert.deepEqual(left, []);
    });
  });

  it('a process that closed its QueuePool and its worker exits by itself', () => {
    const result = spawnSync(
      process.execPath,
      [
        fixturePath('queue-scripts/exits-after-close.mjs'),
        redis.url,
        uniqueQueue('exits'),
        fixtures.root,
        pathToFileURL(`${fixtures.root}/`).href,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(result.signal, null, 'the process had to be killed: something kept it alive');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'sum 42\n');
  });
});
