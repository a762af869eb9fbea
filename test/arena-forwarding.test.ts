// A view that already lives in the arena (restored from it, or made by allocate()) crosses by
// reference: one more holder on its unit, no copy. The region is reused only after every
// holder let go; holds never received are given back by discard() or reclaimHandle().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, KeelError, Pool, close, release, spawn } from 'keel';
import { eventually, fixture } from './helpers.ts';
import { copiedIn, holdsOf } from './arena-envelopes.ts';

const frames = fixture('frames.mjs');
type Frames = typeof import('./fixtures/frames.mjs');

function patterned(byteLength: number, seed: number): Uint8Array {
  return new Uint8Array(byteLength).map((_, i) => (seed * 31 + i * 7) & 0xff);
}

test('every holder must let go before a forwarded region is reused', () => {
  const arena = new Arena({ bytes: 256 * 1024, minBytes: 1024 });
  const first = arena.restore(arena.offload(patterned(40_000, 1)));
  const second = arena.restore(arena.offload(first));
  const third = arena.restore(arena.offload(second.subarray(1000, 30_000)));
  assert.equal(second.byteOffset, first.byteOffset);
  assert.equal(third.byteOffset, first.byteOffset + 1000);
  assert.equal(arena.stats().units, 1, 'one unit, three holders');
  assert.equal(release(first), 1);
  assert.equal(release(second), 1);
  const other = arena.restore(arena.offload(patterned(40_000, 2)));
  assert.notEqual(other.byteOffset, first.byteOffset, 'a held region is not reused');
  assert.deepEqual(third, patterned(40_000, 1).subarray(1000, 30_000));
  assert.equal(release(third), 1);
  release(other);
  assert.equal(arena.stats().bytesInUse, 0);
  assert.equal(arena.stats().units, 0);
  assert.equal(release(third), 0, 'a second release is harmless');
});

test('discard() gives back a forwarded hold that was never received', () => {
  const arena = new Arena({ bytes: 256 * 1024, minBytes: 1024 });
  const held = arena.restore(arena.offload(patterned(40_000, 3)));
  const envelope = arena.offload({ frame: held });
  assert.equal(holdsOf(envelope), 1);
  assert.equal(arena.discard(envelope), true);
  assert.equal(arena.discard(envelope), false, 'nothing left to give back');
  release(held);
  assert.equal(arena.stats().bytesInUse, 0);
  assert.throws(
    () => arena.restore(envelope),
    (error: unknown) => error instanceof KeelError && error.code === 'ERR_INVALID_ARGUMENT',
  );
});

test('reclaimHandle() drops the holds of a dead handle, received and in flight', () => {
  const arena = new Arena({ bytes: 256 * 1024, minBytes: 1024 });
  const far = Arena.fromShared(arena.share()); // stands for a thread that will die
  const mine = arena.restore(arena.offload(patterned(40_000, 4)));
  const theirs = far.restore(arena.offload({ frame: mine })); // a hold received by `far`
  const backToMe = far.offload(theirs); // a hold in flight, sent by `far`
  assert.equal(arena.reclaimHandle(far.handleId), 2, 'two holds let go of');
  assert.throws(
    () => arena.restore(backToMe),
    (error: unknown) => error instanceof KeelError && error.code === 'ERR_INVALID_ARGUMENT',
  );
  assert.ok(arena.stats().bytesInUse > 0, 'the primary holder still has it');
  release(mine);
  assert.equal(arena.stats().bytesInUse, 0);
  // The dead handle's own lease ending later (garbage collection, release) changes nothing.
  assert.equal(release(theirs), 1);
  assert.equal(arena.stats().units, 0);
});

test('when every hold entry is taken, a forwarded view is copied into a unit of its own', () => {
  const arena = new Arena({ bytes: 256 * 1024, minBytes: 1024, maxUnits: 2 });
  const held = arena.restore(arena.offload(patterned(20_000, 5)));
  const byReference = [arena.offload(held), arena.offload(held)];
  assert.ok(byReference.every((envelope) => holdsOf(envelope) === 1));
  const copied = arena.offload(held);
  assert.equal(holdsOf(copied), 0);
  assert.equal(copiedIn(copied), true);
  const views = [...byReference, copied].map((envelope) => arena.restore(envelope));
  assert.notEqual(views[2]?.byteOffset, held.byteOffset);
  for (const view of views) assert.deepEqual(view, patterned(20_000, 5));
  release([held, ...views]);
  assert.equal(arena.stats().bytesInUse, 0);
  assert.equal(arena.stats().fallbacks, 0);
});

