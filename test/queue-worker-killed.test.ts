import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QueuePool } from 'keel/queue';
import { eventually } from './helpers.ts';
import {
  copyOfFixtures,
  kCallerRoot,
  kNeedsRedis,
  kTasks,
  RedisServer,
  startWorker,
  uniqueQueue,
  type WorkerProcess,
} from './queue-helpers.ts';

// Nothing is lost: a worker SIGKILLed with jobs in flight has them run again on another worker
// (its locks expire; the other's stalled-job check puts them back), and each caller's run gets
// exactly one answer. Locks of 1 s and a check every 0.5 s keep the recovery within seconds.

describe('QueuePool with a worker SIGKILLed mid-run', { ...kNeedsRedis, timeout: 60_000 }, () => {
  let redis: RedisServer;
  let fixtures: ReturnType<typeof copyOfFixtures>;
  let workers: WorkerProcess[] = [];
  let pool: QueuePool;
  let marks: string;
  const queue = uniqueQueue('killed');

  before(async () => {
    redis = await RedisServer.start();
    fixtures = copyOfFixtures();
    marks = mkdtempSync(join(tmpdir(), 'keel-queue-marks-'));
    const flags = ['--threads', '4', '--concurrency', '15'];
    workers = await Promise.all([
      startWorker(redis.url, queue, fixtures.root, flags),
      startWorker(redis.url, queue, fixtures.root, flags),
    ]);
    pool = new QueuePool({ connection: redis.url, queue, root: kCallerRoot });
  });

  after(async () => {
    await pool?.close({ force: true });
    await Promise.all(workers.map((worker) => worker.kill()));
    fixtures?.remove();
    rmSync(marks, { recursive: true, force: true });
    await redis?.stop();
  });

  /** The pids that started each job, by job: a rerun appends its pid. */
  const starts = (): Map<string, string[]> => {
    const byJob = new Map<string, string[]>();
    for (const file of readdirSync(marks).filter((name) => name.endsWith('.started'))) {
      const pids = readFileSync(join(marks, file), 'utf8').trim().split('\n');
      byJob.set(file.replace('.started', ''), pids);
    }
    return byJob;
  };

  it('all 30 runs get their result, once each, when one of two workers is killed', async () => {
    const [victim, survivor] = workers as [WorkerProcess, WorkerProcess];
    const ids = Array.from({ length: 30 }, (_, index) => `job${index}`);
    const startedMs = performance.now();
    const runs = ids.map((id) =>
      pool.run<string>(kTasks, 'appendedSleep', [marks, id, 300], { timeoutMs: 30_000 }),
    );
    // Kill it while it holds jobs: some running on its threads, more waiting in its local pool.
    const victimPid = String(victim.child.pid);
    await eventually(
      () => [...starts().values()].some((pids) => pids.includes(victimPid)),
      'the victim started a job',
    );
    await victim.kill();
    const results = await Promise.all(runs);
    assert.deepEqual(results, ids);
    const stats = pool.stats();
    assert.equal(stats.completed, 30);
    assert.equal(stats.failed, 0);
    assert.equal(stats.pending, 0);
    // The victim's jobs ran again on the survivor; the whole run stayed within seconds.
    const rerun = [...starts().values()].filter((pids) => pids.length > 1);
    assert.ok(rerun.length > 0, 'no job was run twice: the victim held none when killed');
    for (const pids of rerun) assert.equal(pids.at(-1), String(survivor.child.pid));
    assert.ok(performance.now() - startedMs < 20_000);
  });
});
