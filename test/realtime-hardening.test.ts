// What a careless or hostile user does to a RealtimeLoop or a monitor never freezes the thread,
// hangs a promise or raises anything but a KeelError: overrunning ticks, huge timeouts, unknown
// option keys, nonsense values, a thread that cannot start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { KeelError, monitorLoop, RealtimeLoop } from 'keel';
import { eventually, fixture, rejectionOf, runScript } from './helpers.ts';

interface OverrunReport {
  readonly firedAfterMs: number;
  readonly stats?: { readonly ticks: number; readonly missed: number };
  readonly error?: string;
}

/** Runs test/fixtures/realtime-overrun.mjs under runScript's 20 s watchdog. */
function runOverrun(args: string[]): OverrunReport {
  const run = runScript('realtime-overrun.mjs', { scriptArgs: args });
  assert.equal(run.status, 0, `the child froze or failed (${run.ms} ms): ${run.stderr}`);
  return JSON.parse(run.stdout.trim()) as OverrunReport;
}

function assertStoppedLate(report: OverrunReport): void {
  assert.equal(report.error, undefined);
  // The timer ran (late by at most a tick or two, however loaded the machine) and stop() resolved.
  assert.ok(report.firedAfterMs < 5000, `the timer fired after ${report.firedAfterMs} ms`);
  assert.ok(report.stats !== undefined && report.stats.ticks > 0, JSON.stringify(report));
  assert.ok(report.stats.missed > 0, `missed ${report.stats.missed}: late ticks are counted`);
}

const noop = (): undefined => undefined;

test('a 1 kHz calling-thread loop whose ticks take 2 ms lets a timer run and stop it, counting missed ticks', () => {
  assertStoppedLate(runOverrun(['local', '1000', '2', 'sync']));
});

test('the same loop with an async tick that never yields lets the timer run and stop it', () => {
  assertStoppedLate(runOverrun(['local', '1000', '2', 'async']));
});

test('a calling-thread loop at the highest rate, 10 kHz, with an empty tick lets a timer stop it', () => {
  const report = runOverrun(['local', '10000', '0', 'sync']);
  assert.equal(report.error, undefined);
  assert.ok(report.firedAfterMs < 5000, `the timer fired after ${report.firedAfterMs} ms`);
  assert.ok((report.stats?.ticks ?? 0) > 0);
});

test('a 1 kHz worker loop whose ticks take 2 ms stops when asked and counts missed ticks', () => {
  assertStoppedLate(runOverrun(['worker', '1000', '2']));
});

test('hz beyond 10 kHz (1e9 made the loop run on microtasks for good) is refused', () => {
  for (const hz of [1e9, 10_001, Number.MAX_VALUE]) {
    assert.throws(() => new RealtimeLoop({ hz, tick: noop }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /hz must be at most 10000/,
    });
  }
  // The bound itself is a valid rate, and a default spinUs longer than its period is cut to it.
  assert.doesNotThrow(() => new RealtimeLoop({ hz: 10_000, tick: noop }));
});

test('a period beyond the 2^31 ms timer limit sleeps instead of waking every millisecond', async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning);
  };
  process.on('warning', onWarning);
  try {
    let ticks = 0;
    const loop = new RealtimeLoop({ hz: 1e-9, tick: () => ticks++ }).start();
    await delay(100);
    await loop.stop();
    assert.equal(ticks, 0);
    await delay(10); // warnings are emitted on the next tick
    // Node turns an overlong setTimeout into 1 ms and says so with a TimeoutOverflowWarning.
    assert.deepEqual(
      warnings.map((warning) => warning.name),
      [],
    );
  } finally {
    process.off('warning', onWarning);
  }
  assert.throws(() => new RealtimeLoop({ hz: 5e-324, tick: noop }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /hz must be a number with a finite period/,
  });
});

test('stop({ timeoutMs }) of 2^31 ms or Infinity waits for a slow async tick instead of timing out at once', async () => {
  for (const timeoutMs of [2 ** 31, 2 ** 40, Infinity]) {
    let finished = 0;
    const loop = new RealtimeLoop({
      hz: 100,
      tick: async () => {
        await delay(200);
        finished++;
      },
    }).start();
    await eventually(() => loop.stats().ticks === 1, 'the first tick started'); // for 200 ms
    await loop.stop({ timeoutMs });
    assert.equal(finished, loop.stats().ticks, `timeoutMs ${timeoutMs}: stop waited for the tick`);
    assert.equal(finished, 1);
  }
});

