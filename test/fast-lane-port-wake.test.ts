// A message that goes over a lane's port (a transfer, a large value) wakes a receiver parked in
// an async wait by its own arrival: the sender does not notify it through the ring as well, so
// the receiving thread wakes once per message; ring frames still notify. Both ends live on this
// thread, as a worker's would behave: the port's listener runs as a task of the event loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFastLane, FastLaneServer, kNoMessage } from '../dist/transport/fast-lane/duplex.js';
import { kRingHeaderBytes, kRingWords, RingWriter } from '../dist/transport/fast-lane/ring.js';

const kLongWaitMs = 10_000;

function sleepFlag(ring: SharedArrayBuffer): () => number {
  const header = new Int32Array(ring, 0, kRingHeaderBytes / 4);
  return () => Atomics.load(header, kRingWords.kSleeping);
}

test('a transfer over the port ends an async wait without a notify; a ring frame still notifies', async () => {
  const { caller, serverInit } = createFastLane<never>();
  const server = new FastLaneServer<never, unknown>(serverInit);
  const flag = sleepFlag(serverInit.responses);
  try {
    let flagAfterPortSend = -1;
    setTimeout(() => {
      const frame = new Uint8Array(4096).fill(7);
      assert.equal(server.send(frame, { transfer: [frame.buffer] }), 'port');
      assert.equal(frame.byteLength, 0, 'the sender is detached');
      flagAfterPortSend = flag();
    }, 20);
    assert.equal(await caller.waitForResponse({ spinUs: 0, timeoutMs: kLongWaitMs }), 'data');
    assert.equal(flagAfterPortSend, 2, 'the sender left a listening sleeper alone: no notify');
    const frame = caller.receive() as Uint8Array;
    assert.equal(frame.byteLength, 4096);
    assert.equal(frame[4095], 7);
    assert.equal(flag(), 0, 'the receiver is awake again');

    let flagAfterRingSend = -1;
    setTimeout(() => {
      assert.equal(server.send('small'), 'ring');
      flagAfterRingSend = flag();
    }, 20);
    assert.equal(await caller.waitForResponse({ spinUs: 0, timeoutMs: kLongWaitMs }), 'data');
    assert.equal(flagAfterRingSend, 0, 'a ring frame cleared the flag and notified');
    assert.equal(caller.receive(), 'small');
  } finally {
    caller.close();
    server.close();
  }
});

test('port messages and ring frames sent to a parked receiver arrive in send order', async () => {
  const { caller, serverInit } = createFastLane<never>();
  const server = new FastLaneServer<never, unknown>(serverInit);
  try {
    const sent: string[] = [];
    setTimeout(() => {
      for (let i = 0; i < 6; i++) {
        const label = `m${i}`;
        sent.push(label);
        if (i % 2 === 0) server.send(label);
        else {
          const bytes = new Uint8Array(64);
          server.send({ label, bytes }, { transfer: [bytes.buffer] });
        }
      }
    }, 20);
    const received: string[] = [];
    const drain = () => {
      for (let m = caller.receive(); m !== kNoMessage; m = caller.receive()) {
        received.push(typeof m === 'string' ? m : (m as { label: string }).label);
      }
    };
    // Draining from the port's listener too: a message the listener kept must come before
    // those still queued on the port.
    caller.onArrivalBeside(drain);
    while (received.length < 6) {
      const outcome = await caller.waitForResponse({ spinUs: 0, timeoutMs: 1_000 });
      assert.notEqual(outcome, 'closed');
      drain();
    }
    assert.deepEqual(received, sent);
  } finally {
    caller.close();
    server.close();
  }
});

test('a port message taken before its announcement is delivered once; the late announcement is no message', async () => {
  const { caller, serverInit } = createFastLane<never, string>();
  // The server's end by hand: the port and the responses ring, so that the envelope can be
  // posted with its announcement held back (a sender preempted between the two steps).
  const writer = new RingWriter(serverInit.responses);
  const port = serverInit.port;
  try {
    setTimeout(() => {
      port.postMessage([0, 'early']);
    }, 20);
    assert.equal(await caller.waitForResponse({ spinUs: 0, timeoutMs: kLongWaitMs }), 'data');
    assert.equal(caller.receive(), 'early');
    writer.announceOutOfBand();
    assert.equal(await caller.waitForResponse({ spinUs: 0, timeoutMs: 200 }), 'timeout');
    assert.equal(caller.receive(), kNoMessage, 'the late announcement is not a second message');

    setTimeout(() => {
      port.postMessage([0, 'next']);
      writer.announceOutOfBand();
    }, 20);
    assert.equal(await caller.waitForResponse({ spinUs: 0, timeoutMs: kLongWaitMs }), 'data');
    assert.equal(caller.receive(), 'next');
    assert.equal(caller.receive(), kNoMessage);
  } finally {
    caller.close();
    port.close();
  }
});

test('onArrivalBeside hands a port message to its receiver before the parked wait settles', async () => {
  const { caller, serverInit } = createFastLane<never, string>();
  const server = new FastLaneServer<never, string>(serverInit);
  try {
    const order: string[] = [];
    caller.onArrivalBeside(() => {
      for (let m = caller.receive(); m !== kNoMessage; m = caller.receive()) order.push(`got ${m}`);
    });
    setTimeout(() => {
      const bytes = new Uint8Array(16);
      server.send('moved', { transfer: [bytes.buffer] });
    }, 20);
    const outcome = await caller.waitForResponse({ spinUs: 0, timeoutMs: 300 });
    order.push(`wait ${outcome}`);
    assert.deepEqual(
      order,
      ['got moved', 'wait timeout'],
      'the wait found nothing left and parked on',
    );
  } finally {
    caller.close();
    server.close();
  }
});

test('waits ended by port arrivals leave nothing behind on the parked wait', async () => {
  // Each wait that a port message ends reuses the same parked Atomics.waitAsync (it settles
  // only at the next notify). Nothing of a finished wait may stay attached to it: 10,000 such
  // waits must not grow the heap (a reaction per wait held ~600 bytes each until a notify).
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'the suite runs with --expose-gc');
  const { caller, serverInit } = createFastLane<never>();
  const server = new FastLaneServer<never, unknown>(serverInit);
  const roundsOverThePort = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      setImmediate(() => {
        const frame = new Uint8Array(8);
        server.send(frame, { transfer: [frame.buffer] });
      });
      assert.equal(await caller.waitForResponse({ spinUs: 0, timeoutMs: kLongWaitMs }), 'data');
      assert.notEqual(caller.receive(), kNoMessage);
    }
  };
  try {
    await roundsOverThePort(500);
    gc();
    const before = process.memoryUsage().heapUsed;
    await roundsOverThePort(10_000);
    gc();
    const grownBytes = process.memoryUsage().heapUsed - before;
    assert.ok(grownBytes < 1_000_000, `the heap grew by ${grownBytes} bytes over 10,000 waits`);
  } finally {
    caller.close();
    server.close();
  }
});
