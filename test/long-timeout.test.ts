// A keel timeout of any length fires when it should: 2^31 ms and more do not overflow to 1 ms
// as Node's setTimeout does, and Infinity never fires nor keeps the process alive.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { kMaxTimerMs, setLongTimeout } from '../dist/timers/long-timeout.js';
import { closestKey } from '../dist/options/known-keys.js';
import { spawnSync } from 'node:child_process';

describe('setLongTimeout', () => {
  it('fires a delay longer than setTimeout can hold only once all of it has passed', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let fired = 0;
      setLongTimeout(() => fired++, 2 * kMaxTimerMs + 10);
      mock.timers.tick(1000);
      assert.equal(fired, 0, 'fired after 1 s (the 32-bit overflow)');
      mock.timers.tick(kMaxTimerMs - 1000);
      mock.timers.tick(kMaxTimerMs);
      mock.timers.tick(9);
      assert.equal(fired, 0, 'fired before the whole delay passed');
      mock.timers.tick(1);
      assert.equal(fired, 1);
    } finally {
      mock.timers.reset();
    }
  });

  it('never fires for Infinity, and clear() stops a chained timeout between slices', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let fired = 0;
      setLongTimeout(() => fired++, Infinity);
      const cleared = setLongTimeout(() => fired++, 3 * kMaxTimerMs);
      mock.timers.tick(kMaxTimerMs + 1);
      cleared.clear();
      mock.timers.tick(3 * kMaxTimerMs);
      assert.equal(fired, 0);
    } finally {
      mock.timers.reset();
    }
  });

  it('keeps the process alive until unref(), for every slice; an Infinity one never does', () => {
    const script = `
      import { setLongTimeout } from ${JSON.stringify(new URL('../dist/timers/long-timeout.js', import.meta.url).href)};
      setLongTimeout(() => {}, Infinity);
      setLongTimeout(() => {}, 2 ** 40).unref();
      setLongTimeout(() => console.log('fired'), 30);
      setTimeout(() => console.log('still alive'), 10).unref();
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /still alive\nfired/);
    assert.doesNotMatch(run.stderr, /TimeoutOverflowWarning/);
  });
});

describe('closestKey', () => {
  it('suggests the option a typo or a missing unit suffix meant', () => {
    const pool = ['minThreads', 'maxThreads', 'idleTimeoutMs', 'maxQueue', 'env', 'execArgv'];
    assert.equal(closestKey('maxThread', pool), 'maxThreads');
    assert.equal(closestKey('idleTimeout', pool), 'idleTimeoutMs');
    assert.equal(closestKey('MAXQUEUE', pool), 'maxQueue');
    assert.equal(closestKey('concurency', ['concurrency', 'name']), 'concurrency');
    assert.equal(closestKey('blokMs', ['blockMs', 'onBlock', 'sampleIntervalMs']), 'blockMs');
    assert.equal(
      closestKey('timeout', ['callTimeoutMs', 'startTimeoutMs', 'kind']),
      'callTimeoutMs',
    );
  });

  it('suggests nothing for a key unlike any option', () => {
    assert.equal(closestKey('colour', ['minThreads', 'maxThreads']), undefined);
  });
});
