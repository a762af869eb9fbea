// Without CAP_SYS_NICE and with RLIMIT_RTPRIO 0, priority 'realtime' fails the start of every
// kind of worker with ERR_PERMISSION saying how to grant it (ulimit -r, setcap, systemd
// LimitRTPRIO=), and priorityFallback: 'normal' runs it anyway and says so in scheduling().
// Refused for real: the fixture runs as user 65534 (setpriv), which drops root's capabilities.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fixturePath, kNeedsNative } from './helpers.ts';

interface Outcome {
  readonly name: string;
  readonly code?: string;
  readonly message?: string;
  readonly report?: {
    readonly policy: string;
    readonly priority: number;
    readonly requested: string;
    readonly fallback: boolean;
    readonly reason: string;
  };
}

function canDropToNobody(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to run a child as user 65534';
  if (spawnSync('sh', ['-c', 'command -v setpriv']).status !== 0) return 'needs setpriv';
  return undefined;
}

test(
  "priority 'realtime' without the privilege: ERR_PERMISSION with the how-to, or the fallback reported",
  kNeedsNative,
  (t) => {
    const cannot = canDropToNobody();
    if (cannot) {
      t.skip(cannot);
      return;
    }
    const run = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        fixturePath('scheduling-refused.mjs'),
      ],
      // The child's own limit, whatever this shell's: RLIMIT_RTPRIO 0 is what most users have.
      { encoding: 'utf8', timeout: 90_000, killSignal: 'SIGKILL', env: { ...process.env } },
    );
    const report = `status ${run.status}, signal ${run.signal}\n${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, report);
    const outcomes = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Outcome);
    assert.equal(outcomes.length, 13, report);
    for (const outcome of outcomes) {
      if (outcome.name.startsWith('fallback')) {
        assert.equal(outcome.code, undefined, `${outcome.name}: ${outcome.message}`);
        assert.equal(outcome.report?.policy, 'other', outcome.name);
        assert.equal(outcome.report?.priority, 0, outcome.name);
        assert.equal(outcome.report?.requested, 'realtime', outcome.name);
        assert.equal(outcome.report?.fallback, true, outcome.name);
        assert.match(outcome.report?.reason ?? '', /refused/, outcome.name);
        continue;
      }
      assert.equal(outcome.code, 'ERR_PERMISSION', `${outcome.name}: ${JSON.stringify(outcome)}`);
      for (const howTo of [/ulimit -r 80/, /setcap cap_sys_nice\+ep/, /LimitRTPRIO=80/]) {
        assert.match(outcome.message ?? '', howTo, outcome.name);
      }
      assert.match(outcome.message ?? '', /priorityFallback: 'normal'/, outcome.name);
    }
  },
);
