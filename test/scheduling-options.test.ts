// The scheduling options (priority, rtPriority, cpus, priorityFallback) are checked the same way
// by every API that starts workers, before anything starts: a bad value or an unknown key is
// ERR_INVALID_ARGUMENT naming the option, what it expected and what it got; without keel's
// native layer a valid one is ERR_UNSUPPORTED naming the reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { DataLoader, iterateInWorker, KeelError, Pool, RealtimeLoop, spawn } from 'keel';
import { fixture, fixturePath } from './helpers.ts';

const kProbe = fixture('scheduling-probe.mjs');
type Options = Record<string, unknown>;

/** Each API with the options under test; resolves with what it threw or rejected with. */
const kApis: Record<string, (options: Options) => Promise<unknown>> = {
  'RealtimeLoop.inWorker': (options) =>
    RealtimeLoop.inWorker(kProbe, 'tick', { hz: 10, ...options }),
  spawn: (options) => spawn(kProbe, options as never),
  Pool: async (options) => new Pool(options),
  iterateInWorker: (options) => iterateInWorker(kProbe, 'probeStream', [], options).next(),
  DataLoader: async (options) => new DataLoader({ dataset: kProbe, batchSize: 1, ...options }),
};

async function errorOf(run: () => Promise<unknown>): Promise<KeelError> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof KeelError, `not a KeelError: ${String(error)}`);
    return error;
  }
  throw new Error('expected a rejection, but it started');
}

const outOfRange = availableParallelism();
const kBadOptions: readonly [Options, RegExp][] = [
  [{ priority: 'high' }, /^priority must be 'realtime', 'normal' or 'background', got "high"$/],
  [{ priority: null }, /^priority must be .* got null$/],
  [{ priority: 'realtime', rtPriority: 0 }, /^rtPriority must be an integer from 1 to 99, got 0$/],
  [
    { priority: 'realtime', rtPriority: 100 },
    /^rtPriority must be an integer from 1 to 99, got 100$/,
  ],
  [{ priority: 'realtime', rtPriority: 1.5 }, /^rtPriority must be .* got 1\.5$/],
  [
    { priority: 'normal', rtPriority: 50 },
    /^rtPriority must be given only with priority: 'realtime', got 50$/,
  ],
  [{ rtPriority: 50 }, /^rtPriority must be given only with priority: 'realtime'/],
  [
    { cpus: [] },
    /^cpus must be a non-empty array of distinct CPU indices from 0 to \d+, got an array$/,
  ],
  [{ cpus: 0 }, /^cpus must be a non-empty array .* got 0$/],
  [{ cpus: [0, 0] }, /^cpus\[1\] must be a CPU not listed before, got 0$/],
  [{ cpus: [-1] }, /^cpus\[0\] must be a CPU index from 0 to \d+, got -1$/],
  [{ cpus: [outOfRange] }, new RegExp(`^cpus\\[0\\] must be a CPU index .* got ${outOfRange}$`)],
  [{ cpus: [0.5] }, /^cpus\[0\] must be a CPU index .* got 0\.5$/],
  [{ cpus: ['0'] }, /^cpus\[0\] must be a CPU index .* got "0"$/],
  [{ cpus: new Array(1e6).fill(0) }, /^cpus must be a non-empty array .* got an array$/],
  [
    { priority: 'realtime', priorityFallback: 'background' },
    /^priorityFallback must be 'normal', got "background"$/,
  ],
  [
    { priorityFallback: 'normal' },
    /^priorityFallback must be given only with priority, got "normal"$/,
  ],
];

describe('scheduling options', () => {
  for (const [api, start] of Object.entries(kApis)) {
    test(`${api} refuses every bad scheduling value with ERR_INVALID_ARGUMENT naming it`, async () => {
      for (const [options, message] of kBadOptions) {
        const error = await errorOf(() => start(options));
        assert.equal(
          error.code,
          'ERR_INVALID_ARGUMENT',
          `${JSON.stringify(options)}: ${error.message}`,
        );
        assert.match(error.message, message, JSON.stringify(options));
      }
    });

    test(`${api} refuses a misspelt scheduling key, naming the right one`, async () => {
      const error = await errorOf(() => start({ prority: 'realtime' }));
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.match(error.message, /prority is not an option; did you mean priority\?/);
    });
  }

  test('without the native layer (KEEL_NATIVE=0) each API refuses priority and cpus with ERR_UNSUPPORTED naming the reason', () => {
    const run = spawnSync(process.execPath, [fixturePath('scheduling-unsupported.mjs')], {
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
      env: { ...process.env, KEEL_NATIVE: '0' },
    });
    assert.equal(run.status, 0, `${run.signal ?? ''} ${run.stderr}`);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            name: string;
            code?: string;
            message?: string;
            scheduling?: boolean;
          },
      );
    assert.deepEqual(lines[0], { name: 'features', scheduling: false });
    assert.equal(lines.length, 6);
    for (const line of lines.slice(1)) {
      assert.equal(line.code, 'ERR_UNSUPPORTED', JSON.stringify(line));
      assert.match(
        line.message ?? '',
        /^priority and cpus \(thread scheduling\) needs keel's native layer.*KEEL_NATIVE=0/,
      );
    }
  });
});
