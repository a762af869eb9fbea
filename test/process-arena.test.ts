import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { Arena, iterateInWorker, release, spawn } from 'keel';
import { eventually, fixture, rejectionOf, kNeedsNative } from './helpers.ts';
import type { Leaves } from './fixtures/process-binaries.d.mts';

type Binaries = typeof import('./fixtures/process-binaries.mjs');
type Streams = typeof import('./fixtures/streams.mjs');
const binariesUrl = fixture('process-binaries.mjs');
const streamsUrl = fixture('streams.mjs');
const kKiB = 1024;
const kMiB = 2 ** 20;

/** Every leaf of `value`: the type it must keep, its bytes, and whether it is an arena view. */
function checkLeaves(value: Leaves, bytes: number, seed: number, viaArena: boolean): void {
  const views: ArrayBufferView[] = [
    value.dataView,
    value.buffer,
    ...value.typed,
    ...value.map.values(),
    ...value.set.values(),
    value.nested.deep.frame,
  ];
  assert.ok(value.ab instanceof ArrayBuffer, 'an ArrayBuffer leaf stays an ArrayBuffer');
  assert.equal(value.ab.byteLength, bytes);
  assert.ok(new Uint8Array(value.ab).every((byte) => byte === seed));
  assert.ok(Buffer.isBuffer(value.buffer) && Buffer.isBuffer(value.nested.deep.frame));
  const names = value.typed.map((view) => view.constructor.name);
  assert.deepEqual(names, [
    'Int8Array',
    'Uint8Array',
    'Uint8ClampedArray',
    'Int16Array',
    'Uint16Array',
    'Int32Array',
    'Uint32Array',
    'Float32Array',
    'Float64Array',
    'BigInt64Array',
    'BigUint64Array',
  ]);
  for (const view of views) {
    assert.equal(view.byteLength, bytes);
    assert.equal(view.buffer instanceof SharedArrayBuffer, viaArena, view.constructor.name);
    const bytesOf = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    assert.ok(
      bytesOf.every((byte) => byte === seed),
      `${view.constructor.name} intact`,
    );
  }
}

test(
  'every binary leaf type crosses to and from a child process through the arena: views over shared memory, intact, space returned',
  kNeedsNative,
  async () => {
    const arena = new Arena({ bytes: 16 * kMiB });
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process', arena });
    try {
      assert.equal(await remote.isArenaChild(), true);
      const made = await remote.leaves(64 * kKiB, 7);
      checkLeaves(made, 64 * kKiB, 7, true);
      // Back to the child and home again: the child receives arena views and sends them on.
      const sent = (await import('./fixtures/process-binaries.mjs')).makeLeaves(64 * kKiB, 9);
      const echoed = await remote.echo(sent);
      checkLeaves(echoed as Leaves, 64 * kKiB, 9, true);
      release(made);
      release(echoed);
      assert.equal(arena.stats().fallbacks, 0);
    } finally {
      await remote[Symbol.asyncDispose]();
    }
    // What the child still held until its garbage collector ran is reclaimed at its exit.
    await eventually(() => arena.stats().bytesInUse === 0, 'every unit returned');
    arena.close();
  },
);

test(
  'a child maps the arena and its lane, and keeps none of the handed descriptors open',
  kNeedsNative,
  async () => {
    const arena = new Arena({ bytes: 4 * kMiB });
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process', arena });
    try {
      const labels = await remote.mappedLabels();
      assert.ok(labels.includes('keel-arena'), `mapped: ${labels.join(', ')}`);
      assert.equal(labels.filter((label) => label === 'keel-lane').length, 2, 'two rings');
      assert.equal(await remote.openMemfds(), 0);
    } finally {
      await remote[Symbol.asyncDispose]();
      arena.close();
    }
  },
);

test(
  'an RPC sender falls back to copying when the arena is full, and the value still arrives intact',
  kNeedsNative,
  async () => {
    const arena = new Arena({ bytes: 1 * kMiB });
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process', arena });
    try {
      // The child keeps this one: its space stays taken.
      await remote.hold(new Uint8Array(768 * kKiB).fill(1));
      const big = new Uint8Array(512 * kKiB).fill(3);
      const back = (await remote.echo(big)) as Uint8Array;
      assert.ok(back.every((byte) => byte === 3));
      assert.ok(arena.stats().fallbacks >= 1, 'counted as a fallback');
    } finally {
      await remote[Symbol.asyncDispose]();
      arena.close();
    }
  },
);

