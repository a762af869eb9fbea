// A send with `wake: false` publishes without waking a sleeping receiver; `wakePeer()` wakes
// it later. Both ends live on this thread: a parked Atomics.waitAsync is woken by a notify
// from its own thread too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRingBuffer, RingReader, RingWriter } from '../dist/transport/fast-lane/ring.js';
import { createFastLane, FastLaneServer, kNoMessage } from '../dist/transport/fast-lane/duplex.js';

const kWaitMs = 400;

test('a frame written with wake false leaves a sleeping reader asleep until wakeConsumer()', async () => {
  const buffer = createRingBuffer(1024);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  setTimeout(() => {
    assert.ok(writer.tryWrite(new Uint8Array([1, 2, 3]), 3, false));
  }, 10);
  let startedMs = performance.now();
  assert.equal(await reader.waitAsync(kWaitMs), true, 'the frame is there after the wait');
  assert.ok(performance.now() - startedMs >= kWaitMs - 20, 'the write did not wake the reader');
  reader.release();
  assert.equal(reader.peek(), 3);
  reader.release();

  setTimeout(() => {
    writer.tryWrite(new Uint8Array([4]), 1, false);
    writer.wakeConsumer();
  }, 10);
  startedMs = performance.now();
  assert.equal(await reader.waitAsync(10_000), true);
  assert.ok(performance.now() - startedMs < kWaitMs, 'wakeConsumer() woke the reader');
});

test('send(value, { wake: false }) then wakePeer() delivers in order, over the ring and the port', async () => {
  const { caller, serverInit } = createFastLane<string>();
  const server = new FastLaneServer<string>(serverInit);
  setTimeout(() => {
    server.send('small', { wake: false });
    server.send(new Uint8Array(200 * 1024), { wake: false }); // larger than half a ring: the port
    server.send('last', { wake: false });
    setTimeout(() => {
      server.wakePeer();
    }, kWaitMs);
  }, 10);
  const startedMs = performance.now();
  assert.equal(await caller.waitForResponse({ spinUs: 0, timeoutMs: 10_000 }), 'data');
  assert.ok(performance.now() - startedMs >= kWaitMs - 20, 'no send woke the caller');
  assert.equal(caller.receive(), 'small');
  assert.equal((caller.receive() as Uint8Array).length, 200 * 1024);
  assert.equal(caller.receive(), 'last');
  assert.equal(caller.receive(), kNoMessage);
  caller.close();
  server.close();
});
