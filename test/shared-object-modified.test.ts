// modified / triggered / trigger() / mtime follow real_robot's SharedObject semantics (its
// methods/test_modified.py, test_trigger.py and test_multi_shared_object.py, with 2 and 5
// handles per kind), on a shared change counter rather than timestamps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedObject } from '../dist/memory/shared-object/index.js';

let counter = 0;

const kinds: Record<string, [unknown, unknown]> = {
  null: [null, null],
  boolean: [false, true],
  number: [1, 2.5],
  bigint: [1n, -(2n ** 63n)],
  string: ['a', 'bb'],
  Uint8Array: [new Uint8Array([1, 2]), new Uint8Array([3, 4])],
  object: [
    { t: 1, img: new Uint16Array(3) },
    { t: 2, img: new Uint16Array([1, 2, 3]) },
  ],
};

/** `count` handles on a fresh slot of the given kind: the creator first. */
function handles(kind: string, count: number): SharedObject<unknown>[] {
  const name = `modified-${kind}-${++counter}`;
  const [initial] = kinds[kind]!;
  const creator = SharedObject.create(name, initial as never) as SharedObject<unknown>;
  return [creator, ...Array.from({ length: count - 1 }, () => SharedObject.open(name))];
}

for (const count of [2, 5]) {
  for (const kind of Object.keys(kinds)) {
    const [, next] = kinds[kind]!;

    test(`${kind}, ${count} handles: an assign makes every other handle modified until it fetches, not the writer`, () => {
      const all = handles(kind, count);
      assert.ok(
        all.every((so) => !so.modified),
        'fresh handles are not modified',
      );
      for (const writer of all) {
        writer.assign(next);
        for (const other of all) assert.equal(other.modified, other !== writer);
        // modified does not consume
        for (const other of all) assert.equal(other.modified, other !== writer);
        for (const other of all) other.fetch();
        assert.ok(
          all.every((so) => !so.modified),
          'fetch clears modified',
        );
      }
    });

    test(`${kind}, ${count} handles: a trigger is seen exactly once by every handle, the triggering one included`, () => {
      const all = handles(kind, count);
      for (const source of all) {
        source.trigger();
        for (const so of all) {
          assert.equal(so.modified, true);
          assert.equal(so.triggered, true);
          assert.equal(so.triggered, false);
          assert.equal(so.triggered, false);
        }
      }
    });

    test(`${kind}, ${count} handles: an assign is seen once as triggered by the others, not by the writer`, () => {
      const all = handles(kind, count);
      for (const source of all) {
        source.assign(next);
        for (const so of all) {
          assert.equal(so.triggered, so !== source);
          assert.equal(so.triggered, false);
        }
      }
    });
  }
}

test('two triggers before a look count as one triggered', () => {
  const [so] = handles('number', 1);
  so!.trigger().trigger();
  assert.equal(so!.triggered, true);
  assert.equal(so!.triggered, false);
});

test('fetch(fn) marks the value read like fetch()', () => {
  const [a, b] = handles('number', 2);
  a!.assign(3);
  assert.equal(
    b!.fetch((x) => x),
    3,
  );
  assert.equal(b!.modified, false);
});

test('a handle closed and opened again starts unmodified, and the others keep their state', () => {
  const [a, b] = handles('string', 2);
  a!.assign('changed');
  const name = a!.name;
  b!.close();
  const again = SharedObject.open(name);
  assert.equal(again.modified, false);
  assert.equal(a!.modified, false);
  again.assign('again');
  assert.equal(a!.modified, true);
});

test('mtime is bigint nanoseconds on the process.hrtime clock, strictly increasing over assigns and triggers', () => {
  const [so] = handles('number', 1);
  let last = so!.mtime;
  assert.equal(typeof last, 'bigint');
  for (let i = 0; i < 1000; i++) {
    const before = process.hrtime.bigint();
    if (i % 2 === 0) so!.assign(i);
    else so!.trigger();
    const now = so!.mtime;
    assert.ok(now > last, 'strictly increasing');
    assert.ok(now >= before, 'not earlier than the call');
    assert.ok(now <= process.hrtime.bigint(), 'not later than the return');
    last = now;
  }
});