test('stop({ timeoutMs: 2 ** 31 }) of a worker loop waits for its running tick instead of terminating it', async () => {
  const loop = await RealtimeLoop.inWorker(fixture('realtime-ticks.mjs'), 'busy300ms', {
    hz: 100,
  });
  // Each tick keeps the worker busy for 300 ms: stop() arrives while one runs.
  await eventually(() => loop.stats().ticks >= 1, 'the first tick started');
  await loop.stop({ timeoutMs: 2 ** 31 });
  assert.equal(loop.running, false);
  assert.ok(loop.stats().ticks >= 1);
});

test('inWorker honours startTimeoutMs: a setup() that never returns is ended with ERR_TIMEOUT', async () => {
  const started = performance.now();
  const error = await rejectionOf(
    RealtimeLoop.inWorker(fixture('realtime-setup-hangs.mjs'), 'tick', {
      hz: 100,
      startTimeoutMs: 100,
    }),
  );
  assert.ok(error instanceof KeelError);
  assert.equal(error.code, 'ERR_TIMEOUT');
  assert.equal(error.name, 'TimeoutError');
  assert.match(error.message, /did not start within startTimeoutMs \(100 ms\)/);
  assert.ok(performance.now() - started < 5000);
  // The worker was terminated: were it still running, this test file would never end.
});

test('a startTimeoutMs of 2^31 ms or Infinity lets a slow setup() finish', async () => {
  for (const startTimeoutMs of [2 ** 31, Infinity]) {
    const loop = await RealtimeLoop.inWorker(fixture('realtime-setup-slow.mjs'), 'tick', {
      hz: 100,
      startTimeoutMs,
    });
    assert.equal(loop.running, true);
    await loop.stop();
  }
});

test('inWorker rejects with ERR_START_FAILED, never throws or hangs, when the thread cannot start', () => {
  const run = runScript('realtime-thread-refused.mjs');
  assert.equal(run.status, 0, `the child froze or failed (${run.ms} ms): ${run.stderr}`);
  const outcome = JSON.parse(run.stdout.trim()) as Record<string, unknown>;
  assert.deepEqual(
    { ...outcome, message: undefined },
    {
      returned: true,
      settled: 'rejected',
      keel: true,
      code: 'ERR_START_FAILED',
      message: undefined,
      causeCode: 'ERR_WORKER_INVALID_EXEC_ARGV',
    },
  );
  assert.ok(typeof outcome.message === 'string' && outcome.message.length > 0);
});

test('unknown option keys are refused, naming the closest valid key or listing the valid ones', async () => {
  assert.throws(() => new RealtimeLoop({ hz: 100, tick: noop, spinus: 10 } as never), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /options\.spinus is not an option; did you mean spinUs\?/,
  });
  assert.throws(() => new RealtimeLoop({ hz: 100, tick: noop, priority: 'realtime' } as never), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /options\.priority is not an option.*Valid options: hz, spinUs, onError, tick/,
  });
  assert.throws(() => monitorLoop({ blokMs: 5 } as never), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /options\.blokMs is not an option; did you mean blockMs\?/,
  });
  await assert.rejects(
    RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), 'tick', {
      hz: 100,
      startTimeout: 10,
    } as never),
    { code: 'ERR_INVALID_ARGUMENT', message: /did you mean startTimeoutMs\?/ },
  );
  await assert.rejects(
    RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), 'tick', {
      hz: 100,
      prority: 'realtime',
    } as never),
    {
      code: 'ERR_INVALID_ARGUMENT',
      message: /options\.prority is not an option; did you mean priority\?/,
    },
  );
  const loop = new RealtimeLoop({ hz: 100, tick: noop }).start();
  await assert.rejects(loop.stop({ timeout: 10 } as never), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /did you mean timeoutMs\?/,
  });
  assert.equal(loop.running, true, 'a refused stop() leaves the loop running');
  await loop.stop();
});

/** Values no numeric option should accept, and what each is. */
const kNonsense: readonly unknown[] = ['100', NaN, -Infinity, -1, null, {}, [], true, () => 1, 10n];

