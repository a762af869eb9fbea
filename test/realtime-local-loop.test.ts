// RealtimeLoop on the calling thread: deadline-based ticks at the requested rate, missed ticks
// skipped and counted, async ticks awaited, and its stats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { RealtimeLoop } from 'keel';

function blockFor(ms: number): void {
  const start = performance.now();
  while (performance.now() - start < ms);
}

test('a 200 Hz loop ticks within 25 % of its rate over a second and reports its stats', async () => {
  const times: number[] = [];
  const loop = new RealtimeLoop({ hz: 200, tick: (now) => times.push(now) });
  assert.equal(loop.running, false);
  const startedMs = performance.now();
  loop.start();
  assert.equal(loop.running, true);
  await delay(1000);
  await loop.stop();
  const elapsedS = (performance.now() - startedMs) / 1000;
  const stats = loop.stats();
  assert.equal(stats.ticks, times.length);
  const rate = stats.ticks / elapsedS;
  assert.ok(rate > 150 && rate < 250, `${stats.ticks} ticks in ${elapsedS.toFixed(3)} s`);
  assert.ok(
    stats.ticks + stats.missed <= Math.ceil(elapsedS * 200) + 1,
    'never more than the schedule',
  );
  const { p50, p99, max } = stats.jitterUs;
  assert.ok(p50 >= 0 && p50 <= p99 && p99 <= max, JSON.stringify(stats.jitterUs));
  // Lateness is below one period, or the tick would have been skipped.
  assert.ok(max < 5000, `max lateness ${max} µs`);
  assert.equal(loop.running, false);
});

test('deadlines are start + n * period, not the end of the last tick plus a period: no drift', async () => {
  // Each tick takes 60 % of the period. A loop that waited a period after each tick would make
  // 1 / 1.6 of the rate; a deadline-based one keeps the full rate.
  const loop = new RealtimeLoop({
    hz: 100,
    tick: () => {
      blockFor(6);
    },
  });
  const startedMs = performance.now();
  loop.start();
  await delay(800);
  await loop.stop();
  const elapsedMs = performance.now() - startedMs;
  const { ticks, missed } = loop.stats();
  const scheduled = Math.floor(elapsedMs / 10);
  assert.ok(ticks + missed >= scheduled - 2, `${ticks} + ${missed} of ${scheduled}`);
  assert.ok(
    ticks >= scheduled * 0.8,
    `${ticks} ticks of ${scheduled} (drifting: ~${scheduled / 1.6})`,
  );
});

test('a tick that runs three periods long makes the loop skip the missed ticks, not burst', async () => {
  const times: number[] = [];
  let longTickEndMs = 0;
  const loop = new RealtimeLoop({
    hz: 100,
    tick: (now) => {
      times.push(now);
      if (times.length === 5) {
        blockFor(35);
        longTickEndMs = performance.now();
      }
    },
  }).start();
  await delay(300);
  await loop.stop();
  const { missed, ticks } = loop.stats();
  assert.ok(missed >= 2, `missed ${missed}`);
  assert.equal(ticks, times.length);
  // Run in a burst, the three ticks due during the long one would all start within
  // microseconds of its end; skipped, at most the latest one runs then (and perhaps the next,
  // when its deadline happens to fall in the same millisecond).
  const atOnce = times.filter((t) => t >= longTickEndMs && t < longTickEndMs + 1).length;
  assert.ok(atOnce >= 1 && atOnce <= 2, `${atOnce} ticks started right after the long one`);
});

test('an async tick is awaited before the next: ticks never overlap', async () => {
  let inside = 0;
  let overlapped = false;
  let completed = 0;
  const loop = new RealtimeLoop({
    hz: 200,
    tick: async () => {
      inside++;
      if (inside > 1) overlapped = true;
      await delay(12); // longer than two periods
      inside--;
      completed++;
    },
  }).start();
  await delay(200);
  await loop.stop();
  assert.equal(overlapped, false);
  assert.equal(inside, 0, 'stop() waited for the running tick');
  assert.equal(completed, loop.stats().ticks);
  assert.ok(loop.stats().missed > 0);
});

test('stop() ends the loop: no tick starts after it, and it is idempotent', async () => {
  let ticks = 0;
  const loop = new RealtimeLoop({
    hz: 500,
    tick: () => {
      ticks++;
    },
  }).start();
  await delay(50);
  await loop.stop();
  const stopped = ticks;
  await delay(30);
  assert.equal(ticks, stopped);
  await loop.stop();
  assert.throws(() => loop.start(), { code: 'ERR_CLOSED' });
});

test('start() returns the loop and is a no-op on a running loop; a never-started loop stops at once', async () => {
  const loop = new RealtimeLoop({ hz: 100, tick: () => undefined });
  assert.equal(loop.start(), loop);
  assert.equal(loop.start(), loop);
  await loop.stop();
  const idle = new RealtimeLoop({ hz: 100, tick: () => undefined });
  await idle.stop();
  assert.deepEqual(idle.stats(), { ticks: 0, missed: 0, jitterUs: { p50: 0, p99: 0, max: 0 } });
});

test('invalid options throw ERR_INVALID_ARGUMENT naming the option', () => {
  assert.throws(() => new RealtimeLoop({ hz: 0, tick: () => undefined }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /hz must be a finite number > 0, got 0/,
  });
  assert.throws(() => new RealtimeLoop({ hz: 10 } as never), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /tick must be a function/,
  });
  assert.throws(() => new RealtimeLoop({ hz: 10, tick: () => undefined, spinUs: -1 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /spinUs/,
  });
});
