// When a region may be reused: never while a restored view of its unit is reachable; at once
// on release(); after garbage collection otherwise. keep() makes a copy that owns its memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Arena, release, keep } from '../dist/memory/arena/index.js';
import { copiedIn, holdsOf, postedValueOf } from './arena-envelopes.ts';

// The FinalizationRegistry tests need a real collection. `--expose-gc` gives one; without the
// flag the test enables it at run time (test-only: V8 accepts the flag after start-up).
const collectGarbage: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();

/** Waits longer than a restored unit waits to be registered (its backstop timer: 500 ms). */
const afterRegistration = (): Promise<void> => delay(600);

/** Collects until `done()` holds: FinalizationRegistry callbacks run in a later task. */
async function collectUntil(done: () => boolean): Promise<boolean> {
  await afterRegistration();
  for (let round = 0; round < 20 && !done(); round++) {
    collectGarbage();
    await nextTurn();
  }
  return done();
}

function patterned(byteLength: number, seed: number): Uint8Array {
  return new Uint8Array(byteLength).map((_, i) => (seed * 31 + i * 7) & 0xff);
}

test('release() returns the space at once, and only then is the region reused by a later item', () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const first = arena.restore(arena.offload(patterned(16_384, 1)));
  const second = arena.restore(arena.offload(patterned(16_384, 2)));
  assert.notEqual(second.byteOffset, first.byteOffset, 'a held region is not reused');
  assert.deepEqual(first, patterned(16_384, 1));
  assert.equal(release(first), 1);
  const third = arena.restore(arena.offload(patterned(16_384, 3)));
  assert.equal(third.byteOffset, first.byteOffset, 'the released region is the first reused');
  assert.deepEqual(first, patterned(16_384, 3), 'which is why a released view must not be used');
  assert.deepEqual(second, patterned(16_384, 2));
  assert.equal(release({ items: [second, third] }), 2, 'release finds views anywhere in a value');
  assert.equal(release(second), 0, 'releasing twice is harmless');
  assert.equal(release({ not: new Uint8Array(4) }), 0);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('while any view of a unit is held, no later item is written over it', () => {
  const arena = new Arena({ bytes: 256 * 1024, minBytes: 1024 });
  const held = arena.restore(
    arena.offload({ a: patterned(30_000, 4), b: new Float64Array(2000).fill(0.5) }),
  );
  for (let seq = 0; seq < 500; seq++) {
    const item = arena.restore(arena.offload(patterned(1024 + ((seq * 7919) % 60_000), seq)));
    release(item);
  }
  assert.deepEqual(held.a, patterned(30_000, 4));
  assert.deepEqual(held.b, new Float64Array(2000).fill(0.5));
  release(held);
});

test("keep() returns a copy that owns its memory: it survives release and the region's reuse, types intact", () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const value = {
    pixels: Buffer.from(patterned(20_000, 5)),
    depth: new Float32Array(3000).fill(2.5),
    id: 7,
  };
  const restored = arena.restore(arena.offload(value));
  const kept = keep(restored);
  assert.ok(Buffer.isBuffer(kept.pixels));
  assert.ok(!(kept.pixels.buffer instanceof SharedArrayBuffer));
  assert.ok(!(kept.depth.buffer instanceof SharedArrayBuffer));
  release(restored);
  const overwrite = arena.restore(arena.offload({ junk: new Uint8Array(60_000).fill(0xee) }));
  assert.equal(restored.pixels[0], 0xee, 'the region was reused');
  assert.deepStrictEqual(kept, value);
  release(overwrite);
});

test('a unit returns to the arena once every view of it is unreachable (FinalizationRegistry)', async () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  (() => {
    const restored = arena.restore(arena.offload({ a: patterned(8000, 6), b: patterned(8000, 7) }));
    assert.equal(restored.a[0], patterned(8000, 6)[0]);
  })();
  assert.ok(arena.stats().bytesInUse > 0);
  assert.ok(
    await collectUntil(() => arena.stats().bytesInUse === 0),
    'the unit was never reclaimed',
  );
  assert.equal(arena.stats().units, 0);
});

