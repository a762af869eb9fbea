/**
 * pipeline() and task() against careless and hostile input (issue 13): misspelled keys in
 * every options object, long and infinite timeouts and periods.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Pool, pipeline, task, type PipelineStageStats } from 'keel';
import { fixture } from './helpers.ts';
import { assertInvalid, collect, range } from './pipeline-helpers.ts';

type Tasks = typeof import('./fixtures/pipeline-tasks.mjs');
const tasksUrl = fixture('pipeline-tasks.mjs');

/** A fake terminal that counts the frames drawn on it. */
function fakeTty(): { isTTY: true; frames: number; write(text: string): void } {
  return {
    isTTY: true,
    frames: 0,
    write() {
      this.frames++;
    },
  };
}

/** A source of `count` items, one every `delayMs`. */
async function* slowSource(count: number, delayMs: number): AsyncGenerator<number> {
  for (let index = 0; index < count; index++) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    yield index;
  }
}

describe('pipeline hardening: unknown keys are refused with the closest valid key', () => {
  const builder = pipeline(range(3));

  test('build(): bufer, maxFailure, ordred', () => {
    assertInvalid(
      () => builder.build({ bufer: 2 } as never),
      /options\.bufer is not an option; did you mean buffer\?/,
    );
    assertInvalid(() => builder.build({ maxFailure: 1 } as never), /did you mean maxFailures\?/);
    assertInvalid(() => builder.build({ ordred: true } as never), /did you mean ordered\?/);
    assertInvalid(() => builder.build(null as never), /^options must be an object, got null/);
  });

  test('pipe(), aggregate(), disaggregate(): concurency, droplast, nam', () => {
    assertInvalid(
      () => builder.pipe((value) => value, { concurency: 2 } as never),
      /options\.concurency is not an option; did you mean concurrency\?/,
    );
    assertInvalid(
      () => builder.aggregate(2, { droplast: true } as never),
      /did you mean dropLast\?/,
    );
    assertInvalid(() => builder.disaggregate({ nam: 'x' } as never), /did you mean name\?/);
  });

  test('null is a value given, not "use the default": concurrency and buffer refuse it', () => {
    assertInvalid(
      () => builder.pipe((value) => value, { concurrency: null as never }),
      /^concurrency must be a positive integer, got null/,
    );
    assertInvalid(
      () => builder.build({ buffer: null as never }),
      /^buffer must be a positive integer, got null/,
    );
  });

  test('task(): timeout, abortOnstop', () => {
    assertInvalid(
      () => task(tasksUrl, 'double', { timeout: 5 } as never),
      /options\.timeout is not an option; did you mean timeoutMs\?/,
    );
    assertInvalid(
      () => task(tasksUrl, 'double', { abortOnstop: false } as never),
      /did you mean abortOnStop\?/,
    );
    assertInvalid(
      () => task(tasksUrl, 'double', { timeoutMs: NaN }),
      /^timeoutMs must be a number of milliseconds >= 0/,
    );
  });

  test('progress: a typo in its options, and values that are neither a boolean nor options', () => {
    assertInvalid(
      () => builder.build({ progress: { interval: 100 } as never }),
      /progress\.interval is not an option; did you mean intervalMs\?/,
    );
    for (const progress of ['yes', 1, null, [true]]) {
      assertInvalid(
        () => builder.build({ progress: progress as never }),
        /^progress must be true, false or \{ stream\?, intervalMs\? \}/,
      );
    }
    assertInvalid(() => builder.build().progress({ strem: process.stderr } as never), /stream\?/);
    // {} is the view with its defaults, as its type says: the same as progress: true.
    builder.build({ progress: {} });
  });
});

describe('pipeline hardening: long and infinite timeouts and periods', () => {
  const pool = new Pool({ minThreads: 1, maxThreads: 2 });
  after(() => pool.close());

  for (const timeoutMs of [2 ** 31, Infinity]) {
    test(`task timeoutMs ${timeoutMs} does not time out calls that take 50 ms (it used to fire after ~1 ms)`, async () => {
      const p = pipeline(range(4).map((value) => ({ value, delayMs: 50 })))
        .pipe(task<Tasks, 'delayedSquare'>(tasksUrl, 'delayedSquare', { pool, timeoutMs }))
        .build();
      assert.deepEqual(await collect(p), [0, 1, 4, 9]);
      assert.equal(p.stats()[0]!.failures, 0);
    });
  }

  for (const statsIntervalMs of [2 ** 31, Infinity]) {
    test(`statsIntervalMs ${statsIntervalMs} calls onStats only once, at the end (setInterval made it every ~1 ms)`, async () => {
      const calls: PipelineStageStats[][] = [];
      const p = pipeline(slowSource(5, 20))
        .pipe((value) => value)
        .build({ statsIntervalMs, onStats: (stats) => calls.push(stats) });
      assert.deepEqual(await collect(p), range(5));
      assert.equal(calls.length, 1);
      assert.equal(calls[0]![0]!.outputs, 5);
    });
  }

  for (const intervalMs of [2 ** 31, Infinity]) {
    test(`progress intervalMs ${intervalMs} draws the first and the last frame only`, async () => {
      const stream = fakeTty();
      const p = pipeline(slowSource(5, 20))
        .pipe((value) => value)
        .build()
        .progress({ stream, intervalMs });
      assert.deepEqual(await collect(p), range(5));
      assert.equal(stream.frames, 2);
    });
  }

  test('the build option progress draws the view (it was validated, then ignored)', async () => {
    const stream = fakeTty();
    const p = pipeline(slowSource(5, 20))
      .pipe((value) => value)
      .build({ progress: { stream, intervalMs: Infinity } });
    assert.deepEqual(await collect(p), range(5));
    assert.equal(stream.frames, 2);
  });
});
