// The unit protocol for custom transports: beginUnit / writeLeaf / commitUnit on the writer,
// the ticket crossing as data, endUnit returning the whole unit's space; abort; close; reclaim.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, ArenaUnit, release } from '../dist/memory/arena/index.js';
import { KeelError } from '../dist/errors.js';

function patterned(byteLength: number, seed: number): Uint8Array {
  return new Uint8Array(byteLength).map((_, i) => (seed * 31 + i * 7) & 0xff);
}

test('a committed unit is read through its ticket and endUnit returns all of its space at once', () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const unit = arena.beginUnit();
  const first = arena.writeLeaf(unit, patterned(3000, 1));
  const second = arena.writeLeaf(unit, patterned(100, 2));
  assert.ok(first >= 0 && second >= 0);
  const ticket = structuredClone(arena.commitUnit(unit)); // it crosses as plain data
  assert.ok(arena.stats().bytesInUse >= 3100);
  assert.equal(arena.stats().units, 1);

  const reader = Arena.fromShared(arena.share());
  reader.acceptUnit(ticket);
  assert.deepEqual(reader.leafBytes(first, 3000), patterned(3000, 1));
  assert.deepEqual(reader.leafBytes(second, 100), patterned(100, 2));
  assert.equal(reader.endUnit(ticket), true);
  assert.deepEqual(arena.stats().bytesInUse, 0);
  assert.equal(arena.stats().units, 0);
  assert.equal(reader.endUnit(ticket), false, 'a second endUnit is a harmless no-op');
});

test('every leaf starts 64-byte aligned whatever the sizes before it', () => {
  const arena = new Arena({ bytes: 256 * 1024, minBytes: 0, blockBytes: 64 });
  const unit = arena.beginUnit();
  for (const byteLength of [1, 63, 65, 127, 1000, 0, 7]) {
    const offset = arena.reserveLeaf(unit, byteLength);
    assert.equal(offset % 64, 0, `a ${byteLength}-byte leaf landed at ${offset}`);
  }
  arena.abortUnit(unit);
});

test('abortUnit returns everything the unit reserved, and an aborted unit can no longer be written or committed', () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const unit = arena.beginUnit();
  arena.writeLeaf(unit, patterned(20_000, 3));
  assert.ok(arena.stats().bytesInUse >= 20_000);
  arena.abortUnit(unit);
  assert.equal(arena.stats().bytesInUse, 0);
  assert.equal(arena.stats().units, 0);
  arena.abortUnit(unit); // no-op
  assert.throws(() => arena.commitUnit(unit), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => arena.reserveLeaf(unit, 10), { code: 'ERR_INVALID_ARGUMENT' });
});

