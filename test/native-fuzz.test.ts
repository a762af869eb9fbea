// The raw native addon never crashes on bad input, and its wait/wake/mutex calls keep their
// contract (native/CONTRACT.md) inside one process and across processes. Every check runs in a
// child process under a watchdog (test/fixtures/native-fuzz.mjs, native-futex.mjs): a crash
// shows as a signal, a hang as the watchdog's kill. test/native-sanitizers.test.ts runs the
// same children against an AddressSanitizer build.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { nativeStatus } from 'keel';
import { fixturePath } from './helpers.ts';

const skip =
  process.env.KEEL_NATIVE === '0'
    ? 'KEEL_NATIVE=0: the addon is disabled in this run'
    : process.platform !== 'linux' || process.arch !== 'x64'
      ? `the addon is required and tested on linux-x64 only (this is ${process.platform}-${process.arch})`
      : false;

// Printed with every failure, so that a failing run can be repeated exactly.
const seed = Number(process.env.KEEL_FUZZ_SEED ?? Date.now() % 2 ** 31);

interface ChildRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a fixture in a child with a watchdog: `node fixture ...args`. */
function runChild(
  fixture: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  watchdogMs = 60_000,
): ChildRun {
  const started = Date.now();
  const result = spawnSync(process.execPath, [fixturePath(fixture), ...args], {
    encoding: 'utf8',
    env,
    timeout: watchdogMs,
    killSignal: 'SIGKILL',
  });
  return { ...result, ms: Date.now() - started };
}

function describeRun(run: ChildRun): string {
  return `seed ${seed}; status ${run.status}, signal ${run.signal}, ${run.ms} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

function assertClean(run: ChildRun): void {
  assert.equal(
    run.signal,
    null,
    `the child was killed (a crash or the watchdog): ${describeRun(run)}`,
  );
  assert.equal(run.status, 0, describeRun(run));
}

/** The /dev/shm entries whose name contains `part`, which it removes (a crashed child's). */
function shmEntries(part: string): string[] {
  const left = readdirSync('/dev/shm').filter((entry) => entry.includes(part));
  for (const entry of left) rmSync(join('/dev/shm', entry), { force: true });
  return left;
}

describe('the native addon under random and hostile input', { skip }, () => {
  test('the addon is loaded in this run (a failed build would otherwise skip every native test)', () => {
    const status = nativeStatus();
    assert.equal(status.loaded, true, status.reason);
  });

  test('every raw function returns a well-formed result or throws a TypeError, RangeError or errno Error', () => {
    const run = runChild('native-fuzz.mjs', [String(seed), '300']);
    assertClean(run);
    const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as { failed: boolean };
    assert.equal(summary.failed, false, describeRun(run));
    assert.deepEqual(shmEntries('kfz'), [], 'the fuzz child left segments behind');
  });

  // Async waits have two engines (native/CONTRACT.md): io_uring where the kernel allows it, a
  // waiter thread elsewhere (KEEL_NATIVE_NO_URING forces it). Both pass the same checks.
  for (const engine of ['default', 'waiter thread'] as const) {
    const env = engine === 'default' ? process.env : { ...process.env, KEEL_NATIVE_NO_URING: '1' };
    describe(`async waits (${engine} engine)`, () => {
      test('wait, wake and waitAsync agree with Atomics on random sequences', () => {
        assertClean(runChild('native-futex.mjs', ['semantics', String(seed), '100'], env));
      });

      test('5,000 pending waitAsync calls use no libuv pool thread and at most ceil(5000/127) threads', () => {
        const run = runChild('native-futex.mjs', ['many'], env);
        assertClean(run);
        const { started } = JSON.parse(run.stdout) as { started: number };
        assert.ok(started >= 0 && started <= 40, `${started} waiter threads`);
      });

      test('sync and async waits end at their timeout, not before and not much after', () => {
        assertClean(runChild('native-futex.mjs', ['timeouts'], env));
      });

      test('a pending wait without keepAlive lets the process exit; with keepAlive it waits for it', () => {
        const off = runChild('native-futex.mjs', ['keepalive-off'], env, 20_000);
        assertClean(off);
        assert.ok(off.ms < 15_000, `exited after ${off.ms} ms`);
        const on = runChild('native-futex.mjs', ['keepalive-on'], env);
        assertClean(on);
        const { outcome, ms } = JSON.parse(on.stdout) as { outcome: string; ms: number };
        assert.equal(outcome, 'timed-out');
        assert.ok(ms >= 450, `settled after ${ms} ms`);
      });

      test('a child blocked in wait (sync, then async) on a named segment is woken by another process', () => {
        const name = `/kfx${process.pid}-${seed}-${engine.length}`;
        const run = runChild('native-futex.mjs', ['cross', name], env);
        assert.deepEqual(shmEntries(name.slice(1)), [], 'segments left behind');
        assertClean(run);
      });

      test('a wait settled by a wake from its own thread takes no count of a later wake', () => {
        const name = `/kfw${process.pid}-${seed}-${engine.length}`;
        const run = runChild('native-futex.mjs', ['withdrawn', name], env);
        assert.deepEqual(shmEntries(name.slice(1)), [], 'segments left behind');
        assertClean(run);
      });
    });
  }

  test('scheduling: each class and CPU set applied to the calling thread reads back as /proc shows it', () => {
    const run = runChild('native-scheduling.mjs', []);
    assertClean(run);
    const { checked, privileged } = JSON.parse(run.stdout) as {
      checked: string[];
      privileged: boolean;
    };
    const expected = privileged
      ? ['fifo', 'reset-on-fork', 'idle', 'other', 'affinity', 'errors']
      : ['idle', 'affinity', 'errors'];
    assert.deepEqual(checked, expected);
  });

  test('a robust mutex held by a SIGKILLed child is recovered at once by the next locker', () => {
    const name = `/kfm${process.pid}-${seed}`;
    const run = runChild('native-futex.mjs', ['mutex', name]);
    assert.deepEqual(shmEntries(name.slice(1)), [], 'segments left behind');
    assertClean(run);
    assert.equal((JSON.parse(run.stdout) as { first: string }).first, 'recovered');
  });
});
