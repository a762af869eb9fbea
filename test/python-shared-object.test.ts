import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import { after, test } from 'node:test';
import { SharedObject } from 'keel';
import { keelSegments, uniqueName, unlinkQuietly } from './shared-object-machine-helpers.js';
import { kNeedsPython, pythonPeer, runPythonPeer } from './python-helpers.js';

// Machine-scope SharedObjects between Node and Python (python/keel_shared_object.py, run by a
// real python3 with numpy): values of every kind in both directions, mtime on one clock,
// changed() woken across the language boundary, and the same type checks on both sides.

const kSegmentsBefore = keelSegments();
after(() => {
  assert.deepEqual(keelSegments(), kSegmentsBefore, 'the tests left segments in /dev/shm');
});

/**
 * Resolves once the slot's `waiters` header word (byte 76, docs/processes.md) is non-zero, read
 * from the segment file: a changed() in another process is then waiting.
 */
async function waitersCounted(name: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  const word = Buffer.alloc(4);
  for (;;) {
    const fd = openSync(`/dev/shm/keel.${name}`, 'r');
    try {
      readSync(fd, word, 0, 4, 76);
    } finally {
      closeSync(fd);
    }
    if (word.readInt32LE(0) > 0) return;
    assert.ok(performance.now() < deadline, 'the Python waiter never counted itself');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A frame whose bytes follow a pattern Python can check from the sum and the first bytes. */
function patternFrame(): Uint8Array {
  const frame = new Uint8Array(480 * 848 * 3);
  for (let i = 0; i < frame.length; i++) frame[i] = (i * 7) % 251;
  return frame;
}

test(
  'Python reads a frame Node created: shape, dtype, values and mtime equal',
  kNeedsPython,
  async () => {
    const name = uniqueName('py-read');
    const frame = patternFrame();
    const slot = SharedObject.create(name, frame, { scope: 'machine', shape: [480, 848, 3] });
    try {
      slot.assign(frame); // an assign, not only the creation: mtime and latest have moved
      const read = (await runPythonPeer(['read', name])) as {
        value: { dtype: string; shape: number[]; sum: number; head: number[] };
        mtime: string;
        kind: string;
      };
      assert.equal(read.value.dtype, 'uint8');
      assert.deepEqual(read.value.shape, [480, 848, 3]);
      assert.equal(
        read.value.sum,
        frame.reduce((sum, byte) => sum + byte, 0),
      );
      assert.deepEqual(read.value.head, [0, 7, 14, 21]);
      assert.equal(read.mtime, slot.mtime.toString());
      assert.equal(read.kind, 'Uint8Array[480x848x3]');
    } finally {
      SharedObject.unlink(name);
    }
  },
);

test('Python reads an object slot of every kind as Node assigned it', kNeedsPython, async () => {
  const name = uniqueName('py-kinds');
  const slot = SharedObject.create(
    name,
    {
      x: 0.5,
      n: 1n,
      ok: false,
      label: '',
      raw: Buffer.alloc(2),
      nothing: null,
      pose: { xyz: new Float32Array(3) },
    },
    { scope: 'machine' },
  );
  try {
    slot.assign({
      x: -2.5,
      n: -(2n ** 63n),
      ok: true,
      label: 'caméra ☃',
      raw: Buffer.from([9, 255]),
      nothing: null,
      pose: { xyz: new Float32Array([1.5, 2.5, 3.5]) },
    });
    const { value } = (await runPythonPeer(['read', name])) as { value: unknown };
    assert.deepEqual(value, {
      x: { type: 'float', value: -2.5 },
      n: { type: 'int', value: -(2 ** 63) },
      ok: { type: 'bool', value: true },
      label: { type: 'str', value: 'caméra ☃' },
      raw: { bytes: [9, 255] },
      nothing: { type: 'NoneType', value: null },
      pose: { xyz: { dtype: 'float32', shape: [3], sum: 7.5, head: [1.5, 2.5, 3.5] } },
    });
  } finally {
    SharedObject.unlink(name);
  }
});

test(
  'Node opens slots Python created: float is number, int bigint, bytes Buffer, arrays typed and shaped',
  kNeedsPython,
  async () => {
    const name = uniqueName('py-create');
    try {
      const { mtime } = (await runPythonPeer(['create', name])) as { mtime: string };
      const state = SharedObject.open(name);
      assert.equal(state.scope, 'machine');
      assert.deepEqual(state.fetch(), {
        x: 1.25,
        n: -(2n ** 40n),
        ok: true,
        label: 'café',
        raw: Buffer.from([1, 2]),
        nothing: null,
        pose: { xyz: new Float64Array([1, 2, 3]) },
      });
      const frame = SharedObject.open<Float32Array>(`${name}-frame`);
      assert.deepEqual(frame.shape, [16, 4]);
      const values = frame.fetch();
      assert.ok(values instanceof Float32Array);
      assert.deepEqual([...values.subarray(0, 4)], [0, 1, 2, 3]);
      assert.equal(frame.mtime.toString(), mtime);
      // Node's own assign works on the slot Python made (its robust mutex, its layout).
      frame.assign(new Float32Array(64).fill(2));
      const read = (await runPythonPeer(['read', `${name}-frame`])) as {
        value: { sum: number };
      };
      assert.equal(read.value.sum, 128);
      state.close();
      frame.close();
    } finally {
      unlinkQuietly(name);
      unlinkQuietly(`${name}-frame`);
    }
  },
);

test('changed() in Node wakes on an assign in Python', kNeedsPython, async () => {
  const name = uniqueName('py-wake-node');
  const slot = SharedObject.create(name, { count: 0, label: 'initial' }, { scope: 'machine' });
  try {
    const changed = slot.changed({ timeoutMs: 20_000 });
    assert.equal(await runPythonPeer(['assign-object', name, '3']), 'assigned');
    await changed;
    assert.deepEqual(slot.fetch(), { count: 3, label: 'python 3' });
  } finally {
    SharedObject.unlink(name);
  }
});

test(
  "changed() in Python wakes on Node's assign, within a fraction of a second",
  kNeedsPython,
  async () => {
    const name = uniqueName('py-wake-python');
    const slot = SharedObject.create(name, new Float64Array(2), { scope: 'machine' });
    try {
      const waiter = pythonPeer(['wait-change', name]);
      assert.equal(await waiter.next(), 'ready');
      // Assign only once Python counts itself a waiter (it is then inside changed()). Its wait
      // re-arms at most every second, so a wake-up that came from that re-arming and not from
      // the futex would show an age near a second.
      await waitersCounted(name);
      slot.assign(new Float64Array([4, 5]));
      const woke = (await waiter.next()) as {
        changed: boolean;
        ageMs: number;
        value: { sum: number };
      };
      await waiter.succeeded();
      assert.equal(woke.changed, true);
      assert.equal(woke.value.sum, 9);
      assert.ok(woke.ageMs < 500, `Python woke ${woke.ageMs} ms after the assign`);
    } finally {
      SharedObject.unlink(name);
    }
  },
);

test(
  'Python refuses values that do not fit a slot Node created, naming what differs',
  kNeedsPython,
  async () => {
    const name = uniqueName('py-mismatch');
    const slot = SharedObject.create(
      name,
      { pose: new Float64Array(3), n: 1n },
      { scope: 'machine' },
    );
    try {
      const results = (await runPythonPeer(['mismatches', name])) as {
        type: string;
        message: string;
      }[];
      const expected: [string, RegExp][] = [
        [
          'TypeError',
          /value\.pose must be a Float64Array of 3 elements .*got a numpy float32 array/,
        ],
        ['ValueError', /value\.pose must be a Float64Array of 3 elements .*shape \(4,\)/],
        ['TypeError', /value\.n must be an int in the int64 range \(a bigint\), got float 1\.5/],
        ['ValueError', /value\.n must be an int in the int64 range/],
        [
          'TypeError',
          /value must be a dict with the keys \[pose, n\], got a dict with the keys \[pose\]/,
        ],
        ['TypeError', /out\.pose must be a Float64Array/],
      ];
      assert.equal(results.length, expected.length);
      results.forEach((result, index) => {
        const [type, message] = expected[index] as [string, RegExp];
        assert.equal(result.type, type, JSON.stringify(result));
        assert.match(result.message, message);
        assert.match(result.message, new RegExp(`^SharedObject "${name}": `));
      });
      assert.equal(slot.modified, false, 'a refused assign wrote something');
    } finally {
      SharedObject.unlink(name);
    }
  },
);

test('Node refuses values that do not fit a slot Python created', kNeedsPython, async () => {
  const name = uniqueName('node-mismatch');
  try {
    await runPythonPeer(['create', name]);
    const frame = SharedObject.open(`${name}-frame`);
    assert.throws(() => frame.assign(new Float64Array(64)), {
      code: 'ERR_TYPE_MISMATCH',
      message: /value must be a Float32Array of 64 elements, got a Float64Array of 64 elements/,
    });
    assert.throws(() => frame.assign(new Float32Array(63)), { code: 'ERR_TYPE_MISMATCH' });
    const state = SharedObject.open(name);
    const good = state.fetch() as Record<string, unknown>;
    // Python's int is a bigint slot: a number does not fit it.
    assert.throws(() => state.assign({ ...good, n: 5 }), {
      code: 'ERR_TYPE_MISMATCH',
      message: /value\.n must be a bigint in the int64 range, got 5/,
    });
    assert.throws(() => state.assign({ ...good, label: 'x'.repeat(65) }), {
      code: 'ERR_TYPE_MISMATCH',
      message: /value\.label must be a string of at most 64 UTF-8 bytes/,
    });
    assert.equal(frame.modified || state.modified, false);
    frame.close();
    state.close();
  } finally {
    unlinkQuietly(name);
    unlinkQuietly(`${name}-frame`);
  }
});

test(
  'names: Python refuses what Node refuses, and a non-ASCII name reaches the same slot',
  kNeedsPython,
  async () => {
    const name = `${uniqueName('names')}-caméra`;
    const results = (await runPythonPeer(['bad-names', name])) as { type: string }[];
    assert.deepEqual(
      results.map((result) => result.type),
      [
        'TypeError',
        'ValueError',
        'ValueError',
        'ValueError',
        'FileNotFoundError',
        'FileNotFoundError',
      ],
    );
    for (const bad of ['a/b', 'x'.repeat(201), 'nul\0byte']) {
      assert.throws(() => SharedObject.create(bad, 1, { scope: 'machine' }), {
        code: 'ERR_INVALID_ARGUMENT',
      });
    }
    const slot = SharedObject.create(name, 2.5, { scope: 'machine' });
    try {
      const { value } = (await runPythonPeer(['read', name])) as { value: unknown };
      assert.deepEqual(value, { type: 'float', value: 2.5 });
    } finally {
      slot.close();
      SharedObject.unlink(name);
    }
  },
);