test(
  'a child SIGKILLed while holding arena space: pending calls reject with ERR_WORKER_EXITED, its space returns, the next child works',
  kNeedsNative,
  async () => {
    const arena = new Arena({ bytes: 4 * kMiB });
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process', arena });
    const pid = await remote.pid();
    await remote.hold(new Uint8Array(1 * kMiB).fill(5));
    assert.ok(arena.stats().bytesInUse >= kMiB, 'the child holds its argument');
    const pending = remote.hang();
    process.kill(pid, 'SIGKILL');
    const error = (await rejectionOf(pending)) as { code?: string; message: string };
    assert.equal(error.code, 'ERR_WORKER_EXITED');
    assert.match(error.message, /SIGKILL/);
    await eventually(() => arena.stats().bytesInUse === 0, 'the dead child space reclaimed');
    const next = await spawn<Binaries>(binariesUrl, { kind: 'process', arena });
    try {
      const back = (await next.echo(new Uint8Array(2 * kMiB).fill(8))) as Uint8Array;
      assert.ok(back.buffer instanceof SharedArrayBuffer && back.every((byte) => byte === 8));
      release(back);
    } finally {
      await next[Symbol.asyncDispose]();
      arena.close();
    }
  },
);

test(
  'a process stream whose child is SIGKILLed mid-stream rejects with ERR_WORKER_EXITED, gives its arena space back, and the next stream works',
  kNeedsNative,
  async () => {
    const arena = new Arena({ bytes: 4 * kMiB });
    const frameBytes = 256 * kKiB;
    const stream = iterateInWorker<Binaries, 'pidFrames'>(binariesUrl, 'pidFrames', [frameBytes], {
      kind: 'process',
      arena,
      buffer: 4,
    });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    const { pid, frame } = first.value as { pid: number; frame: Uint8Array };
    assert.notEqual(pid, process.pid);
    release(frame);
    // Items the child wrote ahead (up to the buffer) sit in the arena, unread, when it dies.
    await eventually(() => arena.stats().bytesInUse >= frameBytes, 'the child wrote ahead');
    process.kill(pid, 'SIGKILL');
    let failure: unknown;
    try {
      for (;;) {
        const item = await iterator.next();
        if (item.done) break;
        release((item.value as { frame: Uint8Array }).frame);
      }
    } catch (error) {
      failure = error;
    }
    assert.equal((failure as { code?: string } | undefined)?.code, 'ERR_WORKER_EXITED');
    await eventually(() => arena.stats().bytesInUse === 0, 'the dead child space reclaimed');
    // The same arena serves the next child.
    let seen = 0;
    for await (const item of iterateInWorker<Streams, 'frames'>(
      streamsUrl,
      'frames',
      [4, frameBytes],
      { kind: 'process', arena, buffer: 2 },
    )) {
      assert.ok(item.frame.buffer instanceof SharedArrayBuffer && item.frame[1] === seen);
      release(item.frame);
      seen++;
    }
    assert.equal(seen, 4);
    arena.close();
  },
);

test(
  'a process stream with an arena delivers views over shared memory, and a full arena makes the child wait',
  kNeedsNative,
  async () => {
    // Room for three of the eight frames: the child must wait until the loop releases some.
    const arena = new Arena({ bytes: 1 * kMiB });
    const frameBytes = 256 * kKiB;
    const items: { index: number; frame: Uint8Array }[] = [];
    for await (const item of iterateInWorker<Streams, 'frames'>(
      streamsUrl,
      'frames',
      [8, frameBytes],
      {
        kind: 'process',
        arena,
        buffer: 8,
      },
    )) {
      assert.ok(item.frame.buffer instanceof SharedArrayBuffer, 'a view over the arena');
      assert.equal(item.frame[0], 0xa5);
      assert.equal(item.frame[frameBytes - 1], item.index & 0xff);
      items.push(item);
      // A slow loop holding three frames keeps the arena full; releasing the oldest lets the
      // child go on.
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (items.length > 3) release(items.shift()!.frame);
    }
    for (const item of items) release(item.frame);
    const stats = arena.stats();
    assert.ok(stats.waits > 0, 'the child waited for room');
    assert.equal(stats.fallbacks, 0, 'a stream never falls back to copying');
    await eventually(() => arena.stats().bytesInUse === 0, 'every frame returned');
    arena.close();
  },
);

test(
  'process remotes and streams with an arena leave nothing in /dev/shm',
  kNeedsNative,
  async () => {
    const before = new Set(readdirSync('/dev/shm'));
    const arena = new Arena({ bytes: 2 * kMiB });
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process', arena });
    release(await remote.echo(new Uint8Array(256 * kKiB)));
    process.kill(await remote.pid(), 'SIGKILL');
    await rejectionOf(remote.hang());
    arena.close();
    const added = readdirSync('/dev/shm').filter((name) => !before.has(name));
    assert.deepEqual(added, []);
  },
);
