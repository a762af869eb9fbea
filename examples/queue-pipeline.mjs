// A pipeline stage across machines: a QueuePool (keel/queue, on BullMQ and Redis) given to
// task(), served by two `keel worker` processes. Here all three run on this machine: the
// example starts a redis-server of its own (or uses REDIS_URL), the two workers, feeds 40
// images through the stage and drains the workers with SIGTERM, as a deployment would.
// Needs: npm install bullmq ioredis, and redis-server (Debian: apt-get install redis-server).
// Run: node examples/queue-pipeline.mjs
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline, task } from 'keel';
import { QueuePool } from 'keel/queue';

const kImages = new URL('./queue/images.mjs', import.meta.url);
const kRoot = fileURLToPath(new URL('./', import.meta.url));
// The `keel` command of the installed package: what `npx keel` runs.
const kKeelBin = join(
  dirname(fileURLToPath(import.meta.resolve('keel/package.json'))),
  'bin/keel.mjs',
);
const kQueue = 'example-images';

/** Resolves with the first stdout line of `child` matching `pattern`. */
function lineOf(child, pattern) {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const line = text.split('\n').find((candidate) => pattern.test(candidate));
      if (line !== undefined) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ${pattern}`)));
  });
}

/** REDIS_URL, or a redis-server of our own on a free port with a temporary directory. */
async function startRedis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop() {} };
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not installed: install it, or set REDIS_URL');
  }
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  const dir = mkdtempSync(join(tmpdir(), 'keel-example-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await lineOf(child, /Ready to accept connections/);
  return {
    url: `redis://127.0.0.1:${port}`,
    stop() {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `npx keel worker ...`: resolves once it printed its readiness line. */
async function startWorker(url) {
  const args = [kKeelBin, 'worker', '--redis', url, '--queue', kQueue, '--root', kRoot];
  const child = spawn(process.execPath, [...args, '--threads', '1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await lineOf(child, /^keel worker: listening/);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, exited };
}

const redis = await startRedis();
const workers = [];
try {
  workers.push(...(await Promise.all([startWorker(redis.url), startWorker(redis.url)])));
  const pool = new QueuePool({ connection: redis.url, queue: kQueue, root: kRoot });

  const images = Array.from({ length: 40 }, (_, index) => ({
    name: `image-${index}.raw`,
    bytes: Uint8Array.from({ length: 4096 }, (_, i) => (i * (index + 1)) % 256),
  }));
  const run = pipeline(images)
    .pipe(task(kImages, 'thumbnail', { pool }), { concurrency: 8 })
    .build();
  const results = [];
  for await (const result of run) results.push(result);
  await pool.close();

  const inOrder = results.every((result, index) => result.name === images[index].name);
  const perWorker = workers.map(
    ({ child }) => results.filter((result) => result.worker === child.pid).length,
  );
  // SIGTERM drains a worker: running jobs finish, then it exits 0.
  for (const { child } of workers) child.kill('SIGTERM');
  const codes = await Promise.all(workers.map(({ exited }) => exited));
  console.log(
    `queue: ${results.length} images through a pipeline stage on a QueuePool, ` +
      `${inOrder ? 'in source order' : 'OUT OF ORDER'}, thumbnails of ${results[0].thumbnail.length} bytes; ` +
      `run by 2 keel worker processes (${perWorker.join(' + ')} jobs); ` +
      `drained by SIGTERM, exit codes ${codes.join(', ')}`,
  );
} finally {
  for (const { child } of workers) if (child.exitCode === null) child.kill('SIGKILL');
  redis.stop();
}
