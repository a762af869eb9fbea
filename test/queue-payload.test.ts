import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KeelError } from 'keel';
import { QueuePool } from 'keel/queue';
import { rejectionOf } from './helpers.ts';
import {
  kCallerRoot,
  kNeedsRedis,
  kTasks,
  RedisServer,
  startQueueRig,
  type QueueRig,
} from './queue-helpers.ts';

// maxPayloadBytes is a wall: arguments larger once serialized are refused before anything is
// queued, and a result larger is refused by the worker, as an error its caller receives.

describe('QueuePool payload limits', { ...kNeedsRedis, timeout: 60_000 }, () => {
  let redis: RedisServer;
  let pool: QueuePool;
  let queue: string;
  let rig: QueueRig;

  before(async () => {
    rig = await startQueueRig('payload', ['--threads', '1']);
    ({ redis, queue } = rig);
    pool = new QueuePool({
      connection: redis.url,
      queue,
      root: kCallerRoot,
      maxPayloadBytes: 4_096,
    });
  });

  after(async () => {
    await pool?.close();
    await rig?.stop();
  });

  it('arguments over maxPayloadBytes are ERR_INVALID_ARGUMENT before anything is queued', async () => {
    const error = await rejectionOf(pool.run(kTasks, 'echo', [new Uint8Array(5_000)]));
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
    assert.match(error.message, /args must be at most maxPayloadBytes \(4096\)/);
    // Refused at the call site: not even a connection to Redis was needed.
    assert.equal(pool.stats().connected, false);
    assert.equal(pool.stats().failed, 0);
    // Just under the limit passes.
    const fits = await pool.run<Uint8Array>(kTasks, 'echo', [new Uint8Array(3_000)]);
    assert.equal(fits.byteLength, 3_000);
  });

  it('a result over maxPayloadBytes is refused on the worker and reported to the caller', async () => {
    const error = await rejectionOf(pool.run(kTasks, 'bytes', [10_000]));
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
    assert.match(error.message, /result must be at most maxPayloadBytes/);
  });

  it('arguments that cannot be serialized are ERR_NOT_CLONEABLE at the call site', async () => {
    const error = await rejectionOf(pool.run(kTasks, 'echo', [{ callback: () => 1 }]));
    assert.equal((error as KeelError).code, 'ERR_NOT_CLONEABLE');
  });

  it('maxPayloadBytes itself is checked', () => {
    for (const maxPayloadBytes of [0, 1.5, 2 ** 40]) {
      assert.throws(() => new QueuePool({ connection: redis.url, queue, maxPayloadBytes }), {
        code: 'ERR_INVALID_ARGUMENT',
        message: /maxPayloadBytes/,
      });
    }
  });
});