test("reserveLeaf reports no room with -1, never blocking, and the space reserved so far stays the unit's", () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const unit = arena.beginUnit();
  assert.ok(arena.reserveLeaf(unit, 40_000) >= 0);
  assert.equal(arena.reserveLeaf(unit, 40_000), -1);
  assert.equal(arena.reserveLeaf(unit, 1_000_000), -1, 'larger than the arena');
  const ticket = arena.commitUnit(unit);
  assert.equal(ticket.regions.length, 2);
  arena.endUnit(ticket);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('a unit that reserved nothing commits to an empty ticket whose end is a no-op', () => {
  const arena = new Arena({ bytes: 64 * 1024 });
  const ticket = arena.commitUnit(arena.beginUnit());
  assert.equal(ticket.slot, -1);
  assert.equal(arena.endUnit(ticket), false);
  assert.equal(arena.stats().units, 0);
});

test('tickets and units of another arena, or forged ones, are refused', () => {
  const one = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const other = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const unit = one.beginUnit();
  one.writeLeaf(unit, patterned(2000, 4));
  const ticket = one.commitUnit(unit);
  assert.throws(() => other.endUnit(ticket), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => other.endUnit({ nope: 1 } as never), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => one.commitUnit(new ArenaUnit()), { code: 'ERR_INVALID_ARGUMENT' });
  assert.equal(one.endUnit(ticket), true);
});

test('an envelope is restored once: a second restore is refused and does not free the unit twice', () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const envelope = arena.offload({ data: patterned(5000, 5) });
  const restored = arena.restore(structuredClone(envelope));
  assert.throws(() => arena.restore(structuredClone(envelope)), { code: 'ERR_INVALID_ARGUMENT' });
  assert.deepEqual(restored.data, patterned(5000, 5));
  assert.ok(arena.stats().bytesInUse > 0);
  release(restored);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('discard() gives back an envelope that will never be restored, and is harmless once it was', () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const lost = arena.offload({ data: patterned(5000, 11) });
  assert.ok(arena.stats().bytesInUse > 0);
  assert.equal(arena.discard(lost), true);
  assert.equal(arena.stats().bytesInUse, 0);
  assert.equal(arena.discard(lost), false);
  assert.throws(
    () => arena.restore(lost),
    { code: 'ERR_INVALID_ARGUMENT' },
    'a discarded envelope cannot be restored',
  );
  assert.equal(arena.discard(arena.offload({ small: 1 })), false, 'nothing entered the arena');
});

test('after close no unit begins (ERR_CLOSED) while units in flight still restore and end', () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const handle = Arena.fromShared(arena.share());
  const envelope = handle.offload({ data: patterned(5000, 6) });
  arena.close();
  assert.equal(arena.closed, true);
  assert.equal(handle.closed, true, "the creator's close reaches every handle");
  for (const attempt of [
    () => arena.beginUnit(),
    () => handle.offload({}),
    () => arena.offload(patterned(5000, 1)),
  ]) {
    assert.throws(
      attempt,
      (error: unknown) => error instanceof KeelError && error.code === 'ERR_CLOSED',
    );
  }
  const restored = arena.restore(envelope);
  assert.deepEqual(restored.data, patterned(5000, 6));
  assert.equal(release(restored), 1);
  assert.equal(arena.stats().bytesInUse, 0);
});

test("a shared handle's close stops only that handle", () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const handle = Arena.fromShared(arena.share());
  handle.close();
  assert.throws(() => handle.beginUnit(), { code: 'ERR_CLOSED' });
  assert.equal(arena.closed, false);
  arena.abortUnit(arena.beginUnit());
});

test('reclaimHandle frees what a dead handle held (writing, committed, received) and nothing of the others', () => {
  const arena = new Arena({ bytes: 256 * 1024, minBytes: 1024 });
  const data = arena.share();
  const dead = Arena.fromShared(data);
  const writing = dead.beginUnit();
  dead.writeLeaf(writing, patterned(10_000, 7));
  const committed = dead.beginUnit();
  dead.writeLeaf(committed, patterned(10_000, 8));
  const lost = dead.commitUnit(committed); // never delivered
  const received = dead.restore(arena.offload({ data: patterned(10_000, 9) }));
  const delivered = arena.restore(dead.offload({ data: patterned(10_000, 10) })); // the creator owns it now
  assert.equal(arena.stats().units, 4);

  assert.equal(arena.reclaimHandle(data.handleId), 3);
  assert.equal(arena.stats().units, 1);
  assert.deepEqual(delivered.data, patterned(10_000, 10));
  assert.throws(
    () => {
      arena.acceptUnit(lost);
    },
    { code: 'ERR_INVALID_ARGUMENT' },
    'a reclaimed unit cannot be accepted later',
  );
  assert.equal(release(delivered), 1);
  assert.equal(arena.stats().bytesInUse, 0);
  assert.ok(received);
  assert.throws(() => arena.reclaimHandle(arena.handleId), { code: 'ERR_INVALID_ARGUMENT' });
});

test('the constructor names the bad option, what it expected and what it got', () => {
  assert.throws(() => new Arena({ bytes: 10 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /bytes must be an integer >= 64, got 10/,
  });
  assert.throws(() => new Arena({ blockBytes: 100 }), {
    message: /blockBytes must be a power of two/,
  });
  assert.throws(() => new Arena({ minBytes: -1 }), { message: /minBytes/ });
  assert.throws(() => Arena.fromShared({} as never), {
    message: /data must be the result of arena.share\(\)/,
  });
  const arena = new Arena();
  assert.equal(arena.bytes, 64 * 2 ** 20);
  assert.equal(arena.minBytes, 65536);
  assert.equal(arena.blockBytes, 4096);
});
