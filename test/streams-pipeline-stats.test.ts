import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline, type PipelineStageStats } from 'keel';
import { Gate, collect, range } from './pipeline-helpers.ts';

describe('pipeline: stats', () => {
  test('stats() has one entry per stage with names, counts and call times', async () => {
    function parse(value: number): number {
      if (value === 7) throw new Error('bad record');
      return value;
    }
    const p = pipeline(range(10))
      .pipe(parse)
      .pipe(
        async (value: number) => {
          await sleep(2);
          return value;
        },
        { name: 'fetch', concurrency: 2 },
      )
      .pipe((value) => value)
      .aggregate(4)
      .disaggregate({ name: 'flatten' })
      .build({ maxFailures: 1 });
    assert.deepEqual(
      p.stats().map((stage) => [stage.name, stage.inputs, stage.outputs]),
      [
        ['parse', 0, 0],
        ['fetch', 0, 0],
        ['pipe', 0, 0],
        ['aggregate(4)', 0, 0],
        ['flatten', 0, 0],
      ],
      'all zero before the start',
    );
    assert.equal((await collect(p)).length, 9);
    const stats = p.stats();
    assert.deepEqual(
      stats.map((stage) => [stage.name, stage.inputs, stage.outputs, stage.failures, stage.queued]),
      [
        ['parse', 10, 9, 1, 0],
        ['fetch', 9, 9, 0, 0],
        ['pipe', 9, 9, 0, 0],
        ['aggregate(4)', 9, 3, 0, 0],
        ['flatten', 3, 9, 0, 0],
      ],
    );
    const fetch = stats[1]!;
    // Each call slept about 2 ms: only a lower bound is safe on a loaded machine.
    assert.ok(fetch.taskMs.avg >= 1.5, `avg ${fetch.taskMs.avg}`);
    assert.ok(fetch.taskMs.p99 >= fetch.taskMs.avg * 0.9, `p99 ${fetch.taskMs.p99}`);
    assert.deepEqual(stats[3]!.taskMs, { avg: 0, p99: 0 });
  });

  test('queued counts the items waiting in a stage input', async () => {
    const gate = new Gate();
    const p = pipeline(range(100))
      .pipe(async (value) => {
        await gate.wait();
        return value;
      })
      .build({ buffer: 3 });
    const pending = p.next();
    await sleep(30);
    const [stage] = p.stats();
    assert.equal(stage!.inputs, 1);
    assert.equal(stage!.queued, 3, 'the buffer before the blocked stage is full');
    gate.open();
    assert.deepEqual(await pending, { done: false, value: 0 });
    await p.return();
  });

  test('onStats is called while the pipeline runs and once more at its end, then never again', async () => {
    const reports: PipelineStageStats[][] = [];
    const gate = new Gate();
    // The stats timer is unref'd: this one keeps the test's process alive while it waits
    // (and opens the gate if onStats were never called, so the test fails instead of hanging).
    const keepAlive = setTimeout(() => {
      gate.open();
    }, 5000);
    const p = pipeline(range(5))
      .pipe(async (value) => {
        if (value === 4) await gate.wait();
        return value;
      })
      .build({
        statsIntervalMs: 5,
        onStats(stats) {
          reports.push(stats);
          if (reports.length === 3) gate.open();
        },
      });
    assert.deepEqual(await collect(p), range(5));
    clearTimeout(keepAlive);
    assert.ok(reports.length >= 4, `${reports.length} reports`);
    assert.equal(reports.at(-1)![0]!.outputs, 5, 'the last report has the final counts');
    const count = reports.length;
    await sleep(30);
    assert.equal(reports.length, count, 'the timer was stopped');
  });
});

/** A stand-in terminal that records what is written. */
function fakeTerminal(isTTY: boolean): {
  isTTY: boolean;
  text: string[];
  write(text: string): boolean;
} {
  return {
    isTTY,
    text: [],
    write(text: string) {
      this.text.push(text);
      return true;
    },
  };
}

describe('pipeline: progress view', () => {
  test('progress() draws each stage with its rate on a terminal, redrawing in place', async () => {
    const terminal = fakeTerminal(true);
    const gate = new Gate();
    const p = pipeline(range(20))
      .pipe(
        async (value) => {
          if (value === 10) await gate.wait();
          return value;
        },
        { name: 'decode' },
      )
      .aggregate(5)
      .build()
      .progress({ stream: terminal, intervalMs: 5 });
    const consume = collect(p);
    await sleep(40);
    gate.open();
    assert.equal((await consume).length, 4);
    const drawings = terminal.text;
    assert.ok(drawings.length >= 3, `${drawings.length} drawings`);
    assert.match(drawings[0]!, /decode .*\/s/);
    assert.match(drawings[0]!, /aggregate\(5\)/);
    assert.ok(
      drawings[1]!.startsWith('\x1b[3F'),
      'later drawings move the cursor back up over the 3 lines',
    );
    assert.match(drawings.at(-1)!, /decode +[\d.]+\/s +in 20 +out 20/);
    const count = drawings.length;
    await sleep(20);
    assert.equal(drawings.length, count, 'no drawing after the end');
  });

  test('the progress view never writes to a stream that is not a TTY, and is off by default', async () => {
    const pipe = fakeTerminal(false);
    const p = pipeline(range(5))
      .pipe((value) => value)
      .build({ progress: { stream: pipe } });
    p.progress({ stream: pipe });
    assert.deepEqual(await collect(p), range(5));
    assert.deepEqual(pipe.text, []);
  });
});
