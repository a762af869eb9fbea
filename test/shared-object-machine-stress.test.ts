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
import { kNeedsNative } from './helpers.ts';

// Across processes a reader never sees a torn frame while a writer assigns at full speed, and a
// writer SIGKILLed at any point of assign() never leaves the slot locked or a copy half made.

const kFrameBytes = 1_200_000;
const kSegmentsBefore = keelSegments();
after(() => {
  assert.deepEqual(keelSegments(), kSegmentsBefore, 'the tests left segments in /dev/shm');
});

test(
  'a reader in this process never sees a torn 1.2 MB frame while another process assigns at full speed',
  kNeedsNative,
  async () => {
    const name = uniqueName('torn');
    const slot = SharedObject.create(name, new Uint8Array(kFrameBytes), { scope: 'machine' });
    try {
      const writer = new Program('shared-object-machine-writer.mjs', [name, '3000']);
      assert.equal(await writer.next(), 'started');
      const frame = new Uint8Array(kFrameBytes);
      const values = new Set<number>();
      let reads = 0;
      let torn = 0;
      let writing = true;
      void writer.exited.then(() => (writing = false));
      while (writing) {
        for (let i = 0; i < 20; i++, reads++) {
          slot.fetchInto(frame);
          if (!isWhole(frame)) torn++;
          values.add(frame[0] as number);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      const { frames } = (await writer.next()) as { frames: number };
      await writer.succeeded();
      assert.equal(torn, 0, `${torn} torn frames of ${reads}`);
      assert.ok(values.size > 10, `the reads saw only ${values.size} distinct frames`);
      assert.ok(frames > 100, `the writer assigned only ${frames} frames`);
    } finally {
      SharedObject.unlink(name);
    }
  },
);

test(
  'a writer SIGKILLed at random points of its assigns, twenty times, never leaves the slot locked or torn',
  kNeedsNative,
  async () => {
    const name = uniqueName('killed');
    const slot = SharedObject.create(name, new Uint8Array(kFrameBytes), { scope: 'machine' });
    try {
      await killWritersMidAssign(
        slot,
        kFrameBytes,
        20,
        () => new Program('shared-object-machine-writer.mjs', [name, '0']),
      );
    } finally {
      SharedObject.unlink(name);
    }
  },
);
