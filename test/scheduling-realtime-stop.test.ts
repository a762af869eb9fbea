// A realtime loop's worker (SCHED_FIFO, pinned to one CPU) whose tick throws, or spins for
// ever, is still stopped from the caller: stop() settles (with the tick's error, or ERR_TIMEOUT
// once the stuck thread was terminated) and the thread is gone. Run in a child process under a
// watchdog: a SCHED_FIFO spin that could not be stopped must not take the test runner with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fixturePath, kNeedsNative } from './helpers.ts';

interface StopOutcome {
  readonly name: string;
  readonly policy: string;
  readonly stopped: string;
  readonly stopMs: number;
  readonly gone: boolean;
  readonly onError: number;
}

test(
  'a SCHED_FIFO loop whose tick throws or spins for ever is stopped, and its thread is gone',
  kNeedsNative,
  (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('SCHED_FIFO needs CAP_SYS_NICE: run the suite as root (CI does)');
      return;
    }
    const run = spawnSync(process.execPath, [fixturePath('scheduling-stuck.mjs')], {
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    const report = `status ${run.status}, signal ${run.signal}\n${run.stdout}\n${run.stderr}`;
    assert.equal(run.signal, null, `the watchdog killed the child: ${report}`);
    assert.equal(run.status, 0, report);
    const [throws, spins] = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as StopOutcome);
    assert.deepEqual(
      {
        policy: throws?.policy,
        stopped: throws?.stopped,
        gone: throws?.gone,
        onError: throws?.onError,
      },
      { policy: 'fifo', stopped: 'E_CONTROL', gone: true, onError: 1 },
      report,
    );
    assert.deepEqual(
      {
        policy: spins?.policy,
        stopped: spins?.stopped,
        gone: spins?.gone,
        onError: spins?.onError,
      },
      { policy: 'fifo', stopped: 'ERR_TIMEOUT', gone: true, onError: 0 },
      report,
    );
    // stop({ timeoutMs: 1000 }) waited for the tick, then terminated it: seconds, not minutes.
    assert.ok(spins!.stopMs >= 900 && spins!.stopMs < 20_000, report);
  },
);
