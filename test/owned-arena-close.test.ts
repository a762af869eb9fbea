// An arena that spawn or iterateInWorker built from `arena` options is the API's own: it is
// closed once the remote or the stream's worker is gone (closed, ended or dead), so no open
// arena outlives its only user. An Arena the caller passed in stays open: it is the caller's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, close, iterateInWorker, spawn, type ArenaShared } from 'keel';
import { fixture } from './helpers.ts';

type OwnedArena = typeof import('./fixtures/owned-arena.mjs');
const url = fixture('owned-arena.mjs');
const kArenaOptions = { bytes: 2 ** 20 };

/** A handle of the caller's own on the arena a worker was given, to watch it after the worker. */
function watch(shared: ArenaShared | number | undefined): Arena {
  assert.ok(typeof shared === 'object', 'the worker was given an arena');
  return Arena.fromShared(shared);
}

test('spawn closes the arena it built from options once the remote is closed', async () => {
  const remote = await spawn<OwnedArena, 'make'>(url, 'make', [], { arena: kArenaOptions });
  const arena = watch(await remote.shareCurrent());
  assert.equal(arena.closed, false, 'open while the remote lives');
  await close(remote);
  assert.equal(arena.closed, true);
});

test("spawn closes the arena it built from options once the remote's worker dies", async () => {
  const remote = await spawn<OwnedArena, 'make'>(url, 'make', [], { arena: kArenaOptions });
  const arena = watch(await remote.shareCurrent());
  await assert.rejects(remote.die(), { code: 'ERR_WORKER_EXITED' });
  assert.equal(arena.closed, true);
  await close(remote);
});

test('spawn leaves an Arena the caller passed in open', async () => {
  const arena = new Arena(kArenaOptions);
  const remote = await spawn<OwnedArena, 'make'>(url, 'make', [], { arena });
  await close(remote);
  assert.equal(arena.closed, false);
  arena.close();
});

test('iterateInWorker closes the arena it built from options once the stream ends', async () => {
  const stream = iterateInWorker<OwnedArena, 'sharesThenCounts'>(url, 'sharesThenCounts', [3], {
    arena: kArenaOptions,
  });
  const first = await stream.next();
  const arena = watch(first.value);
  assert.equal(arena.closed, false, 'open while the stream runs');
  let counted = 0;
  for await (const _ of stream) counted++;
  assert.equal(counted, 3);
  // The loop ended with the generator; return() waits for the worker's exit.
  await stream.return();
  assert.equal(arena.closed, true);
});

test('iterateInWorker closes the arena it built from options when the loop breaks', async () => {
  const stream = iterateInWorker<OwnedArena, 'sharesThenCounts'>(url, 'sharesThenCounts', [1e6], {
    arena: kArenaOptions,
  });
  const arena = watch((await stream.next()).value);
  await stream.return();
  assert.equal(arena.closed, true);
});

test('iterateInWorker leaves an Arena the caller passed in open', async () => {
  const arena = new Arena(kArenaOptions);
  for await (const _ of iterateInWorker<OwnedArena, 'sharesThenCounts'>(
    url,
    'sharesThenCounts',
    [2],
    { arena },
  ));
  assert.equal(arena.closed, false);
  arena.close();
});
