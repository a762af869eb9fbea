// What a careless or hostile caller of spawn and close tries must settle, with a KeelError,
// in bounded time (issue 13: items 2, 3, 6, 7, 9 and 10).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { expectTypeOf } from 'expect-type';
import { KeelError, close, spawn, type Remote, type SpawnOptions } from 'keel';
import { fixture, rejectionOf, runScript, isAlive } from './helpers.ts';

type PolicyModule = typeof import('./fixtures/policy.mjs');
const policyUrl = fixture('policy.mjs');
const startUrl = fixture('spawn-start.mjs');
const untypedSpawn = spawn as (...args: unknown[]) => Promise<unknown>;
const untypedClose = close as (...args: unknown[]) => Promise<void>;

/** Rejects with the reason, or fails the test, if `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not settle within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function startFailure(
  options: SpawnOptions,
  factory = 'makePolicy',
  args: unknown[] = ['x'],
) {
  const error = await within(
    rejectionOf(untypedSpawn(policyUrl, factory, args, options)),
    15_000,
    'spawn',
  );
  assert.ok(error instanceof KeelError, `not a KeelError: ${String(error)}`);
  return error;
}

describe('a worker that cannot start rejects spawn with ERR_START_FAILED', () => {
  test('a process refused by Node (a bad flag) rejects with its stderr and exit code, even with startTimeoutMs', async () => {
    for (const extra of [{}, { startTimeoutMs: 3000 }]) {
      const error = await startFailure({ kind: 'process', execArgv: ['--bogus-flag'], ...extra });
      assert.equal(error.code, 'ERR_START_FAILED');
      assert.match(error.message, /exited with code 9 before it booted/);
      assert.match(error.message, /bad option: --bogus-flag/);
    }
  });

  test('a thread refused by Node (a bad flag) rejects with Node error as the cause', async () => {
    const error = await startFailure({ kind: 'thread', execArgv: ['--bogus-flag'] });
    assert.equal(error.code, 'ERR_START_FAILED');
    assert.match(error.message, /--bogus-flag/);
    assert.equal((error.cause as { code?: unknown }).code, 'ERR_WORKER_INVALID_EXEC_ARGV');
  });

  test('a child Node refuses to fork at all (a flag holding a NUL byte) rejects with Node error as the cause', async () => {
    const error = await startFailure({ kind: 'process', execArgv: ['--inspect\0'] });
    assert.equal(error.code, 'ERR_START_FAILED');
    assert.match(error.message, /the child process could not be started/);
    assert.equal((error.cause as { code?: unknown }).code, 'ERR_INVALID_ARG_VALUE');
  });

  test('the stderr of a refused child still reaches the parent, and nothing of the failed starts keeps it alive', () => {
    const result = runScript('spawn-bad-flag.mjs');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /bad option: --bogus-flag/);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; code?: string; message?: string });
    assert.deepEqual(
      lines.map(({ kind, code }) => [kind, code]),
      [
        ['process', 'ERR_START_FAILED'],
        ['thread', 'ERR_START_FAILED'],
      ],
    );
    assert.match(lines[0]?.message ?? '', /bad option: --bogus-flag/);
  });

  for (const kind of ['thread', 'process'] as const) {
    test(`a ${kind} that exits while its factory runs rejects with the exit code`, async () => {
      const error = await within(
        rejectionOf(
          untypedSpawn(startUrl, 'makeExiting', ['no camera on /dev/video0', 3], { kind }),
        ),
        15_000,
        'spawn',
      );
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_START_FAILED');
      assert.match(error.message, /exited with code 3 while starting/);
      // Only a child's stderr is the caller's to read; a thread's goes to this process's own.
      if (kind === 'process') assert.match(error.message, /no camera on \/dev\/video0/);
    });
  }

  test('a child exit is reported even while a grandchild keeps its stderr open', async () => {
    const error = await within(
      rejectionOf(untypedSpawn(startUrl, 'makeOrphaning', [], { kind: 'process' })),
      10_000,
      'spawn',
    );
    const grandchild = /grandchild (\d+)/.exec((error as Error).message)?.[1];
    if (grandchild !== undefined) process.kill(Number(grandchild), 'SIGKILL');
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_START_FAILED');
    assert.match(error.message, /exited with code 5 while starting/);
    assert.ok(grandchild !== undefined, error.message);
  });

  test('the stderr a start failure carries is the end of it, a few KiB at most', async () => {
    const error = await within(
      rejectionOf(untypedSpawn(startUrl, 'makeChatty', [2000], { kind: 'process' })),
      15_000,
      'spawn',
    );
    assert.ok(error instanceof KeelError);
    assert.match(error.message, /exited with code 4 while starting/);
    assert.match(error.message, /line 2000 of the chatty factory\s*$/);
    assert.doesNotMatch(error.message, /line 1 of /);
    assert.ok(error.message.length < 5000, `${error.message.length} characters`);
  });

  test('a fractional heap limit starts a process (the flag gets whole MB)', async () => {
    await using policy = await within(
      spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', ['heap'], {
        kind: 'process',
        resourceLimits: { maxOldGenerationSizeMb: 100.5 },
      }),
      15_000,
      'spawn',
    );
    assert.equal(await policy.act(2), 4);
  });
});

// The limits leave a loaded machine time to boot the worker and run the factory: the tests
// check that the factory ran, then that nothing of it runs once spawn rejected.
describe('startTimeoutMs bounds a start that hangs, and kills what hangs', () => {
  test('a thread whose factory spins for ever is terminated', async () => {
    const counter = new SharedArrayBuffer(4);
    const error = await within(
      rejectionOf(untypedSpawn(startUrl, 'makeSpinning', [counter], { startTimeoutMs: 4000 })),
      15_000,
      'spawn',
    );
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_TIMEOUT');
    const view = new Int32Array(counter);
    assert.ok(Atomics.load(view, 0) > 0, 'the factory never ran');
    // spawn rejects once the thread is gone: the count no longer moves.
    const before = Atomics.load(view, 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(Atomics.load(view, 0), before);
  });

  test('a process whose factory spins for ever is killed', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'keel-spawn-'));
    try {
      const pidFile = join(directory, 'pid');
      const error = await within(
        rejectionOf(
          untypedSpawn(startUrl, 'makeSpinningProcess', [pidFile], {
            kind: 'process',
            startTimeoutMs: 4000,
          }),
        ),
        15_000,
        'spawn',
      );
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_TIMEOUT');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(pid > 0);
      // spawn rejects once the child is gone.
      assert.equal(isAlive(pid), false);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

for (const kind of ['thread', 'process'] as const) {
  describe(`timeouts of 2^31 ms and more, and Infinity, never fire early (${kind})`, () => {
    for (const limitMs of [2 ** 31, 2 ** 40, Infinity]) {
      test(`startTimeoutMs and callTimeoutMs of ${limitMs} let a start and a 50 ms call finish`, async () => {
        await using policy = await spawn<PolicyModule, 'makePolicy'>(
          policyUrl,
          'makePolicy',
          ['long'],
          { kind, startTimeoutMs: limitMs, callTimeoutMs: limitMs },
        );
        assert.equal(await policy.slowAct(7, 50), 7);
        assert.equal(await policy.act(1), 2);
      });

      test(`close with timeoutMs ${limitMs} lets a 50 ms call finish instead of killing it`, async () => {
        const policy = await spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', ['c'], {
          kind,
        });
        const pending = policy.slowAct(5, 50);
        await within(close(policy, { timeoutMs: limitMs }), 15_000, 'close');
        assert.equal(await pending, 5);
      });
    }
  });
}

describe('close refuses what is not a remote, and bad options, with ERR_INVALID_ARGUMENT', () => {
  test('close(null), close(42), close({}) and close() reject, they do not throw', async () => {
    for (const value of [null, undefined, 42, 'remote', {}, () => 1, Symbol('x')]) {
      let promise: Promise<void> | undefined;
      assert.doesNotThrow(() => {
        promise = untypedClose(value);
      });
      const error = (await rejectionOf(promise!)) as KeelError;
      assert.ok(error instanceof KeelError, `close(a ${typeof value}): ${String(error)}`);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.match(error.message, /remote must be a remote returned by spawn/);
    }
  });

  test('bad close options reject and leave the remote serving', async () => {
    await using policy = await spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', ['o']);
    for (const [options, pattern] of [
      [{ timeoutMs: NaN }, /timeoutMs must be a number of milliseconds >= 0/],
      [{ timeoutMs: 'abc' }, /timeoutMs must be a number of milliseconds >= 0/],
      [{ timeoutMs: -1 }, /timeoutMs must be a number of milliseconds >= 0/],
      [{ timeout: 5 }, /options\.timeout is not an option; did you mean timeoutMs\?/],
      [null, /options must be an object, got null/],
      ['fast', /options must be an object/],
    ] as const) {
      const error = (await rejectionOf(untypedClose(policy, options))) as KeelError;
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.match(error.message, pattern);
    }
    // None of them acted as a 1 ms close: the remote still answers.
    assert.equal(await policy.act(3), 6);
  });
});

test('spawn refuses unknown option keys, nonsense values and misused arguments before starting anything', async () => {
  const cases: [unknown[], RegExp][] = [
    [[{ callTimeout: 5 }], /options\.callTimeout is not an option; did you mean callTimeoutMs\?/],
    [[{ startTimeout: 5 }], /did you mean startTimeoutMs\?/],
    [[{ timeout: 5 }], /options\.timeout is not an option/],
    [[{ resourceLimit: {} }], /did you mean resourceLimits\?/],
    [[{ callTimeoutMs: NaN }], /callTimeoutMs must be a number of milliseconds >= 0/],
    [[{ callTimeoutMs: '50' }], /callTimeoutMs must be a number of milliseconds >= 0/],
    [[{ startTimeoutMs: -1 }], /startTimeoutMs must be a number of milliseconds >= 0/],
    [[{ kind: null }], /kind must be 'thread' or 'process', got null/],
    [[{ signal: {} }], /signal must be an AbortSignal/],
    [[{ env: { PORT: 8080 } }], /env\.PORT must be a string, got 8080/],
    [[{ env: 'PATH=/bin' }], /env must be an object/],
    [[{ execArgv: ['--inspect', 1] }], /execArgv must be an array of strings/],
    [[{ resourceLimits: { stackSizeMb: 0.01 } }], /resourceLimits\.stackSizeMb must be/],
    [
      [{ kind: 'process', resourceLimits: { maxOldGenerationSizeMb: 'abc' } }],
      /resourceLimits\.maxOldGenerationSizeMb must be a finite number/,
    ],
    [[{ resourceLimits: { maxOldGenerationSizeMb: NaN } }], /maxOldGenerationSizeMb must be/],
    [[{ resourceLimits: { maxOldGenerationSizeMb: -1 } }], /maxOldGenerationSizeMb must be/],
    [[{ resourceLimits: { maxOldSize: 64 } }], /resourceLimits\.maxOldSize is not an option/],
    [[{ resourceLimits: 'big' }], /resourceLimits must be an object/],
    [[{ kind: 'process', arena: 'shared' }], /arena must be an Arena or arena options/],
    [[{ kind: 'process', arena: { byte: 1024 } }], /byte is not an option; did you mean bytes\?/],
    [
      [null],
      /the second argument must be a factory name \(a string\) or the options object, got null/,
    ],
    [['makePolicy', [], null], /options must be an object, got null/],
    [[42], /the second argument must be a factory name \(a string\) or the options object/],
    [['', []], /factory must be the name of an export/],
    [['makePolicy', 'x'], /args must be an array/],
    [['makePolicy', [], 'fast'], /options must be an object/],
    [[undefined, ['x']], /args must be absent without a factory/],
    [[{}, [], {}], /args|options/],
  ];
  for (const [rest, pattern] of cases) {
    const error = (await within(
      rejectionOf(untypedSpawn(policyUrl, ...rest)),
      5_000,
      'spawn',
    )) as KeelError;
    assert.ok(error instanceof KeelError, `${JSON.stringify(rest)}: ${String(error)}`);
    assert.equal(error.code, 'ERR_INVALID_ARGUMENT', error.message);
    assert.match(error.message, pattern);
  }
});

test('an already aborted signal rejects spawn with its reason before anything starts', async () => {
  const reason = new Error('operator stop');
  const error = await within(
    rejectionOf(spawn(policyUrl, { signal: AbortSignal.abort(reason) })),
    5_000,
    'spawn',
  );
  assert.equal(error, reason);
});

test('close settles every time: twice at once, again after, and on a remote a call timeout killed', async () => {
  const policy = await spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', ['k'], {
    callTimeoutMs: 100,
  });
  assert.equal(((await rejectionOf(policy.hang())) as KeelError).code, 'ERR_TIMEOUT');
  await within(Promise.all([close(policy), close(policy)]), 10_000, 'close');
  await within(close(policy), 10_000, 'a third close');
});

test('logging a remote (JSON.stringify, a template string) calls nothing in the worker and rejects nothing', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    await using policy = await spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', ['j']);
    assert.equal(JSON.stringify(policy), '{}');
    const text = policy as unknown as string;
    assert.equal(`remote: ${text}`, 'remote: [keel Remote]');
    assert.equal([text].join(), '[keel Remote]');
    // Had any of them sent a call, it would be in the log, and its rejection unhandled.
    assert.equal(await policy.act(1), 2);
    assert.deepEqual(await policy.log, ['act:1']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  expectTypeOf<Remote<{ toJSON(): string; act(): number }>>().not.toHaveProperty('toJSON');
  expectTypeOf<Remote<{ toJSON(): string; act(): number }>>().toHaveProperty('act');
});
