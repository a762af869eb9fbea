// RealtimeLoop.inWorker runs a module's tick on a dedicated worker thread with a precise sleep:
// it keeps ticking while the main thread is blocked, reaches SharedObjects by name, and its
// stats are read synchronously from shared memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { SharedObject } from 'keel';
import { RealtimeLoop } from 'keel';
import { fixture, fixturePath } from './helpers.ts';

const kSlotNames = ['realtime-ticks', 'realtime-input', 'realtime-output'];

/** The slots realtime-shared.mjs opens in its setup(). */
function createSlots(): Record<'ticks' | 'input' | 'output', SharedObject<number>> {
  return {
    ticks: SharedObject.create('realtime-ticks', 0),
    input: SharedObject.create('realtime-input', 0),
    output: SharedObject.create('realtime-output', 0),
  };
}

function unlinkSlots(): void {
  for (const name of kSlotNames) SharedObject.unlink(name);
}

function blockFor(ms: number): void {
  const start = performance.now();
  while (performance.now() - start < ms);
}

test('a 1 kHz worker loop keeps ticking while the main thread is blocked for 100 ms', async () => {
  const { ticks } = createSlots();
  const loop = await RealtimeLoop.inWorker(fixture('realtime-shared.mjs'), 'tick', { hz: 1000 });
  try {
    assert.equal(loop.running, true);
    await delay(100);
    // The tick's own count and the loop's stats, read at (nearly) the same moment: the stats
    // are read just before and just after the count, so that this thread being descheduled
    // between two reads (a loaded 2-core machine) widens the bracket instead of failing.
    const readBoth = () => {
      const statsLow = loop.stats().ticks;
      const counted = ticks.fetch();
      const statsHigh = loop.stats().ticks;
      assert.ok(
        statsLow - 1 <= counted && counted <= statsHigh + 1,
        `the stats (${statsLow}..${statsHigh}) agree with the ticks counted (${counted})`,
      );
      return counted;
    };
    const countedBefore = readBoth();
    blockFor(100);
    const countedDuring = readBoth() - countedBefore;
    // 100 at 1 kHz; a loop on the blocked thread would make 0. The loaded 2-core machine may
    // deschedule the worker for a while, hence the generous bound.
    assert.ok(countedDuring >= 30, `${countedDuring} ticks during the block`);
    assert.ok(countedDuring <= 102, `${countedDuring} ticks: never more than the schedule`);
  } finally {
    await loop.stop();
    unlinkSlots();
  }
  const stats = loop.stats();
  assert.ok(stats.ticks >= 100, `${stats.ticks} ticks`);
  const { p50, p99, max } = stats.jitterUs;
  assert.ok(p50 >= 0 && p50 <= p99 && p99 <= max && max < 1000, JSON.stringify(stats.jitterUs));
});

test('the tick reads a SharedObject the main thread created, and writes one the main thread reads', async () => {
  const { input, output } = createSlots();
  const loop = await RealtimeLoop.inWorker(fixture('realtime-shared.mjs'), 'tick', { hz: 1000 });
  try {
    for (const value of [21, 50, -4]) {
      const changed = output.changed({ timeoutMs: 5000 });
      input.assign(value);
      await changed;
      assert.equal(output.fetch(), value * 2);
    }
  } finally {
    await loop.stop();
    unlinkSlots();
  }
});

test('stats() is synchronous and keeps reporting after stop(); stop() ends the worker', async () => {
  const loop = await RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), 'tick', { hz: 500 });
  await delay(100);
  const running = loop.stats();
  assert.ok(running.ticks > 0);
  await loop.stop();
  assert.equal(loop.running, false);
  const stopped = loop.stats();
  assert.ok(stopped.ticks >= running.ticks);
  await delay(30);
  assert.deepEqual(loop.stats(), stopped, 'no tick after stop');
  await loop.stop();
  assert.throws(() => loop.start(), { code: 'ERR_CLOSED' });
});

test('a TypeScript loop module loads in the worker when the caller runs under tsx', async () => {
  const counter = SharedObject.create('realtime-ts-ticks', 0);
  const loop = await RealtimeLoop.inWorker(fixturePath('realtime-tick.ts'), 'tick', { hz: 200 });
  try {
    await counter.changed({ timeoutMs: 5000 });
    assert.ok(counter.fetch() >= 1);
  } finally {
    await loop.stop();
    SharedObject.unlink('realtime-ts-ticks');
  }
});

test('spinUs: 0 (sleep only) still ticks at the rate, never more often than the schedule', async () => {
  const startedMs = performance.now();
  const loop = await RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), 'tick', {
    hz: 200,
    spinUs: 0,
  });
  await delay(300);
  await loop.stop();
  const elapsedMs = performance.now() - startedMs;
  const { ticks, jitterUs } = loop.stats();
  assert.ok(ticks >= 30, `${ticks} ticks`);
  assert.ok(ticks <= elapsedMs / 5 + 1, `${ticks} ticks in ${elapsedMs} ms`);
  assert.ok(jitterUs.max < 5000);
});
