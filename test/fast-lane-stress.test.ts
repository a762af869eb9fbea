// A real two-thread run of the fast lane: thousands of seeded random messages each way, each
// with its digest, many in flight over a small ring so that frames wrap, the ring fills and
// large or V8-refused values detour over the port. Both sides check order and contents.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import {
  createFastLane,
  kNoMessage,
  type FastLaneCaller,
} from '../dist/transport/fast-lane/duplex.js';

interface Payloads {
  makePayload(seed: number, seq: number): unknown;
  digest(value: unknown): number;
}
interface Envelope {
  seq: number;
  sum: number;
  payload: unknown;
}
interface WorkerReport {
  received: number;
  errors: number;
  firstError?: unknown;
  stats: { ringSends: number; portSends: number; sleeps: number };
}

const payloads = (await import(
  new URL('./fixtures/fast-lane-payloads.mjs', import.meta.url).href
)) as Payloads;
const kMessages = 4000;
const kInFlight = 48;
const kWaitLimitMs = 20_000;

async function stress(waitMode: 'sync' | 'async', callerSpinUs: number, serverSpinUs: number) {
  const requestSeed = 11;
  const responseSeed = 29;
  const { caller, serverInit } = createFastLane<Envelope, Envelope>({
    capacityBytes: 4096,
    spinUs: callerSpinUs,
  });
  const worker = new Worker(new URL('./fixtures/fast-lane-stress.mjs', import.meta.url), {
    workerData: { lane: serverInit, waitMode, spinUs: serverSpinUs, requestSeed, responseSeed },
    transferList: [serverInit.port],
  });
  let workerFailure: unknown;
  worker.on('error', (error) => {
    workerFailure = error;
    caller.close(); // wakes the wait below
  });
  const report = once(worker, 'message') as Promise<[WorkerReport]>;
  const exited = once(worker, 'exit'); // listen now: 'exit' may follow 'message' in the same tick
  try {
    await exchange(caller, requestSeed, responseSeed, () => workerFailure);
    caller.close();
    const [workerReport] = await report;
    assert.equal(workerReport.errors, 0, JSON.stringify(workerReport.firstError));
    assert.equal(workerReport.received, kMessages);
    const stats = caller.stats();
    assert.ok(
      stats.ringSends > 0 && stats.portSends > 0,
      'requests took both the ring and the port',
    );
    assert.ok(
      workerReport.stats.ringSends > 0 && workerReport.stats.portSends > 0,
      'so did responses',
    );
    await exited;
  } finally {
    caller.close();
    await worker.terminate(); // a failed run must not leave the worker asleep
  }
}

async function exchange(
  caller: FastLaneCaller<Envelope, Envelope>,
  requestSeed: number,
  responseSeed: number,
  workerFailure: () => unknown,
) {
  let sent = 0;
  let received = 0;
  while (received < kMessages) {
    for (; sent < kMessages && sent - received < kInFlight; sent++) {
      const payload = payloads.makePayload(requestSeed, sent);
      caller.send({ seq: sent, sum: payloads.digest(payload), payload });
    }
    for (let answer = caller.receive(); answer !== kNoMessage; answer = caller.receive()) {
      assert.equal(answer.seq, received, 'responses arrive in order');
      assert.equal(
        answer.sum,
        payloads.digest(answer.payload),
        `response ${received} arrived intact`,
      );
      assert.equal(answer.sum, payloads.digest(payloads.makePayload(responseSeed, received)));
      received++;
    }
    if (received === sent) continue; // nothing in flight: send more first
    const state = await caller.waitForResponse({ timeoutMs: kWaitLimitMs });
    assert.equal(
      state,
      'data',
      `waiting for response ${received}: ${inspect(workerFailure() ?? state)}`,
    );
  }
}

test(
  'thousands of random messages cross both ways intact and in order, worker sleeping in Atomics.wait',
  { timeout: 120_000 },
  async () => {
    await stress('sync', 0, 0);
  },
);

test(
  'thousands of random messages cross both ways intact and in order, worker parked in Atomics.waitAsync',
  { timeout: 120_000 },
  async () => {
    await stress('async', 0, 0);
  },
);

test(
  'thousands of random messages cross both ways intact and in order with both sides spinning',
  { timeout: 120_000 },
  async () => {
    await stress('sync', 50, 100);
  },
);
