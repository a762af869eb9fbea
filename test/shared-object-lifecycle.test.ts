// Names, create / open / unlink / reuse, and close() of SharedObject handles on one thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedObject } from '../dist/memory/shared-object/index.js';

let counter = 0;
const uniqueName = (): string => `lifecycle-${++counter}`;

test('open of a missing name and unlink of a missing name fail with ERR_NOT_FOUND', () => {
  assert.throws(() => SharedObject.open('lifecycle-never-created'), {
    code: 'ERR_NOT_FOUND',
    message: /"lifecycle-never-created" does not exist/,
  });
  assert.throws(
    () => {
      SharedObject.unlink('lifecycle-never-created');
    },
    { code: 'ERR_NOT_FOUND' },
  );
});

test('create of a taken name fails with ERR_EXISTS and leaves the slot as it was', () => {
  const name = uniqueName();
  const first = SharedObject.create(name, 1);
  assert.throws(() => SharedObject.create(name, 2), { code: 'ERR_EXISTS', message: /reuse: true/ });
  assert.equal(first.fetch(), 1);
  assert.equal(first.modified, false);
});

test('create with reuse attaches to a compatible slot and assigns the initial value to it', () => {
  const name = uniqueName();
  const first = SharedObject.create(name, { t: 0, frame: new Uint8Array(6) }, { shape: undefined });
  const again = SharedObject.create(
    name,
    { t: 5, frame: new Uint8Array(6).fill(9) },
    { reuse: true },
  );
  assert.equal(again.buffer, first.buffer);
  assert.equal(first.modified, true);
  assert.deepEqual(first.fetch(), { t: 5, frame: new Uint8Array(6).fill(9) });
  assert.equal(again.modified, false);
});

test('create with reuse of an incompatible slot fails with ERR_TYPE_MISMATCH', () => {
  const name = uniqueName();
  SharedObject.create(name, new Uint8Array(12), { shape: [3, 4] });
  assert.throws(() => SharedObject.create(name, new Float32Array(12), { reuse: true }), {
    code: 'ERR_TYPE_MISMATCH',
    message: /exists with another layout/,
  });
  assert.throws(
    () => SharedObject.create(name, new Uint8Array(12), { reuse: true, shape: [4, 3] }),
    {
      code: 'ERR_TYPE_MISMATCH',
      message: /shape must be \[3, 4\]/,
    },
  );
  const text = uniqueName();
  SharedObject.create(text, 'abc');
  assert.throws(() => SharedObject.create(text, 'abc', { reuse: true, capacity: 10 }), {
    code: 'ERR_TYPE_MISMATCH',
  });
  assert.throws(() => SharedObject.create(text, 'x'.repeat(65), { reuse: true }), {
    code: 'ERR_TYPE_MISMATCH',
  });
  SharedObject.create(text, 'fits', { reuse: true, capacity: 64 });
});

test('unlink frees the name: open fails, create makes a new slot, old handles keep the old one', () => {
  const name = uniqueName();
  const old = SharedObject.create(name, 'old');
  SharedObject.unlink(name);
  assert.throws(() => SharedObject.open(name), { code: 'ERR_NOT_FOUND' });
  const fresh = SharedObject.create(name, 'new');
  assert.notEqual(fresh.buffer, old.buffer);
  old.assign('still works');
  assert.equal(old.fetch(), 'still works');
  assert.equal(SharedObject.open(name).fetch(), 'new');
});

test('after close() every use of that handle throws ERR_CLOSED; other handles and the slot live on', async () => {
  const name = uniqueName();
  const so = SharedObject.create(name, 1);
  const other = SharedObject.open(name);
  so.close();
  so.close(); // idempotent
  assert.equal(so.closed, true);
  const uses: [string, () => unknown][] = [
    ['fetch', () => so.fetch()],
    ['fetch(fn)', () => so.fetch((x) => x)],
    ['assign', () => so.assign(2)],
    ['trigger', () => so.trigger()],
    ['modified', () => so.modified],
    ['triggered', () => so.triggered],
    ['mtime', () => so.mtime],
    ['shape', () => so.shape],
  ];
  for (const [label, use] of uses) assert.throws(use, { code: 'ERR_CLOSED' }, label);
  await assert.rejects(so.changed(), { code: 'ERR_CLOSED' });
  other.assign(3);
  assert.equal(SharedObject.open(name).fetch(), 3);
});

test('Symbol.dispose closes the handle', () => {
  const so = SharedObject.create(uniqueName(), true);
  so[Symbol.dispose]();
  assert.equal(so.closed, true);
});

test('invalid names and options are rejected with ERR_INVALID_ARGUMENT', () => {
  assert.throws(() => SharedObject.create('', 1), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /name must be a non-empty string/,
  });
  assert.throws(() => SharedObject.open(42 as never), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => SharedObject.create(uniqueName(), 1, { capacity: 10 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /capacity/,
  });
  assert.throws(() => SharedObject.create(uniqueName(), 'abc', { capacity: 2 }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  assert.throws(() => SharedObject.create(uniqueName(), 1, { shape: [1] }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /shape/,
  });
  assert.throws(() => SharedObject.create(uniqueName(), 1, { reuse: 'yes' as never }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  assert.throws(() => SharedObject.from({ name: 'x', buffer: new SharedArrayBuffer(512) }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
});

test('a handle shows its name and kind when inspected, not its memory', async () => {
  const { inspect } = await import('node:util');
  const so = SharedObject.create(uniqueName(), new Uint8Array(6), { shape: [2, 3] });
  assert.match(inspect(so), /SharedObject "lifecycle-\d+" <Uint8Array\[2x3\]>/);
});
