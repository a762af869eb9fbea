// Closing, timing out and terminating: every wait ends, on either side, whatever it waits in.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  createFastLane,
  FastLaneServer,
  kNoMessage,
  type FastLaneInit,
} from '../dist/transport/fast-lane/duplex.js';
import {
  createRingBuffer,
  kRingHeaderBytes,
  kRingWords,
  RingReader,
  RingWriter,
} from '../dist/transport/fast-lane/ring.js';

function startEcho(serverInit: FastLaneInit, waitMode: 'sync' | 'async') {
  return new Worker(new URL('./fixtures/fast-lane-echo.mjs', import.meta.url), {
    workerData: { lane: serverInit, waitMode, spinUs: 0 },
    transferList: [serverInit.port],
  });
}

/**
 * Resolves once the consumer of `ring` has announced that it sleeps (polled, event loop free):
 * 1, or 2 for an async wait that its port's arrivals also end.
 */
async function asleep(ring: SharedArrayBuffer): Promise<void> {
  const header = new Int32Array(ring, 0, kRingHeaderBytes / 4);
  while (Atomics.load(header, kRingWords.kSleeping) === 0) await new Promise(setImmediate);
}

for (const waitMode of ['sync', 'async'] as const) {
  test(
    `closing the caller wakes a worker asleep in ${waitMode === 'sync' ? 'Atomics.wait' : 'Atomics.waitAsync'}, which reports closed`,
    { timeout: 30_000 },
    async () => {
      const { caller, serverInit } = createFastLane<number, number>();
      const worker = startEcho(serverInit, waitMode);
      const reported = once(worker, 'message') as Promise<[{ type: string }]>;
      const exited = once(worker, 'exit'); // listen now: 'exit' may follow 'message' in the same tick
      try {
        caller.send(1);
        assert.equal(await caller.waitForResponse({ timeoutMs: 20_000 }), 'data');
        assert.equal(caller.receive(), 1);
        await asleep(serverInit.requests);
        caller.close();
        const [report] = await reported;
        assert.equal(report.type, 'closed');
        await exited;
      } finally {
        caller.close();
        await worker.terminate();
      }
    },
  );
}

test(
  'terminate() ends a worker asleep in an untimed Atomics.wait promptly',
  { timeout: 30_000 },
  async () => {
    const { caller, serverInit } = createFastLane();
    const worker = startEcho(serverInit, 'sync');
    await asleep(serverInit.requests);
    const startMs = performance.now();
    await worker.terminate();
    assert.ok(performance.now() - startMs < 5_000);
    caller.close();
  },
);

test(
  'an untimed async wait with keepAlive: false lets an idle worker exit',
  { timeout: 30_000 },
  async () => {
    const { caller, serverInit } = createFastLane();
    const worker = new Worker(new URL('./fixtures/fast-lane-idle.mjs', import.meta.url), {
      workerData: { lane: serverInit },
      transferList: [serverInit.port],
    });
    let woke = false;
    worker.on('message', () => (woke = true));
    await once(worker, 'exit');
    assert.equal(woke, false, 'the worker exited while parked, nothing woke it');
    caller.close();
  },
);

