// What a keel worker inherits of its caller's Node flags: a program started with
// `node --input-type=module -e "..."` can use every kind of worker (its threads would otherwise
// refuse to boot, and its children would run the eval instead of keel's entry); flags the user
// gives are used as given, and one that cannot apply to a worker is refused, never dropped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KeelError, Pool, close, spawn } from 'keel';
import { inheritableExecArgv, inheritsInputType } from '../dist/options/worker-exec-argv.js';
import { fixture, rejectionOf } from './helpers.ts';

const kTest = { timeout: 120_000 };
const math = fixture('math.mjs').href;
const environment = fixture('environment.mjs').href;
const streams = fixture('streams.mjs').href;

/**
 * An ES module program for `-e`: a pool of threads and one of processes, a remote of each kind
 * (reporting the flags its worker got) and a stream. A forked child that runs this code instead
 * of keel's entry (it has an IPC channel) exits at once: it must not fork again.
 */
const kProgram = `
if (process.send) { console.log('the eval ran in a child'); process.exit(3); }
const { Pool, spawn, close, iterateInWorker } = await import('keel');
const out = {};
for (const kind of ['thread', 'process']) {
  const pool = new Pool({ kind, maxThreads: 1 });
  out[kind + 'Pool'] = await pool.run(${JSON.stringify(math)}, 'add', [2, 3]);
  await pool.close();
  const remote = await spawn(${JSON.stringify(environment)}, { kind, ...(process.env.GIVEN ? { execArgv: JSON.parse(process.env.GIVEN) } : {}) });
  out[kind + 'Flags'] = await remote.execArgv();
  await close(remote);
}
const items = [];
for await (const item of iterateInWorker(${JSON.stringify(streams)}, 'count', [3])) items.push(item);
out.stream = items;
console.log(JSON.stringify(out));
`;

/** What fixtures/environment.mjs serves. */
interface Environment {
  execArgv(): string[];
}

interface ProgramOutput {
  threadPool: number;
  processPool: number;
  threadFlags: string[];
  processFlags: string[];
  stream: number[];
}

/** Runs kProgram as `node <flags> <program>` (60 s watchdog) and parses the line it prints. */
function runProgram(flags: string[], given?: string[]): ProgramOutput {
  const result = spawnSync(process.execPath, [...flags, kProgram], {
    encoding: 'utf8',
    timeout: 60_000,
    // `import('keel')` in the eval resolves from the working directory: the package's own.
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, ...(given ? { GIVEN: JSON.stringify(given) } : {}) },
  });
  assert.equal(
    result.status,
    0,
    `exit ${result.status} ${result.signal}\n${result.stdout}${result.stderr}`,
  );
  return JSON.parse(result.stdout.trim()) as ProgramOutput;
}

test(
  'a program run as `node --input-type=module -e` uses pools, remotes and streams of both kinds',
  kTest,
  () => {
    const out = runProgram(['--input-type=module', '-e']);
    assert.equal(out.threadPool, 5);
    assert.equal(out.processPool, 5);
    assert.deepEqual(out.stream, [0, 1, 2]);
    // A child gets the caller's flags without the ones that chose the program.
    assert.deepEqual(out.processFlags, []);
  },
);

test('the same holds for `--input-type module --eval` and other inherited flags', kTest, () => {
  const out = runProgram(['--no-warnings', '--input-type', 'module', '--eval']);
  assert.equal(out.threadPool, 5);
  assert.equal(out.processPool, 5);
  assert.deepEqual(out.stream, [0, 1, 2]);
  assert.deepEqual(out.processFlags, ['--no-warnings'], 'the flags that apply to a worker stay');
});

test('a user-given execArgv reaches the worker as given, in an eval program too', kTest, () => {
  const out = runProgram(['--input-type=module', '-e'], ['--no-warnings', '--trace-warnings']);
  assert.deepEqual(out.threadFlags, ['--no-warnings', '--trace-warnings']);
  assert.deepEqual(out.processFlags, ['--no-warnings', '--trace-warnings']);
});

test(
  'a given execArgv with a flag that cannot apply to a worker is ERR_START_FAILED',
  kTest,
  async () => {
    for (const kind of ['thread', 'process'] as const) {
      for (const execArgv of [['--eval', '1'], ['--input-type=module'], ['--test']]) {
        const error = await rejectionOf(spawn(fixture('environment.mjs'), { kind, execArgv }));
        assert.ok(error instanceof KeelError, `${kind} ${execArgv[0]}: ${String(error)}`);
        assert.equal(error.code, 'ERR_START_FAILED');
        assert.match(error.message, new RegExp(`execArgv holds ${execArgv[0]}`));
      }
      await using pool = new Pool({ kind, maxThreads: 1, execArgv: ['-p', '1'] });
      const error = await rejectionOf(pool.run(fixture('math.mjs'), 'add', [1, 1]));
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_START_FAILED');
      assert.match(error.message, /execArgv holds -p/);
    }
    // The remotes that were refused left nothing running: a good flag list still works.
    const remote = await spawn<Environment>(fixture('environment.mjs'), { execArgv: [] });
    assert.deepEqual(await remote.execArgv(), []);
    await close(remote);
  },
);

test('inheritableExecArgv drops the program flags with their values and keeps the rest', () => {
  const caller = [
    '--expose-gc',
    '--input-type',
    'module',
    '--import',
    'tsx',
    '-e',
    '-1',
    '--print=x',
    '-pe',
    'code',
    '-r',
    './setup.cjs',
    '--test',
    '--test-reporter',
    'spec',
    '--test-name-pattern=a',
    '--test-only',
    '--experimental-test-coverage',
    '--watch-path',
    'src',
    '-i',
    '--check',
    '--conditions=dev',
    '--max-old-space-size=512',
  ];
  assert.deepEqual(inheritableExecArgv(caller), [
    '--expose-gc',
    '--import',
    'tsx',
    '-r',
    './setup.cjs',
    '--conditions=dev',
    '--max-old-space-size=512',
  ]);
  assert.deepEqual(inheritableExecArgv([]), []);
  assert.equal(inheritsInputType(['--input-type=commonjs']), true);
  assert.equal(inheritsInputType(['--input-type', 'module']), true);
  // `--input-type=module` as the *code* of `-e` is not the flag.
  assert.equal(inheritsInputType(['-e', '--input-type=module']), false);
  assert.equal(inheritsInputType(['--expose-gc']), false);
});
