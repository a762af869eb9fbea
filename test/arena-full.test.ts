// A full arena: the try variant falls back to copying, the wait variant waits for space (and
// times out, aborts or closes cleanly), and a leaf larger than the arena never enters it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, release } from '../dist/memory/arena/index.js';
import { KeelError } from '../dist/errors.js';
import { copiedIn } from './arena-envelopes.ts';

const kArenaBytes = 64 * 1024;

function filled(byteLength: number, value: number): Uint8Array {
  return new Uint8Array(byteLength).fill(value);
}

/** Settles within a few event-loop turns? Used to show a promise is still pending. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

function fullArena(): { arena: Arena; hold: { data: Uint8Array } } {
  const arena = new Arena({ bytes: kArenaBytes, minBytes: 1024 });
  const hold = arena.restore(arena.offload({ data: filled(kArenaBytes - 1024, 1) }));
  return { arena, hold };
}

test('the try variant, on a full arena, leaves the leaf inline (crossing by copy) and counts a fallback', () => {
  const { arena, hold } = fullArena();
  const value = { data: filled(8192, 2), raw: Buffer.alloc(8192, 3) };
  const envelope = arena.offload(value);
  assert.equal(copiedIn(envelope), false, 'nothing entered the arena');
  assert.equal(arena.stats().fallbacks, 2);
  const restored = arena.restore(structuredClone(envelope));
  assert.deepStrictEqual(restored, value);
  assert.ok(Buffer.isBuffer(restored.raw), 'a Buffer that fell back is still a Buffer');
  assert.ok(!(restored.data.buffer instanceof SharedArrayBuffer));
  release(hold);
});

test('the try variant places what fits and copies the rest', () => {
  const arena = new Arena({ bytes: kArenaBytes, minBytes: 1024 });
  const value = { fits: filled(40_000, 3), too: filled(40_000, 4) };
  const envelope = arena.offload(value);
  assert.equal(copiedIn(envelope), true);
  assert.equal(arena.stats().fallbacks, 1);
  const restored = arena.restore(structuredClone(envelope));
  assert.deepEqual(restored, value);
  assert.equal(
    [restored.fits, restored.too].filter((leaf) => leaf.buffer instanceof SharedArrayBuffer).length,
    1,
  );
  release(restored);
});

test('the wait variant waits while the arena is full and proceeds once space is released', async () => {
  const { arena, hold } = fullArena();
  const pending = arena.offloadAsync({ data: filled(8192, 5) }, { timeoutMs: 30_000 });
  assert.equal(await isPending(pending), true, 'it must wait, not fall back');
  assert.equal(arena.stats().waits, 1);
  release(hold);
  const envelope = await pending;
  assert.equal(copiedIn(envelope), true);
  const restored = arena.restore(envelope);
  assert.deepEqual(restored.data, filled(8192, 5));
  assert.ok(restored.data.buffer instanceof SharedArrayBuffer);
  release(restored);
  assert.equal(arena.stats().fallbacks, 0);
});

test('the wait variant rejects with ERR_TIMEOUT (a TimeoutError) when no space comes in time', async () => {
  const { arena, hold } = fullArena();
  const startedMs = performance.now();
  await assert.rejects(
    arena.offloadAsync({ data: filled(8192, 6) }, { timeoutMs: 50 }),
    (error: unknown) => {
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_TIMEOUT');
      assert.equal(error.name, 'TimeoutError');
      return true;
    },
  );
  const elapsedMs = performance.now() - startedMs;
  assert.ok(elapsedMs >= 45 && elapsedMs < 10_000, `timed out after ${elapsedMs} ms`);
  assert.equal(arena.stats().units, 1, 'a timed-out writer holds nothing');
  release(hold);
});

test('the wait variant rejects with the signal reason on abort, before or while waiting', async () => {
  const { arena, hold } = fullArena();
  const controller = new AbortController();
  const pending = arena.offloadAsync({ data: filled(8192, 7) }, { signal: controller.signal });
  assert.equal(await isPending(pending), true);
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  const reason = new Error('stop');
  await assert.rejects(
    arena.offloadAsync({ data: filled(8192, 7) }, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  release(hold);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('closing the arena wakes a waiting writer with ERR_CLOSED', async () => {
  const { arena, hold } = fullArena();
  const pending = arena.offloadAsync({ data: filled(8192, 8) });
  assert.equal(await isPending(pending), true);
  arena.close();
  await assert.rejects(pending, { code: 'ERR_CLOSED' });
  release(hold);
});

test('a leaf larger than the arena never enters it, in either variant, and the wait variant does not wait for it', async () => {
  const arena = new Arena({ bytes: kArenaBytes, minBytes: 1024 });
  const value = { huge: filled(kArenaBytes + 1, 9), small: filled(2000, 10) };
  const now = arena.offload(value);
  assert.equal(arena.stats().fallbacks, 1);
  const later = await arena.offloadAsync(value, { timeoutMs: 30_000 });
  assert.equal(arena.stats().fallbacks, 2);
  assert.equal(arena.stats().waits, 0);
  for (const envelope of [now, later]) {
    const restored = arena.restore(structuredClone(envelope));
    assert.deepEqual(restored, value);
    assert.ok(!(restored.huge.buffer instanceof SharedArrayBuffer));
    assert.ok(restored.small.buffer instanceof SharedArrayBuffer);
    release(restored);
  }
  assert.equal(arena.stats().highWaterBytes < kArenaBytes / 2, true);
});

test('leaves that fit one by one but not together: the wait variant copies the largest rather than wait forever', async () => {
  const arena = new Arena({ bytes: kArenaBytes, minBytes: 1024 });
  const value = { a: filled(40_000, 11), b: filled(30_000, 12) };
  const restored = arena.restore(await arena.offloadAsync(value, { timeoutMs: 30_000 }));
  assert.deepEqual(restored, value);
  assert.ok(!(restored.a.buffer instanceof SharedArrayBuffer));
  assert.ok(restored.b.buffer instanceof SharedArrayBuffer);
  release(restored);
});

test('waitForSpace resolves once enough space is free, and rejects at once with ERR_ARENA_FULL for more than the arena', async () => {
  const { arena, hold } = fullArena();
  const pending = arena.waitForSpace(8192, { timeoutMs: 30_000 });
  assert.equal(await isPending(pending), true);
  release(hold);
  await pending;
  await assert.rejects(arena.waitForSpace(kArenaBytes * 2), { code: 'ERR_ARENA_FULL' });
  await assert.rejects(arena.waitForSpace(-1), { code: 'ERR_INVALID_ARGUMENT' });
});

test('stats count the fallbacks and waits a transport reports, and the async variants reject rather than throw', async () => {
  const arena = new Arena({ bytes: kArenaBytes, minBytes: 1024 });
  arena.recordFallback();
  arena.recordWait(2);
  assert.deepEqual(arena.stats(), {
    bytes: kArenaBytes,
    bytesInUse: 0,
    highWaterBytes: 0,
    units: 0,
    fallbacks: 1,
    waits: 2,
  });
  const rejected = arena.offloadAsync({}, { timeoutMs: -1 });
  await assert.rejects(rejected, {
    code: 'ERR_INVALID_ARGUMENT',
    message: /timeoutMs must be a number of milliseconds >= 0 \(Infinity for none\), got -1/,
  });
});
