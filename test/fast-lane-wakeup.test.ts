// No lost wake-up: a 50k-message ping-pong in which both sides go to sleep before (almost)
// every message, so that every publish races a consumer on its way into Atomics.wait /
// Atomics.waitAsync. A lost wake-up either stalls the worker (the caller's guard times out)
// or leaves the caller parked until its guard's timer (the wait's duration gives it away).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { createFastLane, kNoMessage } from '../dist/transport/fast-lane/duplex.js';

const kMessages = 50_000;
const kGuardMs = 5_000;
const kMinSleeps = kMessages / 10;

async function pingPong(waitMode: 'sync' | 'async', spinUs: number) {
  const { caller, serverInit } = createFastLane<number, number>({ spinUs });
  const worker = new Worker(new URL('./fixtures/fast-lane-echo.mjs', import.meta.url), {
    workerData: { lane: serverInit, waitMode, spinUs },
    transferList: [serverInit.port],
  });
  worker.on('error', () => {
    caller.close();
  });
  const reported = once(worker, 'message') as Promise<[{ stats: { sleeps: number } }]>;
  try {
    for (let i = 0; i < kMessages; i++) {
      caller.send(i);
      let answer = caller.receive();
      while (answer === kNoMessage) {
        const startMs = performance.now();
        const state = await caller.waitForResponse({ timeoutMs: kGuardMs });
        const waitedMs = performance.now() - startMs;
        assert.equal(state, 'data', `message ${i}: the wait ended with ${state}`);
        assert.ok(
          waitedMs < kGuardMs - 500,
          `message ${i}: a wake-up was lost (waited ${waitedMs} ms)`,
        );
        answer = caller.receive();
      }
      assert.equal(answer, i);
    }
    // The premise, not the point: enough publishes raced a sleeper. On a loaded machine the
    // other side often answers before this one gets to sleep, hence a tenth, not a half.
    const callerSleeps = caller.stats().sleeps;
    assert.ok(callerSleeps > kMinSleeps, `the caller really slept (${callerSleeps} times)`);
    caller.close();
    const [report] = await reported;
    const workerSleeps = report.stats.sleeps;
    assert.ok(workerSleeps > kMinSleeps, `the worker really slept (${workerSleeps} times)`);
  } finally {
    caller.close();
    await worker.terminate();
  }
}

test(
  'no wake-up is lost in 50k round trips with neither side spinning, worker in Atomics.wait',
  { timeout: 300_000 },
  async () => {
    await pingPong('sync', 0);
  },
);

test(
  'no wake-up is lost in 50k round trips with 1 µs spins that end just as the answer comes, worker in Atomics.waitAsync',
  { timeout: 300_000 },
  async () => {
    await pingPong('async', 1);
  },
);
