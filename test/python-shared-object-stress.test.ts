import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SharedObject } from 'keel';
import {
  Program,
  isWhole,
  keelSegments,
  killWritersMidAssign,
  uniqueName,
} from './shared-object-machine-helpers.js';
import { kNeedsPython, pythonPeer, runPythonPeer } from './python-helpers.js';

// Between Node and Python, at full speed: no reader in either language sees a torn 1.2 MB frame
// while the other language assigns, and a writer SIGKILLed inside assign in either language
// leaves a slot the other one reads whole and assigns at once (the same robust mutex and repair).

const kFrameBytes = 1_200_000;
const kSegmentsBefore = keelSegments();
after(() => {
  assert.deepEqual(keelSegments(), kSegmentsBefore, 'the tests left segments in /dev/shm');
});

function createFrameSlot(label: string): { name: string; slot: SharedObject<Uint8Array> } {
  const name = uniqueName(label);
  const slot = SharedObject.create(name, new Uint8Array(kFrameBytes), { scope: 'machine' });
  return { name, slot };
}

test(
  'Node never sees a torn 1.2 MB frame while Python assigns frames at full speed',
  kNeedsPython,
  async () => {
    const { name, slot } = createFrameSlot('py-writes');
    try {
      const writer = pythonPeer(['assign-frames', name, '3']);
      assert.equal(await writer.next(), 'started');
      const frame = new Uint8Array(kFrameBytes);
      const values = new Set<number>();
      let reads = 0;
      let torn = 0;
      let writing = true;
      void writer.exited.then(() => (writing = false));
      while (writing) {
        for (let i = 0; i < 20; i++, reads++) {
          const read = i % 2 === 0 ? slot.fetchInto(frame) : slot.fetch();
          if (!isWhole(read)) torn++;
          values.add(read[0] as number);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      const { frames } = (await writer.next()) as { frames: number };
      await writer.succeeded();
      assert.equal(torn, 0, `${torn} torn frames of ${reads}`);
      assert.ok(values.size > 10, `the reads saw only ${values.size} distinct frames`);
      assert.ok(frames > 100, `Python assigned only ${frames} frames`);
    } finally {
      SharedObject.unlink(name);
    }
  },
);

test(
  'Python never sees a torn 1.2 MB frame while Node assigns frames at full speed',
  kNeedsPython,
  async () => {
    const { name } = createFrameSlot('node-writes');
    try {
      const reader = pythonPeer(['fetch-frames', name, '3']);
      assert.equal(await reader.next(), 'started');
      const writer = new Program('shared-object-machine-writer.mjs', [name, '3000']);
      const result = (await reader.next()) as { reads: number; torn: number; distinct: number };
      await reader.succeeded();
      await writer.succeeded();
      assert.equal(result.torn, 0, `${result.torn} torn frames of ${result.reads}`);
      assert.ok(result.distinct > 10, `Python saw only ${result.distinct} distinct frames`);
    } finally {
      SharedObject.unlink(name);
    }
  },
);

test(
  'a Python writer SIGKILLed at random points of its assigns never leaves the slot locked or torn for Node',
  kNeedsPython,
  async () => {
    const { name, slot } = createFrameSlot('py-killed');
    try {
      await killWritersMidAssign(slot, kFrameBytes, 10, () =>
        pythonPeer(['assign-frames', name, '0']),
      );
    } finally {
      SharedObject.unlink(name);
    }
  },
);

test(
  'a Node writer SIGKILLed at random points of its assigns never leaves the slot locked or torn for Python',
  kNeedsPython,
  async () => {
    const { name } = createFrameSlot('node-killed');
    try {
      for (let round = 1; round <= 10; round++) {
        const writer = new Program('shared-object-machine-writer.mjs', [name, '0']);
        assert.equal(await writer.next(), 'started');
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
        writer.child.kill('SIGKILL');
        assert.equal((await writer.exited).signal, 'SIGKILL');
        const result = (await runPythonPeer(['assign-fill', name, String(round)])) as {
          wholeBefore: boolean;
          ms: number;
          after: number;
          wholeAfter: boolean;
        };
        assert.ok(result.wholeBefore, `round ${round}: Python read a torn frame after the kill`);
        assert.ok(result.ms < 1000, `round ${round}: Python's assign took ${result.ms} ms`);
        assert.ok(result.wholeAfter && result.after === round, `round ${round}: ${result.after}`);
      }
    } finally {
      SharedObject.unlink(name);
    }
  },
);