test('an untimed async wait makes no timer of its own, and keeps the loop alive only with keepAlive', async () => {
  // A timer made and cleared per sleep costs the woken thread's every wake-up: a receive pump
  // (keepAlive: false, kept alive by its Worker handle) needs none, and keepAlive waits share
  // one per thread, ref'd while one of them is parked.
  const buffer = createRingBuffer(1024);
  const reader = new RingReader(buffer);
  const writer = new RingWriter(buffer);
  const made = { timers: 0 };
  const { setInterval: realInterval, setTimeout: realTimeout } = globalThis;
  globalThis.setInterval = (...args: Parameters<typeof realInterval>) => {
    made.timers++;
    return realInterval(...args);
  };
  globalThis.setTimeout = ((...args: Parameters<typeof realTimeout>) => {
    made.timers++;
    return realTimeout(...args);
  }) as typeof realTimeout;
  const timersAlive = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const sleepThenWake = async (keepAlive: boolean) => {
    const aliveBefore = timersAlive();
    const waiting = reader.waitAsync(Infinity, { keepAlive });
    const aliveWhileParked = timersAlive() - aliveBefore;
    writer.tryWrite(new Uint8Array([1]));
    assert.equal(await waiting, true);
    reader.peek();
    reader.release();
    assert.equal(timersAlive(), aliveBefore, 'nothing keeps the loop alive once woken');
    return aliveWhileParked;
  };
  try {
    for (let round = 0; round < 20; round++) {
      assert.equal(await sleepThenWake(false), 0, 'a keepAlive: false wait lets the loop go');
    }
    assert.equal(made.timers, 0, 'no timer for an endless wait that lets the loop exit');
    for (let round = 0; round < 20; round++) {
      assert.equal(await sleepThenWake(true), 1, 'a keepAlive wait holds the loop while parked');
    }
    assert.ok(made.timers <= 1, `keepAlive waits share one timer (${made.timers} made)`);
  } finally {
    globalThis.setInterval = realInterval;
    globalThis.setTimeout = realTimeout;
  }
});

test('closing the server wakes a caller parked in waitForResponse, which resolves closed', async () => {
  const { caller, serverInit } = createFastLane();
  const server = new FastLaneServer(serverInit);
  const waiting = caller.waitForResponse({ spinUs: 0 });
  server.close();
  assert.equal(await waiting, 'closed');
  assert.equal(caller.closed, true);
});

test('messages sent before a close are still received, and only then do waits report closed', async () => {
  const { caller, serverInit } = createFastLane();
  const server = new FastLaneServer(serverInit);
  server.send('first');
  server.send(new Uint8Array(200_000)); // over the port
  server.send('last');
  server.close();
  const received: unknown[] = [];
  while ((await caller.waitForResponse()) === 'data') received.push(caller.receive());
  assert.equal(received.length, 3, 'ring and port messages both survive the close of their sender');
  assert.deepEqual(
    [received[0], (received[1] as Uint8Array).length, received[2]],
    ['first', 200_000, 'last'],
  );
  assert.equal(caller.receive(), kNoMessage);
});

test('sending after a close throws ERR_CLOSED on both ends', () => {
  const { caller, serverInit } = createFastLane();
  const server = new FastLaneServer(serverInit);
  caller.close();
  assert.throws(() => caller.send(1), { code: 'ERR_CLOSED' });
  assert.throws(() => server.send(1), { code: 'ERR_CLOSED' });
  assert.equal(server.waitForRequest({ spinUs: 0 }), 'closed');
});

test('a timed wait with nothing to receive ends with timeout, and holds the event loop until then', async () => {
  const { caller, serverInit } = createFastLane();
  const server = new FastLaneServer(serverInit);
  assert.equal(await caller.waitForResponse({ timeoutMs: 30, spinUs: 0 }), 'timeout');
  assert.equal(await caller.waitForResponse({ timeoutMs: 30 }), 'timeout');
  assert.equal(server.waitForRequest({ timeoutMs: 10 }), 'timeout');
  assert.equal(await server.waitForRequestAsync({ timeoutMs: 10 }), 'timeout');
  caller.close();
});

test('lane options are validated and name the option', () => {
  assert.throws(() => createFastLane({ spinUs: 51 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /spinUs/,
  });
  assert.throws(() => createFastLane({ capacityBytes: 1000 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /capacityBytes/,
  });
  const { caller, serverInit } = createFastLane();
  assert.throws(() => new FastLaneServer(serverInit, { spinUs: -1 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /spinUs/,
  });
  assert.throws(() => new FastLaneServer({} as FastLaneInit), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /init/,
  });
  caller.close();
});
