// Arena.current(): worker code writes results straight into the arena its pool, remote or
// stream was given, and what it returns or yields crosses by reference and is handed over (the
// worker's hold ends once it is sent), so space comes back as soon as the caller releases it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, Pool, close, iterateInWorker, release, spawn } from 'keel';
import type * as Fixture from './fixtures/arena-current.mjs';
import { eventually, fixture } from './helpers.ts';

const kModule = fixture('arena-current.mjs');
const kMiB = 2 ** 20;

test('Arena.current() is undefined outside keel workers and in workers without an arena', async () => {
  assert.equal(Arena.current(), undefined);
  await using plain = new Pool({ maxThreads: 1 });
  assert.equal(await plain.run(kModule, 'hasArena', []), false);
  await using withArena = new Pool({ maxThreads: 1, arena: { bytes: 4 * kMiB } });
  assert.equal(await withArena.run(kModule, 'hasArena', []), true);
  const remote = await spawn<typeof Fixture, 'make'>(kModule, 'make', [], {
    arena: { bytes: 4 * kMiB },
  });
  try {
    assert.equal(await remote.hasArena(), true);
  } finally {
    await close(remote);
  }
  const child = await spawn<typeof Fixture, 'make'>(kModule, 'make', [], { kind: 'process' });
  try {
    assert.equal(await child.hasArena(), false, 'a child process cannot map the arena');
  } finally {
    await close(child);
  }
});

test('a pool result written in place crosses by reference and its space returns on release', async () => {
  const arena = new Arena({ bytes: 16 * kMiB });
  await using pool = new Pool({ minThreads: 2, maxThreads: 2, arena });
  const typed = pool.module<typeof Fixture>(kModule);
  // Far more results than the arena holds at once: only handing over makes room again.
  for (let call = 0; call < 120; call++) {
    const byte = call & 0xff;
    const view = await typed.filled(2 * kMiB, byte);
    assert.equal(view.length, 2 * kMiB);
    assert.ok(view.buffer instanceof SharedArrayBuffer, 'a view over the arena, not a copy');
    assert.equal(view[0], byte);
    assert.equal(view[view.length - 1], byte);
    assert.equal(release(view), 1);
  }
  assert.equal(arena.stats().fallbacks, 0);
  // The worker lets go right after posting, so the last one may still be on its way.
  await eventually(() => arena.stats().bytesInUse === 0, 'the workers kept no hold');
});

test('frames a generator writes in place stream by reference through a small arena', async () => {
  const arena = new Arena({ bytes: 8 * kMiB });
  const count = 150;
  let next = 0;
  for await (const { index, frame } of iterateInWorker<typeof Fixture, 'frames'>(
    kModule,
    'frames',
    [count, kMiB],
    { arena, buffer: 2 },
  )) {
    assert.equal(index, next++);
    assert.equal(frame.length, kMiB);
    assert.equal(frame[0], index & 0xff);
    assert.equal(frame[kMiB - 1], index & 0xff);
    release(frame);
  }
  assert.equal(next, count, '150 MiB through an 8 MiB arena');
  assert.equal(arena.stats().fallbacks, 0);
  assert.equal(arena.stats().bytesInUse, 0);
});
