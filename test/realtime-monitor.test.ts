// monitorLoop measures how late this thread's event loop runs its timers and reports every
// block, with its duration, once it ended.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { monitorLoop } from 'keel';

function blockFor(ms: number): void {
  const start = performance.now();
  while (performance.now() - start < ms);
}

/** Resolves with the first block longer than `minMs` the monitor reports. */
function nextBlockOver(minMs: number, reports: number[]): Promise<number> {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      const found = reports.find((ms) => ms > minMs);
      if (found === undefined) return;
      clearInterval(check);
      resolve(found);
    }, 5);
  });
}

test('a 60 ms block is reported once, after it ended, with a duration of about 60 ms', async () => {
  const reports: number[] = [];
  const monitor = monitorLoop({ blockMs: 20, onBlock: (ms) => reports.push(ms) });
  try {
    await delay(30);
    blockFor(60);
    assert.deepEqual(reports, [], 'nothing is reported while the block lasts');
    const reportedMs = await nextBlockOver(20, reports);
    // Sampled every 10 ms: the report is at least 60 - 10 ms; the loaded machine may add more.
    assert.ok(reportedMs >= 49 && reportedMs < 100, `reported ${reportedMs} ms`);
    assert.equal(reports.filter((ms) => ms > 40).length, 1, `one report: ${reports.join(', ')}`);
    const stats = monitor.stats();
    assert.ok(stats.blocks >= 1);
    assert.ok(stats.delayMs.max >= 49, `max delay ${stats.delayMs.max} ms`);
    assert.ok(stats.delayMs.p50 < 20, `p50 delay ${stats.delayMs.p50} ms`);
  } finally {
    monitor.stop();
  }
});

test('with the default blockMs of 1 ms, a 60 ms block is reported with its duration', async () => {
  const reports: number[] = [];
  const monitor = monitorLoop({ onBlock: (ms) => reports.push(ms) });
  try {
    await delay(20);
    blockFor(60);
    const reportedMs = await nextBlockOver(30, reports);
    assert.ok(reportedMs >= 58 && reportedMs < 100, `reported ${reportedMs} ms`);
  } finally {
    monitor.stop();
  }
});

test('stats report delay percentiles in ms, p50 <= p99 <= max, and blocks counted', async () => {
  const monitor = monitorLoop({ blockMs: 15 });
  await delay(50);
  blockFor(30);
  await delay(30);
  monitor.stop();
  const { delayMs, blocks } = monitor.stats();
  assert.ok(delayMs.p50 >= 0 && delayMs.p50 <= delayMs.p99 && delayMs.p99 <= delayMs.max);
  assert.ok(delayMs.max >= 20, `max ${delayMs.max}`);
  assert.ok(blocks >= 1, `blocks ${blocks}`);
});

test('a stopped monitor reports no later block and keeps its stats', async () => {
  const reports: number[] = [];
  const monitor = monitorLoop({ blockMs: 10, onBlock: (ms) => reports.push(ms) });
  await delay(30);
  monitor.stop();
  monitor.stop();
  const before = monitor.stats();
  blockFor(40);
  await delay(40);
  assert.deepEqual(reports, []);
  assert.deepEqual(monitor.stats(), before);
});

test('an exception thrown by onBlock is an uncaught exception, and the monitor keeps running', async () => {
  const uncaught: unknown[] = [];
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', (error) => uncaught.push(error));
  let calls = 0;
  const monitor = monitorLoop({
    blockMs: 10,
    onBlock: () => {
      calls++;
      throw new Error('observer failed');
    },
  });
  try {
    await delay(20);
    blockFor(30);
    await delay(30);
    blockFor(30);
    await delay(30);
  } finally {
    monitor.stop();
    process.removeAllListeners('uncaughtException');
    for (const listener of listeners) process.on('uncaughtException', listener);
  }
  assert.ok(calls >= 2, `onBlock called ${calls} times`);
  assert.equal(uncaught.length, calls);
  assert.equal((uncaught[0] as Error).message, 'observer failed');
});

test('invalid options are rejected with ERR_INVALID_ARGUMENT naming the option', () => {
  assert.throws(() => monitorLoop({ blockMs: 0 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /blockMs must be a finite number > 0, got 0/,
  });
  assert.throws(() => monitorLoop({ sampleIntervalMs: 0.5 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /sampleIntervalMs/,
  });
  assert.throws(() => monitorLoop({ onBlock: 'log' as never }), { code: 'ERR_INVALID_ARGUMENT' });
});
