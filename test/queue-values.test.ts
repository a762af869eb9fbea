import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { after, before, describe, it } from 'node:test';
import { KeelError } from 'keel';
import { QueuePool } from 'keel/queue';
import {
  copyOfFixtures,
  kCallerRoot,
  kNeedsRedis,
  kTasks,
  RedisServer,
  startQueueRig,
  type QueueRig,
  type WorkerProcess,
} from './queue-helpers.ts';
import { rejectionOf } from './helpers.ts';

// Values and errors cross machines as they cross threads: V8 serialization both ways, errors
// with their class, message, code, cause and properties; module references sent relative to
// the caller's root and resolved under the worker's own.

describe('QueuePool values and errors', { ...kNeedsRedis, timeout: 60_000 }, () => {
  let redis: RedisServer;
  let fixtures: ReturnType<typeof copyOfFixtures>;
  let worker: WorkerProcess;
  let pool: QueuePool;
  let queue: string;
  let rig: QueueRig;

  before(async () => {
    rig = await startQueueRig('values');
    ({ redis, fixtures, worker, queue } = rig);
    pool = new QueuePool({ connection: redis.url, queue, root: kCallerRoot });
  });

  after(async () => {
    await pool?.close();
    await rig?.stop();
  });

  it('runs the module under the worker root, not the path the caller named', async () => {
    const where = await pool.run<{ url: string; pid: number }>(kTasks, 'whereAmI');
    assert.equal(where.pid, worker.child.pid);
    assert.ok(where.url.startsWith(`file://${fixtures.root}`), where.url);
  });

  it('carries values by V8 serialization both ways, binaries included', async () => {
    const value = {
      map: new Map([[1, 'one']]),
      set: new Set(['a']),
      date: new Date(1_234_567),
      big: 2n ** 70n,
      bytes: new Uint8Array([1, 2, 3]),
      floats: new Float64Array([0.5, -1]),
      nested: { list: [1, 'two', null, undefined] },
    };
    assert.deepEqual(await pool.run(kTasks, 'echo', [value]), value);
    const buffer = await pool.run<Uint8Array>(kTasks, 'bytes', [100_000]);
    assert.equal(buffer.byteLength, 100_000);
    assert.equal(buffer[99_999], 7);
  });

  it('gives typed module proxies that run each export through the queue', async () => {
    const tasks = pool.module<typeof import('./fixtures/queue/tasks.mjs')>(kTasks);
    assert.equal(await tasks.add(2, 3), 5);
    const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => tasks.add(i, i)));
    assert.deepEqual(
      sums,
      Array.from({ length: 20 }, (_, i) => 2 * i),
    );
  });

  it("keeps a thrown error's class, message, code, cause and properties", async () => {
    const quota = (await rejectionOf(pool.run(kTasks, 'failQuota'))) as Error & {
      code: string;
      limit: number;
    };
    assert.ok(quota instanceof Error);
    assert.equal(quota.name, 'QuotaError');
    assert.equal(quota.message, 'over quota');
    assert.equal(quota.code, 'E_QUOTA');
    assert.equal(quota.limit, 42);
    assert.ok(quota.cause instanceof RangeError);
    assert.equal(quota.cause.message, 'limit 42');
    const typeError = await rejectionOf(pool.run(kTasks, 'failType'));
    assert.ok(typeError instanceof TypeError);
    assert.equal(typeError.message, 'not a number');
    // The worker's frames, then the caller's.
    assert.match(typeError.stack ?? '', /tasks\.mjs/);
  });

  it('a missing export is ERR_NOT_FOUND from the worker', async () => {
    const missing = await rejectionOf(pool.run(kTasks, 'nope'));
    assert.ok(missing instanceof KeelError);
    assert.equal(missing.code, 'ERR_NOT_FOUND');
  });

  it('a module outside root is ERR_INVALID_ARGUMENT at the call site, before any queueing', async () => {
    const outside = new URL('./helpers.ts', import.meta.url);
    const error = await rejectionOf(pool.run(outside, 'fixture'));
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
    assert.match(error.message, /inside root/);
    assert.throws(() => pool.module(outside), { code: 'ERR_INVALID_ARGUMENT' });
    assert.equal(pool.stats().pending, 0);
  });

  it('a worker refuses a job whose module climbs out of its root, even one queued by hand', async () => {
    // A job written straight into the queue, as anyone with access to Redis could.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const raw = new Queue(queue, { connection });
    try {
      const replyTo = `bull:${queue}:keel:replies:by-hand`;
      await raw.add('whereAmI', {
        keel: 1,
        module: '../escape/tasks.mjs',
        exportName: 'whereAmI',
        args: serialize([]).toString('base64'),
        replyTo,
        timeoutMs: null,
        maxPayloadBytes: 65_536,
      });
      const reply = await connection.blpopBuffer(replyTo, 10);
      assert.ok(reply, 'no answer within 10 s');
      const element = reply[1];
      const newline = element.indexOf(10);
      assert.equal(element.toString('utf8', newline + 1, newline + 2), 'e');
      const error = deserialize(element.subarray(newline + 2)) as {
        message: string;
        props?: unknown;
      };
      assert.match(JSON.stringify(error), /not a path inside this worker's root/);
    } finally {
      await raw.close();
      connection.disconnect();
    }
  });

  it('rejects bad options by name', async () => {
    assert.throws(() => new QueuePool({ connection: 'http://x', queue: 'q' }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /connection/,
    });
    assert.throws(
      () => new QueuePool({ connection: redis.url, queue: 'q', conectTimeoutMs: 1 } as never),
      { code: 'ERR_INVALID_ARGUMENT', message: /connectTimeoutMs/ },
    );
    const bad = await rejectionOf(pool.run(kTasks, 'add', [1, 2], { priority: 1.5 }));
    assert.equal((bad as KeelError).code, 'ERR_INVALID_ARGUMENT');
  });

  it('stats count completed and failed runs and measure round trips', async () => {
    const before = pool.stats();
    await pool.run(kTasks, 'add', [1, 1]);
    await rejectionOf(pool.run(kTasks, 'failType'));
    const stats = pool.stats();
    assert.equal(stats.completed, before.completed + 1);
    assert.equal(stats.failed, before.failed + 1);
    assert.equal(stats.pending, 0);
    assert.equal(stats.connected, true);
    assert.ok(stats.roundTripMs.p50 > 0 && stats.roundTripMs.max >= stats.roundTripMs.p50);
  });
});