test('every numeric option refuses strings, NaN, negatives, objects and out-of-bound values', async () => {
  const cases: [string, (value: unknown) => unknown][] = [
    ['hz', (hz) => new RealtimeLoop({ hz, tick: noop } as never)],
    ['spinUs', (spinUs) => new RealtimeLoop({ hz: 100, spinUs, tick: noop } as never)],
    ['blockMs', (blockMs) => monitorLoop({ blockMs } as never)],
    ['sampleIntervalMs', (sampleIntervalMs) => monitorLoop({ sampleIntervalMs } as never)],
  ];
  const outOfBounds: Record<string, unknown[]> = {
    hz: [0, Infinity, 1e9, 5e-324],
    spinUs: [Infinity, 10_001, 1e9],
    blockMs: [0, Infinity, 60_001, 1e9],
    sampleIntervalMs: [0, 0.5, 1.5, 1001, 1e9, Infinity],
  };
  for (const [name, make] of cases) {
    for (const value of [...kNonsense, ...(outOfBounds[name] ?? [])]) {
      assert.throws(
        () => make(value),
        (error: unknown) =>
          error instanceof KeelError &&
          error.code === 'ERR_INVALID_ARGUMENT' &&
          error.message.startsWith(`${name} must be `),
        `${name}: ${String(value)}`,
      );
    }
  }
  const loop = new RealtimeLoop({ hz: 100, tick: noop }).start();
  for (const timeoutMs of [...kNonsense]) {
    const error = await rejectionOf(loop.stop({ timeoutMs } as never));
    assert.ok(
      error instanceof KeelError && error.code === 'ERR_INVALID_ARGUMENT',
      String(timeoutMs),
    );
    assert.match(error.message, /^timeoutMs must be /);
  }
  await loop.stop();
  for (const startTimeoutMs of kNonsense) {
    await assert.rejects(
      RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), 'tick', {
        hz: 100,
        startTimeoutMs,
      } as never),
      { code: 'ERR_INVALID_ARGUMENT', message: /^startTimeoutMs must be / },
    );
  }
});

test('spinUs may be anything from 0 to one period, and no more', () => {
  assert.doesNotThrow(() => new RealtimeLoop({ hz: 1000, spinUs: 0, tick: noop }));
  assert.doesNotThrow(() => new RealtimeLoop({ hz: 1000, spinUs: 1000, tick: noop }));
  assert.throws(() => new RealtimeLoop({ hz: 1000, spinUs: 1000.5, tick: noop }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /spinUs must be at most one period \(1e6 \/ hz = 1000 µs\), got 1000\.5/,
  });
});

test('callbacks must be functions', async () => {
  for (const value of ['tick', 42, {}, null]) {
    assert.throws(() => new RealtimeLoop({ hz: 100, tick: value } as never), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^tick must be a function/,
    });
    assert.throws(() => new RealtimeLoop({ hz: 100, tick: noop, onError: value } as never), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^onError must be a function/,
    });
    assert.throws(() => monitorLoop({ onBlock: value } as never), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^onBlock must be a function/,
    });
    await assert.rejects(
      RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), 'tick', {
        hz: 100,
        onError: value,
      } as never),
      { code: 'ERR_INVALID_ARGUMENT', message: /^onError must be a function/ },
    );
  }
});

test('public entry points refuse a wrong argument itself with a KeelError, inWorker by rejecting', async () => {
  for (const options of [undefined, null, 42, 'hz', [], true]) {
    assert.throws(() => new RealtimeLoop(options as never), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^options must be an object/,
    });
    const pending = RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), 'tick', options as never);
    assert.ok(pending instanceof Promise);
    await assert.rejects(pending, {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^options must be an object/,
    });
  }
  for (const options of [null, 42, 'x', [], true]) {
    assert.throws(() => monitorLoop(options as never), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^options must be an object/,
    });
  }
  const loop = new RealtimeLoop({ hz: 100, tick: noop }).start();
  for (const options of [null, 42, 'x', [], true]) {
    await assert.rejects(loop.stop(options as never), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^options must be an object/,
    });
  }
  assert.equal(loop.running, true);
  await loop.stop();
  for (const moduleRef of [
    42,
    null,
    undefined,
    {},
    '',
    'relative.mjs',
    'file://[bad',
    'https://x/y.mjs',
  ]) {
    await assert.rejects(RealtimeLoop.inWorker(moduleRef as never, 'tick', { hz: 100 }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^moduleRef must be /,
    });
  }
  for (const exportName of [42, null, '', {}]) {
    await assert.rejects(
      RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), exportName as never, { hz: 100 }),
      { code: 'ERR_INVALID_ARGUMENT', message: /^exportName must be / },
    );
  }
});
