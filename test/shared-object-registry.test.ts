// SharedObject names are process-wide: a linked worker thread opens, creates and unlinks them
// synchronously through the main thread's registry, and a handle also crosses as a value.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { SharedObject } from '../dist/memory/shared-object/index.js';
import { OperationsWorker } from './fixtures/shared-object-harness.mjs';

let worker: OperationsWorker;
let counter = 0;
const uniqueName = (): string => `registry-${++counter}`;

before(async () => {
  worker = await OperationsWorker.start();
});

after(async () => {
  await worker.stop();
});

test('a worker opens by name a slot the main thread created, and its assign reaches the main thread', async () => {
  const name = uniqueName();
  const main = SharedObject.create(name, { t: 1, frame: new Uint8Array([1, 2, 3]) });
  await worker.call('open', { name });
  assert.deepEqual(await worker.call('fetch', { name }), {
    t: 1,
    frame: new Uint8Array([1, 2, 3]),
  });
  await worker.call('assign', { name, value: { t: 2, frame: new Uint8Array([4, 5, 6]) } });
  assert.equal(main.modified, true);
  assert.deepEqual(main.fetch(), { t: 2, frame: new Uint8Array([4, 5, 6]) });
});

test('mtime is one clock for all threads: a worker assign stamps a time between the main thread readings around it', async () => {
  const name = uniqueName();
  const main = SharedObject.create(name, 0);
  await worker.call('open', { name });
  for (let i = 1; i <= 20; i++) {
    const before = process.hrtime.bigint();
    await worker.call('assign', { name, value: i });
    const after = process.hrtime.bigint();
    const stamped = main.mtime;
    assert.ok(before < stamped && stamped < after, `assign ${i} stamped inside [before, after]`);
    assert.equal((await worker.call('state', { name })).mtime, stamped);
  }
});

test('the main thread opens by name a slot a worker created', async () => {
  const name = uniqueName();
  await worker.call('create', { name, initial: new Float32Array([0.5, 1.5]) });
  const main = SharedObject.open(name);
  assert.deepEqual(main.fetch(), new Float32Array([0.5, 1.5]));
  main.assign(new Float32Array([2, 3]));
  assert.deepEqual(await worker.call('fetch', { name }), new Float32Array([2, 3]));
  assert.equal((await worker.call('state', { name })).modified, false, 'fetch marked it read');
});

test('ERR_NOT_FOUND, ERR_EXISTS and reuse behave the same from a worker', async () => {
  const name = uniqueName();
  await assert.rejects(worker.call('open', { name }), { code: 'ERR_NOT_FOUND' });
  SharedObject.create(name, 1);
  await assert.rejects(worker.call('create', { name, initial: 2 }), { code: 'ERR_EXISTS' });
  await assert.rejects(worker.call('create', { name, initial: 'text', options: { reuse: true } }), {
    code: 'ERR_TYPE_MISMATCH',
  });
  await worker.call('create', { name, initial: 3, options: { reuse: true } });
  assert.equal(SharedObject.open(name).fetch(), 3);
});

test('unlink from a worker frees the name for everyone; a re-created name is not served from a stale cache', async () => {
  const name = uniqueName();
  const main = SharedObject.create(name, 'first');
  assert.equal(await worker.call('openAndFetch', { name }), 'first'); // now cached in the worker
  await worker.call('unlink', { name });
  assert.throws(() => SharedObject.open(name), { code: 'ERR_NOT_FOUND' });
  await assert.rejects(worker.call('openAndFetch', { name }), { code: 'ERR_NOT_FOUND' });
  assert.equal(main.fetch(), 'first', 'existing handles keep working');
  SharedObject.create(name, 'second');
  assert.equal(await worker.call('openAndFetch', { name }), 'second');
});

test('a handle posted to a worker arrives as { name, buffer }, and SharedObject.from revives it', async () => {
  const name = uniqueName();
  const so = SharedObject.create(name, new Int32Array([7, 8, 9]));
  assert.deepEqual(await worker.call('describeClone', { clone: so }), {
    keys: ['buffer', 'name'],
    isHandle: false,
  });
  assert.deepEqual(await worker.call('fetchFromClone', { clone: so }), new Int32Array([7, 8, 9]));
});

test('reviveSharedObjects turns the clones inside call arguments back into handles', async () => {
  const name = uniqueName();
  const so = SharedObject.create(name, 42n);
  const result = await worker.call('reviveArgs', {
    args: { nested: [so], map: new Map([['so', so]]) },
  });
  assert.deepEqual(result, { cloneWasPlain: true, value: 42n, viaMap: 42n });
});

test('a worker whose registry request is not answered in time gets ERR_TIMEOUT, and its link keeps working after', async () => {
  const slow = await OperationsWorker.start({}, { requestTimeoutMs: 200 });
  try {
    const name = uniqueName();
    SharedObject.create(name, 'late');
    const done = new SharedArrayBuffer(4);
    const reply = slow.call('openWhileMainBlocked', { name, signal: done });
    // Block this (main) thread until the worker gave up: its request cannot be answered meanwhile.
    const waited = Atomics.wait(new Int32Array(done), 0, 0, 10_000);
    assert.equal(waited, 'ok');
    const { code, elapsedMs } = await reply;
    assert.equal(code, 'ERR_TIMEOUT');
    assert.ok(elapsedMs >= 150 && elapsedMs < 5000, `gave up after ${elapsedMs} ms`);
    // The late answer to the timed-out request is dropped; the next request is answered.
    assert.equal(await slow.call('openAndFetch', { name }), 'late');
  } finally {
    await slow.stop();
  }
});

test('a worker that was not linked gets a clear ERR_NOT_FOUND from the registry, yet can use a handle passed to it', async () => {
  const name = uniqueName();
  const so = SharedObject.create(name, 5);
  const unlinked = new Worker(new URL('./fixtures/shared-object-worker.mjs', import.meta.url));
  try {
    await once(unlinked, 'message'); // ready
    const client = new OperationsWorker_(unlinked);
    await assert.rejects(client.call('open', { name }), {
      code: 'ERR_NOT_FOUND',
      message: /not reachable from this worker/,
    });
    assert.equal(await client.call('fetchFromClone', { clone: so }), 5);
  } finally {
    await unlinked.terminate();
  }
});

/** A minimal request / reply client for a worker started without the harness. */
class OperationsWorker_ {
  #nextId = 0;
  constructor(readonly worker: Worker) {}
  async call(op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#nextId;
    this.worker.postMessage({ id, op, ...args });
    for (;;) {
      const [message] = (await once(this.worker, 'message')) as [
        { id: number; ok: boolean; value: unknown; code: string; message: string },
      ];
      if (message.id !== id) continue;
      if (message.ok) return message.value;
      throw Object.assign(new Error(message.message), { code: message.code });
    }
  }
}
