// When both ends of a lane have stopped spinning, each finds the other asleep on every message.
// A wait whose last send found the other end awake (spinning for it) spins even though its own
// policy says sleep, at most twice in a row without an answer. One thread holds both ends: the
// server never waits, so its sleep flag says awake.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFastLane, FastLaneServer } from '../dist/transport/fast-lane/duplex.js';

test('a caller that stopped spinning spins again when its request found the worker awake', async () => {
  const { caller, serverInit } = createFastLane<number, number>();
  const server = new FastLaneServer<number, number>(serverInit);
  try {
    // Two misses with nothing sent: the caller's policy stops spinning.
    assert.equal(await caller.waitForResponse({ timeoutMs: 1 }), 'timeout');
    assert.equal(await caller.waitForResponse({ timeoutMs: 1 }), 'timeout');
    assert.equal(caller.stats().spinMisses, 2);
    // Nothing sent since: the policy alone decides, and it sleeps at once.
    assert.equal(await caller.waitForResponse({ timeoutMs: 1 }), 'timeout');
    assert.equal(caller.stats().spinMisses, 2, 'no spin without a request that found it awake');

    caller.send(1); // the server is not waiting: awake
    assert.equal(await caller.waitForResponse({ timeoutMs: 1 }), 'timeout');
    assert.equal(caller.stats().spinMisses, 3, 'the request found the worker awake: it spun');
    assert.equal(await caller.waitForResponse({ timeoutMs: 1 }), 'timeout');
    assert.equal(caller.stats().spinMisses, 4);
    assert.equal(await caller.waitForResponse({ timeoutMs: 1 }), 'timeout');
    assert.equal(caller.stats().spinMisses, 4, 'two such misses in a row stop it');

    // An answer waiting is taken at once.
    caller.send(2);
    server.send(20);
    assert.equal(await caller.waitForResponse({ timeoutMs: 1 }), 'data');
    assert.equal(caller.receive(), 20);
  } finally {
    caller.close();
    server.close();
  }
});
