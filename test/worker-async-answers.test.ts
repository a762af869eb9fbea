// A worker spins for the next call only once its answers are out: an async function's answer
// needs the worker's event loop, which a spin would hold. These tests pin down what that rule
// must not break: async answers after promise hops, after timers (work that outlives a turn of
// the event loop), answers in call order, and a call that never settles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool, close, spawn, type KeelError } from 'keel';
import { settlesThisTurn } from '../dist/transport/far-side/caller-channel.js';
import type * as AsyncAnswers from './fixtures/async-answers.mjs';
import { fixture, rejectionOf } from './helpers.ts';

const kModule = fixture('async-answers.mjs');

test('settlesThisTurn: true for promise hops and for a rejection, false for a timer', async () => {
  let chain: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < 20; i++) chain = chain.then(() => i);
  assert.equal(await settlesThisTurn(chain), true);
  assert.equal(await settlesThisTurn(Promise.reject(new Error('answered already'))), true);
  const timer = new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(await settlesThisTurn(timer), false);
  await timer;
});

test('a pool thread answers async functions after promise hops and after timers, in any mix', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const typed = pool.module<typeof AsyncAnswers>(kModule);
  for (let i = 0; i < 200; i++) assert.equal(await typed.afterPromises(i, i % 7), i);
  const mixed = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      i % 3 === 0 ? typed.afterTimer(i, (i % 5) + 1) : typed.afterPromises(i, i % 4),
    ),
  );
  assert.deepEqual(
    mixed,
    Array.from({ length: 40 }, (_, i) => i),
  );
});

test('a remote answers calls in order while its async methods wait for timers and promises', async () => {
  const counter = await spawn<typeof AsyncAnswers, 'makeCounter'>(kModule, 'makeCounter');
  try {
    const answers = await Promise.all([
      counter.addAfterTimer(1, 15),
      counter.addAfterPromises(10),
      counter.addAfterTimer(100, 1),
      counter.addAfterPromises(1000),
    ]);
    assert.deepEqual(answers, [1, 11, 111, 1111], 'one at a time, in call order');
    assert.equal(await counter.addAfterPromises(1), 1112);
  } finally {
    await close(counter);
  }
});

test('a pool call that never settles times out, and the pool serves the next call', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const error = (await rejectionOf(
    pool.run(kModule, 'never', [], { timeoutMs: 200 }),
  )) as KeelError;
  assert.equal(error.code, 'ERR_TIMEOUT');
  assert.equal(await pool.run(kModule, 'afterPromises', ['next', 2]), 'next');
});