test('allocate() gives a zeroed view in the arena that crosses by reference', () => {
  const arena = new Arena({ bytes: 256 * 1024, minBytes: 1024 });
  const samples = arena.allocate(Float32Array, 10_000);
  assert.ok(samples instanceof Float32Array);
  assert.equal(samples.length, 10_000);
  assert.ok(samples.buffer instanceof SharedArrayBuffer);
  assert.ok(samples.every((sample) => sample === 0));
  samples.fill(1.5);
  const bytes = arena.allocate(Buffer, 5000);
  assert.ok(Buffer.isBuffer(bytes));
  assert.equal(arena.stats().units, 2);
  const back = arena.restore(structuredClone(arena.offload({ samples })));
  assert.equal(back.samples.byteOffset, samples.byteOffset);
  assert.ok(back.samples.every((sample) => sample === 1.5));
  assert.equal(arena.stats().units, 2, 'no unit was added');
  release([samples, back, bytes]);
  assert.equal(arena.stats().bytesInUse, 0);
  // Reused memory comes back zeroed unless asked otherwise.
  const again = arena.allocate(Uint8Array, 40_000);
  assert.ok(again.every((byte) => byte === 0));
  release(again);
});

test('allocate() refuses what cannot fit now, and bad arguments, with clear errors', () => {
  const arena = new Arena({ bytes: 64 * 1024, minBytes: 1024 });
  const code = (expected: string) => (error: unknown) =>
    error instanceof KeelError && error.code === expected;
  assert.throws(() => arena.allocate(Uint8Array, 65 * 1024), code('ERR_ARENA_FULL'));
  const most = arena.allocate(Uint8Array, 48 * 1024);
  assert.throws(() => arena.allocate(Uint8Array, 32 * 1024), code('ERR_ARENA_FULL'));
  assert.throws(() => arena.allocate(DataView, 10), code('ERR_INVALID_ARGUMENT'));
  assert.throws(() => arena.allocate(Array as never, 10), code('ERR_INVALID_ARGUMENT'));
  assert.throws(() => arena.allocate(Uint8Array, -1), code('ERR_INVALID_ARGUMENT'));
  assert.throws(() => arena.allocate(Uint8Array, 1.5), code('ERR_INVALID_ARGUMENT'));
  release(most);
  arena.close();
  assert.throws(() => arena.allocate(Uint8Array, 10), code('ERR_CLOSED'));
});

test('a frame allocated in the arena goes to a pool worker and back with no copy', async () => {
  const frameBytes = 480 * 848 * 3;
  const arena = new Arena({ bytes: 8 * 2 ** 20 });
  await using pool = new Pool({ maxThreads: 2, arena });
  const frame = arena.allocate(Uint8Array, frameBytes);
  frame.set(patterned(4096, 6));
  for (let round = 0; round < 40; round++) {
    const [back, place] = await Promise.all([
      pool.run<Uint8Array>(frames, 'echo', [frame]),
      pool.run<{ byteOffset: number; shared: boolean }>(frames, 'placeOf', [frame]),
    ]);
    assert.equal(back.byteOffset, frame.byteOffset, 'the same region came back');
    assert.deepEqual(place, { byteOffset: frame.byteOffset, shared: true });
    assert.deepEqual(back.subarray(0, 4096), patterned(4096, 6));
    release(back);
  }
  const stats = arena.stats();
  assert.equal(stats.fallbacks, 0);
  assert.ok(stats.highWaterBytes < 2 * frameBytes, 'never a second frame in the arena');
  // Shared memory, as with a SharedArrayBuffer: the worker's writes are the caller's.
  const stamped = await pool.run<Uint8Array>(frames, 'stampInPlace', [frame, 7]);
  assert.equal(frame[4096], 7);
  release(stamped);
  release(frame);
  await eventually(() => arena.stats().bytesInUse === 0, 'every holder let go');
});

test('a thread remote hands back a view it received by reference', async () => {
  const arena = new Arena({ bytes: 8 * 2 ** 20 });
  const remote = await spawn<Frames>(frames, { arena });
  const frame = arena.restore(arena.offload(patterned(200_000, 8)));
  const back = (await remote.echo(frame)) as Uint8Array;
  assert.equal(back.byteOffset, frame.byteOffset);
  assert.deepEqual(back, patterned(200_000, 8));
  release([frame, back]);
  // The remote keeps its arguments until it lets them go (here: garbage collection on exit).
  await close(remote);
  await eventually(() => arena.stats().bytesInUse === 0, 'the dead remote was reclaimed');
});

test('a pool worker killed while holding a forwarded frame does not keep it', async () => {
  const arena = new Arena({ bytes: 8 * 2 ** 20 });
  await using pool = new Pool({ maxThreads: 1, arena });
  const frame = arena.allocate(Uint8Array, 1 << 20);
  await assert.rejects(
    pool.run(frames, 'forever', [frame], { timeoutMs: 200 }),
    (error: unknown) => error instanceof KeelError && error.code === 'ERR_TIMEOUT',
  );
  release(frame);
  await eventually(() => arena.stats().bytesInUse === 0, 'the killed worker was reclaimed');
  assert.equal(arena.stats().units, 0);
});
