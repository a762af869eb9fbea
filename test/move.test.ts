// move() (SPEC §2): a moved value's buffers are transferred, not copied, on every path values
// cross (pool arguments and results, spawned methods, stream items, pipeline tasks, DataLoader
// items and batches); the spec's exceptions copy silently; moved leaves skip the arena.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Arena, DataLoader, Pool, iterateInWorker, move, pipeline, spawn, task } from 'keel';
import { fixture } from './helpers.ts';

type Moves = typeof import('./fixtures/move-values.mjs');
const movesUrl = fixture('move-values.mjs');
const datasetUrl = fixture('move-dataset.mjs');
const kFrameBytes = 256 * 1024;

function frameOf(bytes: number, seed: number): Uint8Array {
  const frame = new Uint8Array(bytes).fill(seed);
  frame[0] = 0xa5;
  return frame;
}

function checkFrame(frame: Uint8Array, bytes: number, seed: number): void {
  assert.equal(frame.byteLength, bytes);
  assert.equal(frame[0], 0xa5);
  assert.equal(frame[bytes - 1], seed);
}

describe('move(): pool arguments and results', () => {
  test("moved arguments arrive intact and the caller's buffer is detached once sent", async () => {
    await using pool = new Pool({ maxThreads: 1 });
    const frame = frameOf(kFrameBytes, 9);
    const arrived = pool.run<ReturnType<Moves['describe']>>(movesUrl, 'describe', [move(frame)]);
    assert.deepEqual(await arrived, {
      byteLength: kFrameBytes,
      first: 0xa5,
      last: 9,
      shared: false,
    });
    assert.equal(frame.byteLength, 0, 'the caller no longer holds the bytes');
  });

  test('arguments not moved are copied: the caller keeps its buffer', async () => {
    await using pool = new Pool({ maxThreads: 1 });
    const frame = frameOf(kFrameBytes, 9);
    assert.equal(
      (await pool.run<ReturnType<Moves['describe']>>(movesUrl, 'describe', [frame])).byteLength,
      kFrameBytes,
    );
    assert.equal(frame.byteLength, kFrameBytes);
  });

  test("a moved result arrives intact and the worker's own buffer is detached once sent", async () => {
    await using pool = new Pool({ maxThreads: 1 });
    const frame = await pool.run<ReturnType<Moves['movedFrame']>>(movesUrl, 'movedFrame', [
      kFrameBytes,
      3,
    ]);
    checkFrame(frame, kFrameBytes, 3);
    assert.deepEqual(await pool.run<ReturnType<Moves['lastState']>>(movesUrl, 'lastState', []), {
      kind: 'frame',
      byteLength: 0,
      text: undefined,
    });
  });

  test('a result not moved leaves the worker its buffer (the check above can fail)', async () => {
    await using pool = new Pool({ maxThreads: 1 });
    checkFrame(
      await pool.run<ReturnType<Moves['copiedFrame']>>(movesUrl, 'copiedFrame', [kFrameBytes, 3]),
      kFrameBytes,
      3,
    );
    const state = await pool.run<ReturnType<Moves['lastState']>>(movesUrl, 'lastState', []);
    assert.equal(state.kind === 'frame' && state.byteLength, kFrameBytes);
  });

  test('pool.module(): a moved result through the module proxy is transferred too', async () => {
    await using pool = new Pool({ maxThreads: 1 });
    const moves = pool.module<Moves>(movesUrl);
    checkFrame(await moves.movedFrame(kFrameBytes, 4), kFrameBytes, 4);
    const state = await moves.lastState();
    assert.equal(state.kind === 'frame' && state.byteLength, 0);
  });

  test("a pooled Buffer (Node's shared slab) is copied: both sides keep their bytes", async () => {
    await using pool = new Pool({ maxThreads: 1 });
    const small = Buffer.from('small');
    const neighbour = Buffer.from('neighbour'); // likely on the same slab
    assert.ok(small.buffer.byteLength > small.byteLength, 'the test needs a pooled Buffer');
    assert.equal(
      (await pool.run<ReturnType<Moves['describe']>>(movesUrl, 'describe', [move(small)]))
        .byteLength,
      5,
    );
    assert.equal(small.toString(), 'small');
    assert.equal(neighbour.toString(), 'neighbour');
    // A Buffer over part of a larger ArrayBuffer of the user's: the other views keep it too.
    const backing = new ArrayBuffer(64);
    const other = new Uint8Array(backing, 32).fill(4);
    const part = Buffer.from(backing, 0, 16).fill(1);
    const seen = await pool.run<ReturnType<Moves['describe']>>(movesUrl, 'describe', [move(part)]);
    assert.deepEqual(seen, { byteLength: 16, first: 1, last: 1, shared: false });
    assert.equal(part.byteLength, 16);
    assert.equal(other[0], 4);
    const returned = await pool.run<ReturnType<Moves['movedPooledBuffer']>>(
      movesUrl,
      'movedPooledBuffer',
      [],
    );
    assert.equal(Buffer.from(returned).toString(), 'small');
    const state = await pool.run<ReturnType<Moves['lastState']>>(movesUrl, 'lastState', []);
    assert.deepEqual(state, { kind: 'buffer', byteLength: 5, text: 'small' });
  });

  test('one buffer reached many times in one moved value is transferred once, views kept apart', async () => {
    await using pool = new Pool({ maxThreads: 1 });
    const value = await pool.run<ReturnType<Moves['movedTwice']>>(movesUrl, 'movedTwice', [4096]);
    assert.equal(value.a, value.b, 'one object stays one object');
    assert.equal(value.a.buffer, value.raw);
    assert.equal(value.head.buffer, value.raw);
    assert.equal(value.words.buffer, value.raw);
    checkFrame(value.a, 4096, 7);
    const state = await pool.run<ReturnType<Moves['lastState']>>(movesUrl, 'lastState', []);
    assert.equal(state.kind === 'frame' && state.byteLength, 0);
    // The caller's side: the same buffer twice in the arguments.
    const frame = frameOf(4096, 1);
    const both = [move(frame), move(frame.subarray(8)), move(frame.buffer)];
    assert.equal(
      (await pool.run<ReturnType<Moves['describe']>>(movesUrl, 'describe', both)).byteLength,
      4096,
    );
    assert.equal(frame.byteLength, 0);
  });

  test('leaves in Maps, Sets and nested objects and arrays are all transferred', async () => {
    await using pool = new Pool({ maxThreads: 1 });
    const value = await pool.run<ReturnType<Moves['movedNested']>>(movesUrl, 'movedNested', [4096]);
    checkFrame(value.map.get('frame')!, 4096, 1);
    assert.equal([...value.set][0]![0], 2);
    assert.equal(value.deep.list[0]![0]!.byteLength, 32);
    assert.deepEqual(await pool.run<ReturnType<Moves['lastState']>>(movesUrl, 'lastState', []), {
      kind: 'parts',
      byteLengths: [0, 0, 0],
    });
  });

  test('a moved value with nothing to transfer crosses as if not moved', async () => {
    await using pool = new Pool({ maxThreads: 1 });
    assert.deepEqual(
      await pool.run<ReturnType<Moves['movedNothing']>>(movesUrl, 'movedNothing', []),
      {
        n: 1,
        text: 'x',
        when: new Date(0),
        list: [1, 2],
      },
    );
    assert.equal(move(5), 5);
    assert.equal(move(null), null);
    const shared = new Uint8Array(new SharedArrayBuffer(64)).fill(3);
    const seen = await pool.run<ReturnType<Moves['describe']>>(movesUrl, 'describe', [
      move(shared),
    ]);
    assert.deepEqual(seen, { byteLength: 64, first: 3, last: 3, shared: true });
    assert.equal(shared.byteLength, 64, 'shared memory stays shared');
  });

  test('with an arena, moved leaves skip it: stats unchanged, the received buffer is not shared', async () => {
    const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: 4096 });
    try {
      await using pool = new Pool({ maxThreads: 1, arena });
      const before = arena.stats();
      const frame = await pool.run<ReturnType<Moves['movedFrame']>>(movesUrl, 'movedFrame', [
        kFrameBytes,
        5,
      ]);
      assert.ok(!(frame.buffer instanceof SharedArrayBuffer));
      checkFrame(frame, kFrameBytes, 5);
      const argument = frameOf(kFrameBytes, 6);
      const seen = await pool.run<ReturnType<Moves['describe']>>(movesUrl, 'describe', [
        move(argument),
      ]);
      assert.equal(seen.shared, false);
      assert.equal(argument.byteLength, 0);
      assert.deepEqual(arena.stats(), before);
      // Not moved, the same result goes through the arena (the check above can fail).
      const copied = await pool.run<ReturnType<Moves['copiedFrame']>>(movesUrl, 'copiedFrame', [
        kFrameBytes,
        5,
      ]);
      assert.ok(copied.buffer instanceof SharedArrayBuffer);
      assert.notDeepEqual(arena.stats(), before);
    } finally {
      arena.close();
    }
  });
});

