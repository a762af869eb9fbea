// priority and cpus reach the OS thread of every kind of keel worker, before user code runs:
// the kernel's own view (/proc/<pid>/task/<tid>/stat fields 40 and 41, status
// Cpus_allowed_list), read by the worker itself and by this process, agrees with what
// keel's scheduling() reports; a realtime loop's thread is gone once stop() resolves.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  close,
  DataLoader,
  iterateInWorker,
  nativeStatus,
  Pool,
  RealtimeLoop,
  scheduling,
  spawn,
  type SchedulingReport,
} from 'keel';
import { eventually, fixture, kNeedsNative } from './helpers.ts';

const kProbe = fixture('scheduling-probe.mjs');
/** Linux policy numbers, as /proc shows them (stat field 41). */
const kFifo = 1;
const kOther = 0;
const kIdle = 5;

interface Probe {
  readonly pid: number;
  readonly tid: number;
  readonly rtPriority: number;
  readonly policy: number;
  readonly cpus: string;
}

/** A thread's scheduling as this process reads it from /proc, from the outside. */
function fromOutside(pid: number, tid: number): Omit<Probe, 'pid' | 'tid'> {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  return {
    rtPriority: Number(fields[40 - 3]),
    policy: Number(fields[41 - 3]),
    cpus: /^Cpus_allowed_list:\s*(\S+)/m.exec(status)![1]!,
  };
}

/** The worker's own view, this process's view from outside, and keel's report all agree. */
function assertApplied(
  probe: Probe,
  report: SchedulingReport | undefined,
  expected: { policy: number; rtPriority: number; cpus: string },
): void {
  assert.ok(report, 'scheduling() reports what was applied');
  assert.deepEqual({ pid: report.pid, tid: report.tid }, { pid: probe.pid, tid: probe.tid });
  const { pid, tid, ...seenInside } = probe;
  assert.deepEqual(seenInside, expected, 'as the worker thread reads itself in /proc');
  assert.deepEqual(fromOutside(pid, tid), expected, 'as this process reads it in /proc');
  assert.equal(report.priority, expected.rtPriority);
  assert.deepEqual(report.cpus, cpuList(expected.cpus));
  assert.equal(report.fallback, false);
}

/** '0-2,5' as [0, 1, 2, 5]: the kernel's CPU list format. */
function cpuList(text: string): number[] {
  return text.split(',').flatMap((part) => {
    const [first, last = first] = part.split('-').map(Number) as [number, number?];
    return Array.from({ length: last - first + 1 }, (_, index) => first + index);
  });
}

const isRoot = process.getuid?.() === 0;
const kNeedsRealtime = !nativeStatus().loaded
  ? kNeedsNative
  : isRoot
    ? {}
    : { skip: 'SCHED_FIFO needs CAP_SYS_NICE: run the suite as root (CI does)' };
/** CPU 1 where there is one: pinning there moves the thread off CPU 0, where it may start. */
const lastCpu = String(Math.min(1, availableParallelism() - 1));
/** The CPUs this process may use, as the kernel lists them: what an unpinned thread gets. */
const kAllCpus = /^Cpus_allowed_list:\s*(\S+)/m.exec(
  readFileSync('/proc/self/status', 'utf8'),
)![1]!;

