// Fallback over the MessagePort: a message too large for the ring, a message meeting a full
// ring, a value V8 refuses (a SharedArrayBuffer) and a transfer all take the port, and none of
// them overtakes, or is overtaken by, the ring messages sent around it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { createFastLane, FastLaneServer, kNoMessage } from '../dist/transport/fast-lane/duplex.js';

type Tagged = readonly [index: number, payload: unknown];

/** Both ends on this thread: the receive order is then fully deterministic. */
function sameThreadLane(capacityBytes: number) {
  const { caller, serverInit } = createFastLane<Tagged, Tagged>({ capacityBytes });
  const server = new FastLaneServer<Tagged, Tagged>(serverInit);
  return { caller, server };
}

function drainIndices(server: FastLaneServer<Tagged, Tagged>): number[] {
  const indices: number[] = [];
  for (let message = server.receive(); message !== kNoMessage; message = server.receive())
    indices.push(message[0]);
  return indices;
}

test('an oversize message, one meeting a full ring, a SharedArrayBuffer and a transfer each take the port without changing the order', () => {
  const { caller, server } = sameThreadLane(256); // frames up to 124 bytes
  const routes: string[] = [];
  let index = 0;
  const send = (payload: unknown, transfer?: ArrayBuffer[]) =>
    routes.push(caller.send([index++, payload], transfer === undefined ? undefined : { transfer }));
  send('small');
  send(new Uint8Array(1000)); // larger than the ring takes
  send('small again');
  while (routes.at(-1) === 'ring') send(index); // until the ring is full
  send(index); // the ring is still full
  const shared = new Uint8Array(new SharedArrayBuffer(4)).fill(7);
  send(shared);
  const transferred = new ArrayBuffer(16);
  send(transferred, [transferred]);
  assert.deepEqual(routes.slice(0, 3), ['ring', 'port', 'ring']);
  assert.equal(routes.filter((route) => route === 'port').length, 5);
  assert.equal(transferred.byteLength, 0, 'the transferred buffer left this side');

  const received: Tagged[] = [];
  for (let message = server.receive(); message !== kNoMessage; message = server.receive())
    received.push(message);
  assert.deepEqual(
    received.map(([at]) => at),
    Array.from({ length: index }, (_, at) => at),
  );
  const sharedBack = received.at(-2)?.[1] as Uint8Array;
  assert.ok(
    sharedBack.buffer instanceof SharedArrayBuffer,
    'the SharedArrayBuffer is shared, as postMessage shares it',
  );
  shared[0] = 9;
  assert.equal(sharedBack[0], 9);
  assert.equal((received.at(-1)?.[1] as ArrayBuffer).byteLength, 16);
});

test('ring and port messages stay in send order under any interleaving of sends and partial reads', () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('send' as const), bytes: fc.nat(400) }),
    fc.record({ kind: fc.constant('read' as const), count: fc.nat(6) }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 150 }), (steps) => {
      const { caller, server } = sameThreadLane(256);
      let sent = 0;
      const received: number[] = [];
      for (const action of steps) {
        if (action.kind === 'send') caller.send([sent++, new Uint8Array(action.bytes)]);
        for (let n = 0; action.kind === 'read' && n < action.count; n++) {
          const message = server.receive();
          if (message === kNoMessage) break;
          received.push(message[0]);
        }
      }
      received.push(...drainIndices(server));
      assert.deepEqual(
        received,
        Array.from({ length: sent }, (_, at) => at),
      );
      const stats = caller.stats();
      assert.equal(stats.ringSends + stats.portSends, sent);
    }),
    { seed: 7, numRuns: 300 },
  );
});

test(
  'a real worker echoes a mixed stream of ring and port messages back in the order sent',
  { timeout: 60_000 },
  async () => {
    const { caller, serverInit } = createFastLane<Tagged, Tagged>({ capacityBytes: 1024 });
    const worker = new Worker(new URL('./fixtures/fast-lane-echo.mjs', import.meta.url), {
      workerData: { lane: serverInit, waitMode: 'sync' },
      transferList: [serverInit.port],
    });
    worker.on('error', () => {
      caller.close();
    });
    const exited = once(worker, 'exit');
    try {
      const kCount = 3000;
      for (let index = 0; index < kCount; index++) {
        caller.send([
          index,
          index % 7 === 0 ? new Uint8Array(2000) : index % 5 === 0 ? new Uint8Array(300) : index,
        ]);
      }
      const order: number[] = [];
      while (order.length < kCount) {
        const message = caller.receive();
        if (message !== kNoMessage) order.push(message[0]);
        else assert.equal(await caller.waitForResponse({ timeoutMs: 20_000 }), 'data');
      }
      assert.deepEqual(
        order,
        Array.from({ length: kCount }, (_, at) => at),
      );
      assert.ok(
        caller.stats().portSends > kCount / 7,
        'the oversize ones and the overflow took the port',
      );
      caller.close();
      await exited;
    } finally {
      caller.close();
      await worker.terminate();
    }
  },
);

test('a value that cannot cross throws the platform DataCloneError from send, and sends nothing', () => {
  const { caller, server } = sameThreadLane(256);
  caller.send([0, 'before']);
  assert.throws(() => caller.send([1, () => 1]), { name: 'DataCloneError' });
  assert.throws(() => caller.send([1, [new Uint8Array(500).fill(1), Symbol('s')]]), {
    name: 'DataCloneError',
  });
  caller.send([1, 'after']);
  assert.deepEqual(drainIndices(server), [0, 1]);
});