test('a unit released within 10 ms is never registered; others are, by the next restore after 10 ms, every 256, or after 500 ms', async () => {
  // Registration is what the safety net costs (a registered pin survives every minor GC), so
  // the deferral is the behaviour under test: count the registry's registrations of leases.
  const arena = new Arena({ bytes: 4 * 1024 * 1024, minBytes: 1024 });
  const register = FinalizationRegistry.prototype.register;
  let registrations = 0;
  FinalizationRegistry.prototype.register = function (
    this: FinalizationRegistry<unknown>,
    ...args
  ) {
    const held: unknown = args[1];
    if (typeof held === 'object' && held !== null && 'heldAt' in held) registrations++;
    register.apply(this, args);
  } as typeof register;
  const restoreOne = (seed: number) => arena.restore(arena.offload(patterned(2048, seed)));
  try {
    await afterRegistration();
    for (let i = 0; i < 10; i++) {
      const restored = restoreOne(i);
      await nextTurn(); // used across a turn, then released
      release(restored);
    }
    await delay(15);
    release(restoreOne(10)); // a later restore looks at the pins pending since 10 ms
    assert.equal(registrations, 0, 'units released within 10 ms cost no registration');

    for (let i = 0; i < 300; i++) restoreOne(i); // dropped, all in one task
    assert.ok(
      300 - registrations <= 256 && registrations < 300,
      `at most 256 pins wait, however fast a thread makes them (${registrations} registered)`,
    );
    await delay(15);
    release(restoreOne(11));
    assert.equal(registrations, 300, 'the next restore 10 ms later registers the others');

    restoreOne(12); // dropped, and no restore follows
    await afterRegistration();
    assert.equal(registrations, 301, 'a timer registers what no later restore did');
  } finally {
    FinalizationRegistry.prototype.register = register;
  }
  assert.ok(
    await collectUntil(() => arena.stats().bytesInUse === 0),
    'the dropped units were never reclaimed',
  );
});

test('a subarray, a DataView or the buffer of a restored view keeps the whole unit pinned', async () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  let survivors: unknown[] = [];
  (() => {
    const restored = arena.restore(
      arena.offload({ a: patterned(8000, 8), b: new Uint16Array(4000) }),
    );
    survivors = [
      restored.a.subarray(10, 20),
      new DataView(restored.b.buffer, restored.b.byteOffset, 8),
    ];
  })();
  const keepOnly = (index: number): void => {
    survivors = [survivors[index]];
  };
  assert.equal(
    await collectUntil(() => arena.stats().bytesInUse === 0),
    false,
    'a view still reaches the unit',
  );
  keepOnly(1); // drop the subarray, keep the DataView
  assert.equal(await collectUntil(() => arena.stats().bytesInUse === 0), false);
  survivors = [];
  assert.ok(await collectUntil(() => arena.stats().bytesInUse === 0));
});

test('a restored view forwarded through the arena crosses by reference and outlives the first holder', () => {
  const arena = new Arena({ bytes: 128 * 1024, minBytes: 1024 });
  const restored = arena.restore(
    arena.offload({ big: patterned(20_000, 9), other: patterned(20_000, 10) }),
  );
  const inUse = arena.stats().bytesInUse;
  // A small view into the held unit, not overlapping the leaf forwarded with it: it must cross
  // as a copy of its own 16 bytes, never as the whole arena by reference.
  const small = restored.other.subarray(100, 116);
  const forwarded = structuredClone(arena.offload({ again: restored.big, small }));
  assert.equal(arena.stats().bytesInUse, inUse, 'no new space: the big view is referenced');
  assert.equal(copiedIn(forwarded), false);
  assert.equal(holdsOf(forwarded), 1);
  const inlineSmall = (postedValueOf(forwarded) as { small: Uint8Array }).small;
  assert.ok(!(inlineSmall.buffer instanceof SharedArrayBuffer));
  assert.equal(inlineSmall.buffer.byteLength, 16);
  release(restored);
  assert.equal(arena.stats().bytesInUse, inUse, 'the hold in flight keeps the unit');
  const junk = arena.restore(arena.offload(new Uint8Array(60_000).fill(1)));
  const back = arena.restore(forwarded);
  assert.equal(back.again.byteOffset, restored.big.byteOffset, 'the same memory');
  assert.deepEqual(back.again, patterned(20_000, 9));
  assert.deepEqual(back.small, patterned(20_000, 10).subarray(100, 116));
  assert.equal(release(back), 1);
  release(junk);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('release(container) finds units through the views it reaches, nothing else', () => {
  const arena = new Arena({ bytes: 128 * 1024, minBytes: 1024 });
  const restored = arena.restore(arena.offload({ frame: patterned(20_000, 11), seq: 1 }));
  const frame = restored.frame;
  restored.frame = new Uint8Array(0); // the container no longer reaches the unit
  assert.equal(release(restored), 0);
  assert.ok(arena.stats().bytesInUse > 0, 'the detached view still holds its unit');
  assert.equal(release(frame), 1);
  assert.equal(arena.stats().bytesInUse, 0);
});
