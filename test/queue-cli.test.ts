import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { QueuePool } from 'keel/queue';
import { eventually, rejectionOf } from './helpers.ts';
import {
  copyOfFixtures,
  freePort,
  kCallerRoot,
  kNeedsRedis,
  kTasks,
  RedisServer,
  startWorker,
  uniqueQueue,
} from './queue-helpers.ts';

// `keel worker`: usage on --help, readable errors with exit codes for a bad flag, a bad URL
// and an unreachable Redis, a readiness line once it listens, and SIGTERM drains (running jobs
// finish and answer, no new job is taken) before it exits 0.

const kBin = fileURLToPath(new URL('../bin/keel.mjs', import.meta.url));

function keel(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [kBin, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

it('keel worker --help prints its usage; keel --help lists the command', () => {
  const help = keel('worker', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: keel worker --redis URL --queue NAME/);
  assert.match(help.stdout, /--threads N/);
  assert.match(keel('--help').stdout, /worker {2}runs the jobs/);
});

it('bad flags and a bad URL are usage errors (exit 2) that say what is wrong', () => {
  const missing = keel('worker', '--queue', 'q');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--redis is required/);
  const unknown = keel('worker', '--redis', 'redis://x', '--queue', 'q', '--thread', '2');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown argument --thread/);
  const notNumber = keel('worker', '--redis', 'redis://x', '--queue', 'q', '--threads', 'many');
  assert.equal(notNumber.status, 2);
  assert.match(notNumber.stderr, /--threads must be an integer, got many/);
  const badUrl = keel('worker', '--redis', 'http://localhost:6379', '--queue', 'q');
  assert.equal(badUrl.status, 2);
  assert.match(badUrl.stderr, /connection must be a redis:\/\/ or rediss:\/\/ URL/);
});

it('an unreachable Redis is a one-line error and exit 1 after --connect-timeout-ms', async () => {
  const url = `redis://user:secret@127.0.0.1:${await freePort()}`;
  const startedMs = Date.now();
  const down = keel('worker', '--redis', url, '--queue', 'q', '--connect-timeout-ms', '500');
  assert.equal(down.status, 1);
  assert.match(
    down.stderr,
    /^keel worker: Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:\d+ did not answer within connectTimeoutMs \(500 ms\)/,
  );
  assert.doesNotMatch(down.stderr, /secret/);
  assert.ok(Date.now() - startedMs < 10_000);
});

describe('keel worker on a live Redis', { ...kNeedsRedis, timeout: 60_000 }, () => {
  let redis: RedisServer;
  let fixtures: ReturnType<typeof copyOfFixtures>;
  let marks: string;
  const queue = uniqueQueue('cli');

  before(async () => {
    redis = await RedisServer.start();
    fixtures = copyOfFixtures();
    marks = mkdtempSync(join(tmpdir(), 'keel-queue-marks-'));
  });

  after(async () => {
    fixtures?.remove();
    rmSync(marks, { recursive: true, force: true });
    await redis?.stop();
  });

  it('prints a readiness line, and SIGTERM lets the running job answer, takes no new one, exits 0', async () => {
    const worker = await startWorker(redis.url, queue, fixtures.root, ['--concurrency', '1']);
    const pool = new QueuePool({ connection: redis.url, queue, root: kCallerRoot });
    try {
      const running = pool.run(kTasks, 'markedSleep', [marks, 'draining', 800], {
        timeoutMs: 10_000,
      });
      await eventually(() => existsSync(join(marks, 'draining.started')), 'the job started');
      worker.child.kill('SIGTERM');
      await sleep(100);
      const queuedAfter = rejectionOf(
        pool.run(kTasks, 'markedSleep', [marks, 'afterTerm', 10], { timeoutMs: 2_500 }),
      );
      assert.equal(await running, 'draining');
      assert.equal(await worker.exited, 0);
      assert.match(worker.stderr(), /SIGTERM: draining \(1 running/);
      assert.equal(((await queuedAfter) as { code: string }).code, 'ERR_TIMEOUT');
      assert.ok(!existsSync(join(marks, 'afterTerm.started')));
    } finally {
      await pool.close({ force: true });
      await worker.kill();
    }
  });
});