describe('move(): spawn, streams, pipeline, DataLoader', () => {
  test("spawned methods: moved arguments and results are transferred; each sender's buffer detached", async () => {
    await using maker = await spawn<Moves, 'makeFrameMaker'>(movesUrl, 'makeFrameMaker', []);
    checkFrame(await maker.frame(kFrameBytes, 8), kFrameBytes, 8);
    assert.equal(await maker.lastByteLength(), 0);
    const frame = frameOf(kFrameBytes, 2);
    assert.equal((await maker.describe(move(frame))).last, 2);
    assert.equal(frame.byteLength, 0);
  });

  test("stream items: moved frames arrive intact; the generator's frames are detached once sent", async () => {
    const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: 4096 });
    try {
      const before = arena.stats();
      let count = 0;
      for await (const item of iterateInWorker<Moves, 'movedFrames'>(
        movesUrl,
        'movedFrames',
        [5, kFrameBytes],
        { arena },
      )) {
        assert.equal(item.index, count);
        checkFrame(item.frame, kFrameBytes, count);
        assert.ok(!(item.frame.buffer instanceof SharedArrayBuffer), 'moved items skip the arena');
        assert.equal(item.previousByteLength, count === 0 ? -1 : 0);
        count++;
      }
      assert.equal(count, 5);
      assert.deepEqual(arena.stats(), before);
    } finally {
      arena.close();
    }
  });

  test("pipeline tasks: a task's moved result arrives intact and its worker's buffer is detached", async () => {
    await using pool = new Pool({ maxThreads: 1 });
    const built = pipeline([1, 2, 3])
      .pipe(task<Moves, 'movedFrameOf'>(movesUrl, 'movedFrameOf', { pool }))
      .build();
    let seed = 1;
    for await (const frame of built) checkFrame(frame, kFrameBytes, seed++);
    assert.equal(seed, 4);
    const state = await pool.run<ReturnType<Moves['lastState']>>(movesUrl, 'lastState', []);
    assert.equal(state.kind === 'frame' && state.byteLength, 0);
  });

  test("DataLoader items: moved samples cross uncollated, intact; the worker's samples detached", async () => {
    await using loader = new DataLoader({
      dataset: { module: datasetUrl },
      batchSize: 2,
      chunkSize: 1,
      numWorkers: 1,
      collate: (samples: unknown[]) => samples,
    });
    const samples: { index: number; x: Float32Array; previousByteLength: number }[] = [];
    for await (const batch of loader) samples.push(...(batch as typeof samples));
    assert.equal(samples.length, 6);
    for (const [position, sample] of samples.entries()) {
      assert.equal(sample.index, position);
      assert.equal(sample.x[100], position);
      assert.equal(sample.previousByteLength, position === 0 ? -1 : 0);
    }
  });

  test('DataLoader batches: a chunk of moved samples moves its default-collated batch past the arena', async () => {
    const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: 4096 });
    try {
      await using loader = new DataLoader({
        dataset: { module: datasetUrl },
        batchSize: 3,
        chunkSize: 3,
        numWorkers: 1,
        arena,
      });
      const before = arena.stats();
      let total = 0;
      for await (const batch of loader as AsyncIterable<{
        x: { data: Float32Array; shape: number[] };
      }>) {
        assert.deepEqual(batch.x.shape, [3, 16 * 1024]);
        assert.ok(!(batch.x.data.buffer instanceof SharedArrayBuffer));
        total += batch.x.shape[0]!;
      }
      assert.equal(total, 6);
      assert.deepEqual(arena.stats(), before);
    } finally {
      arena.close();
    }
  });
});

describe('move(): child processes copy', () => {
  test("kind 'process': moved arguments and results are copied; the sender keeps its buffer", async () => {
    await using pool = new Pool({ kind: 'process', maxThreads: 1 });
    const frame = frameOf(kFrameBytes, 9);
    assert.equal(
      (await pool.run<ReturnType<Moves['describe']>>(movesUrl, 'describe', [move(frame)])).last,
      9,
    );
    assert.equal(frame.byteLength, kFrameBytes, 'the caller keeps its bytes');
    checkFrame(
      await pool.run<ReturnType<Moves['movedFrame']>>(movesUrl, 'movedFrame', [kFrameBytes, 3]),
      kFrameBytes,
      3,
    );
    const state = await pool.run<ReturnType<Moves['lastState']>>(movesUrl, 'lastState', []);
    assert.equal(state.kind === 'frame' && state.byteLength, kFrameBytes);
  });
});
