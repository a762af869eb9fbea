import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectTypeOf } from 'expect-type';
import {
  Pool,
  pipeline,
  task,
  type Pipeline,
  type PipelineBuilder,
  type PipelineStageStats,
  type PipelineTask,
} from 'keel';
import { fixture } from './helpers.ts';
import { assertInvalid } from './pipeline-helpers.ts';

type Tasks = typeof import('./fixtures/pipeline-tasks.mjs');
const tasksUrl = fixture('pipeline-tasks.mjs');

describe('pipeline: bad arguments throw ERR_INVALID_ARGUMENT, naming what was wrong', () => {
  const builder = pipeline([1, 2, 3]);

  test('a source that is not iterable', () => {
    assertInvalid(
      () => pipeline(42 as never),
      /source must be an iterable or an async iterable, got 42/,
    );
    assertInvalid(() => pipeline(null as never), /got null/);
    assertInvalid(() => pipeline({} as never), /got an object/);
  });

  test('pipe: a step that is neither a function nor a task, a bad concurrency or name', () => {
    assertInvalid(() => builder.pipe('double' as never), /step must be a function or a task\(\)/);
    for (const concurrency of [0, -1, 1.5, Number.NaN, Infinity, '2']) {
      assertInvalid(
        () => builder.pipe((value) => value, { concurrency: concurrency as number }),
        /concurrency must be a positive integer/,
      );
    }
    assertInvalid(
      () => builder.pipe((value) => value, { name: '' }),
      /name must be a non-empty string/,
    );
    assertInvalid(() => builder.pipe((value) => value, 3 as never), /options must be an object/);
  });

  test('aggregate: a size that is not a positive integer, a dropLast that is not a boolean', () => {
    for (const size of [0, -2, 2.5, Number.NaN, undefined]) {
      assertInvalid(() => builder.aggregate(size as number), /size must be a positive integer/);
    }
    assertInvalid(
      () => builder.aggregate(2, { dropLast: 'yes' as never }),
      /dropLast must be a boolean/,
    );
  });

  test('build: bad ordered, buffer, maxFailures, onStats, statsIntervalMs, signal, progress, arena', () => {
    assertInvalid(() => builder.build({ ordered: 'no' as never }), /ordered must be a boolean/);
    assertInvalid(() => builder.build({ buffer: 0 }), /buffer must be a positive integer, got 0/);
    assertInvalid(() => builder.build({ maxFailures: -1 }), /maxFailures must be an integer >= 0/);
    assertInvalid(() => builder.build({ maxFailures: 0.5 }), /maxFailures/);
    assertInvalid(() => builder.build({ onStats: 'log' as never }), /onStats must be a function/);
    assertInvalid(
      () => builder.build({ statsIntervalMs: 0 }),
      /statsIntervalMs must be a number of milliseconds > 0/,
    );
    assertInvalid(() => builder.build({ signal: {} as never }), /signal must be an AbortSignal/);
    assertInvalid(
      () => builder.build({ progress: 'yes' as never }),
      /progress must be true, false or \{ stream\?, intervalMs\? \}, got "yes"/,
    );
    assertInvalid(() => builder.build({ arena: 5 as never }), /arena must be an object/);
    assertInvalid(() => builder.build({ arena: { bytes: 10 } }), /bytes must be an integer/);
    assertInvalid(() => builder.build(7 as never), /options must be an object/);
  });

  test('progress: options that are not an object, a stream without write(), a bad intervalMs', () => {
    const built = builder.build();
    assertInvalid(() => built.progress(5 as never), /progress must be an object, got 5/);
    assertInvalid(
      () => built.progress({ stream: {} as never }),
      /progress\.stream must be a writable stream/,
    );
    assertInvalid(
      () => builder.build({ progress: { intervalMs: 0 } }),
      /progress\.intervalMs must be a number of milliseconds > 0/,
    );
  });

  test('task: a bad module reference, export name, pool or timeoutMs', () => {
    assertInvalid(() => task('relative/path.mjs', 'double'), /moduleRef must be an absolute path/);
    assertInvalid(() => task(tasksUrl, ''), /exportName must be a non-empty string/);
    assertInvalid(
      () => task(tasksUrl, 'double', { pool: Object.create(null) as Pool }),
      /options.pool must be a Pool/,
    );
    assertInvalid(
      () => task(tasksUrl, 'double', { abortOnStop: 1 as never }),
      /abortOnStop must be a boolean/,
    );
    assertInvalid(
      () => task(tasksUrl, 'double', { timeoutMs: -5 }),
      /timeoutMs must be a number of milliseconds >= 0/,
    );
  });

  test('the builder is unchanged by a failed call and by later stages', async () => {
    const base = pipeline([1, 2]);
    const doubled = base.pipe((value) => value * 2);
    assert.deepEqual(await base.build().next(), { done: false, value: 1 });
    assert.deepEqual(await doubled.build().next(), { done: false, value: 2 });
  });
});

test('types: items are typed stage by stage, and a task is typed from its module', () => {
  const numbers = pipeline([1, 2, 3]);
  expectTypeOf(numbers).toEqualTypeOf<PipelineBuilder<number>>();
  const strings = numbers.pipe(async (value) => String(value));
  expectTypeOf(strings).toEqualTypeOf<PipelineBuilder<string>>();
  expectTypeOf(strings.aggregate(2)).toEqualTypeOf<PipelineBuilder<string[]>>();
  expectTypeOf(strings.aggregate(2).disaggregate()).toEqualTypeOf<PipelineBuilder<string>>();
  expectTypeOf(pipeline([Promise.resolve(1)])).toEqualTypeOf<PipelineBuilder<number>>();

  const double = task<Tasks, 'double'>(tasksUrl, 'double');
  expectTypeOf(double).toEqualTypeOf<PipelineTask<number, number>>();
  const square = task<Tasks, 'delayedSquare'>(tasksUrl, 'delayedSquare');
  expectTypeOf(square).toEqualTypeOf<PipelineTask<{ value: number; delayMs: number }, number>>();
  expectTypeOf(numbers.pipe(double).build()).toEqualTypeOf<Pipeline<number>>();
  // A task taking another item type does not fit.
  // @ts-expect-error a string is not a number
  pipeline(['a']).pipe(double);
  // An untyped task takes anything and yields unknown.
  expectTypeOf(numbers.pipe(task(tasksUrl, 'double'))).toEqualTypeOf<PipelineBuilder<unknown>>();
  expectTypeOf<PipelineStageStats['taskMs']>().toEqualTypeOf<{
    readonly avg: number;
    readonly p99: number;
  }>();
});