describe('scheduling applied to each kind of worker', kNeedsNative, () => {
  const folder = mkdtempSync(join(tmpdir(), 'keel-scheduling-'));
  after(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  test(
    'an inWorker loop with priority realtime and cpus [1] runs SCHED_FIFO 80 on CPU 1, and its thread is gone after stop()',
    kNeedsRealtime,
    async () => {
      const file = join(folder, 'loop.json');
      process.env.SCHEDULING_PROBE_FILE = file;
      let loop: RealtimeLoop;
      try {
        loop = await RealtimeLoop.inWorker(kProbe, 'tick', {
          hz: 200,
          priority: 'realtime',
          cpus: [Number(lastCpu)],
        });
      } finally {
        delete process.env.SCHEDULING_PROBE_FILE;
      }
      const report = loop.scheduling();
      const probe = JSON.parse(readFileSync(file, 'utf8')) as Probe;
      assertApplied(probe, report, { policy: kFifo, rtPriority: 80, cpus: lastCpu });
      assert.equal(report?.policy, 'fifo');
      assert.equal(report?.requested, 'realtime');
      assert.equal(probe.pid, process.pid, 'the loop runs on a thread of this process');
      await loop.stop();
      await eventually(
        () => !existsSync(`/proc/self/task/${probe.tid}`),
        `thread ${probe.tid} is gone`,
      );
    },
  );

  test('a calling-thread loop, and an inWorker loop given neither option, report no scheduling', async () => {
    const local = new RealtimeLoop({ hz: 10, tick: () => undefined });
    assert.equal(local.scheduling(), undefined);
    const loop = await RealtimeLoop.inWorker(kProbe, 'tick', { hz: 10 });
    assert.equal(loop.scheduling(), undefined);
    await loop.stop();
  });

  for (const kind of ['thread', 'process'] as const) {
    test(`pool ${kind} workers with priority background and cpus [0] run SCHED_IDLE on CPU 0, every one`, async () => {
      const pool = new Pool({
        kind,
        minThreads: 2,
        maxThreads: 2,
        priority: 'background',
        cpus: [0],
      });
      try {
        const [a, b] = await Promise.all([
          pool.run<Probe>(kProbe, 'whoami'),
          pool.run<Probe>(kProbe, 'whoami'),
        ]);
        const reports = pool.scheduling();
        assert.equal(reports.length, 2, 'one report per thread');
        for (const probe of [a, b]) {
          const report = reports.find((candidate) => candidate.tid === probe.tid);
          assertApplied(probe, report, { policy: kIdle, rtPriority: 0, cpus: '0' });
          assert.equal(report?.policy, 'idle');
          if (kind === 'process') assert.notEqual(probe.pid, process.pid);
        }
      } finally {
        await pool.close();
      }
    });

    test(
      `a spawned ${kind} with priority realtime and rtPriority 10 runs SCHED_FIFO 10`,
      kNeedsRealtime,
      async () => {
        const remote = await spawn<typeof import('./fixtures/scheduling-probe.mjs'), 'makeProbe'>(
          kProbe,
          'makeProbe',
          [],
          { kind, priority: 'realtime', rtPriority: 10 },
        );
        try {
          const probe = await remote.whoami();
          assertApplied(probe, scheduling(remote), {
            policy: kFifo,
            rtPriority: 10,
            cpus: kAllCpus,
          });
        } finally {
          await close(remote);
        }
      },
    );

    test(`an iterateInWorker ${kind} with priority normal and cpus [1] runs SCHED_OTHER on CPU 1`, async () => {
      const stream = iterateInWorker<Probe>(kProbe, 'probeStream', [], {
        kind,
        priority: 'normal',
        cpus: [Number(lastCpu)],
      });
      assert.equal(stream.scheduling(), undefined, 'nothing before the worker starts');
      const first = await stream.next();
      assert.equal(first.done, false);
      assertApplied(first.value, stream.scheduling(), {
        policy: kOther,
        rtPriority: 0,
        cpus: lastCpu,
      });
      await stream.return();
    });

    test(`DataLoader ${kind} workers with priority background load on SCHED_IDLE threads`, async () => {
      await using loader = new DataLoader<Probe[]>({
        dataset: kProbe,
        batchSize: 2,
        numWorkers: 2,
        kind,
        priority: 'background',
        collate: (samples) => samples as Probe[],
      });
      const seen: Probe[] = [];
      for await (const batch of loader) seen.push(...batch);
      assert.equal(seen.length, 2);
      for (const probe of seen) {
        assert.deepEqual(
          { policy: probe.policy, rtPriority: probe.rtPriority },
          { policy: kIdle, rtPriority: 0 },
        );
        if (kind === 'process') assert.notEqual(probe.pid, process.pid);
      }
    });
  }

  test('without priority or cpus, a pool reports nothing and its threads keep the inherited class', async () => {
    const pool = new Pool({ maxThreads: 1 });
    try {
      const probe = await pool.run<Probe>(kProbe, 'whoami');
      assert.equal(probe.policy, kOther);
      assert.deepEqual(pool.scheduling(), []);
    } finally {
      await pool.close();
    }
  });
});
