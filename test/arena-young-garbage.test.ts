// What a received value leaves behind once released: nothing that outlives a young collection.
// In a file of its own: the measure is of this process's old space, and other tests' values
// (and their full collections) would blur it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Arena, release } from '../dist/memory/arena/index.js';

// `npm test` passes --expose-gc; run alone, the flag is set here (V8 accepts it after start-up).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: object) => void;

test('a received container released at once dies young: nothing of it is promoted', async () => {
  // Weak collections can keep what they hold through V8's minor collections (a WeakMap's
  // table, grown while its dead keys wait for a full collection, is young and strong), so
  // bookkeeping kept in one per received value promoted every value, with its tickets, to
  // the old generation: long scavenges, a growing old space, pauses for the threads that spin
  // for each other's messages. Measured here as the old space's largest growth while 50,000
  // container values are received and released, with a young collection after each 2,000,
  // taken once the pins of those 2,000 have left the pending list (10 ms). (With such a map,
  // the growth took off after ~30,000 values: 3-14 MB; without, ~0.5 MB.)
  const arena = new Arena({ bytes: 1024 * 1024, minBytes: 1024 });
  const source = { frame: new Uint8Array(4096).fill(12), seq: 0 };
  const receiveAndRelease = async (batches: number, afterEach: () => void): Promise<void> => {
    for (let batch = 0; batch < batches; batch++) {
      for (let round = 0; round < 2_000; round++) {
        source.seq = round;
        const received = arena.restore(arena.offload(source));
        assert.equal(received.seq, round);
        release(received);
      }
      await delay(12);
      release(arena.restore(arena.offload(source.frame))); // flushes the pending list
      gc({ type: 'minor', execution: 'sync' });
      afterEach();
    }
  };
  await receiveAndRelease(2, () => undefined); // compiles the path; keeps what it keeps for good
  gc();
  const before = oldSpaceUsedBytes();
  let grownBytes = 0;
  await receiveAndRelease(25, () => {
    // The largest growth seen: a full collection in between would hide a leak's total.
    grownBytes = Math.max(grownBytes, oldSpaceUsedBytes() - before);
  });
  assert.ok(grownBytes < 2_000_000, `old space grew by ${grownBytes} bytes`);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('a value released at once leaves nothing queued: its pin is collectable before any registration', async () => {
  // Pins wait up to 10 ms to be registered with the FinalizationRegistry; the queue must let go
  // of a released one, or every value received and released keeps its pin (and the pin its
  // lease and numbers) alive through the next young collection.
  const arena = new Arena({ bytes: 1024 * 1024, minBytes: 1024 });
  const pins: WeakRef<object>[] = [];
  (() => {
    for (let round = 0; round < 20; round++) {
      const received = arena.restore(arena.offload({ frame: new Uint8Array(4096).fill(round) }));
      pins.push(new WeakRef(received.frame.buffer));
      release(received);
    }
  })();
  await nextTurn(); // WeakRef targets are kept until the end of the current job
  gc();
  const alive = pins.filter((pin) => pin.deref() !== undefined).length;
  assert.equal(alive, 0, `${alive} of 20 released pins were still held`);
  assert.equal(arena.stats().bytesInUse, 0);
});

function oldSpaceUsedBytes(): number {
  const old = getHeapSpaceStatistics().find((space) => space.space_name === 'old_space');
  return old?.space_used_size ?? 0;
}
