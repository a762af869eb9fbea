/**
 * Real components for the keel/queue tests: a redis-server on a free loopback port with its own
 * temporary directory, a copy of the fixtures in another directory (so that module references
 * must really be portable), and `keel worker` processes started from that copy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const kBin = fileURLToPath(new URL('../bin/keel.mjs', import.meta.url));
/** The callers' root: the fixtures where they are. */
export const kCallerRoot = fileURLToPath(new URL('./fixtures/queue/', import.meta.url));
/** The fixtures module as callers name it. */
export const kTasks = new URL('./fixtures/queue/tasks.mjs', import.meta.url);

/** The redis-server on PATH, or '' when there is none. */
const kRedisServer =
  (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'redis-server'))
    .find((path) => existsSync(path)) ?? '';

/** `test()` options: skipped, with the reason, where redis-server is not installed. */
export const kNeedsRedis: { skip?: string } =
  kRedisServer === ''
    ? { skip: 'redis-server is not installed (Debian: apt-get install redis-server)' }
    : {};

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Resolves with the first line of `stream` that matches; rejects on exit or after `limitMs`. */
export function lineMatching(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
  limitMs = 15_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (error?: Error, line?: string): void => {
      clearTimeout(timer);
      child[stream]?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(line ?? '');
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const line = text.split('\n').find((candidate) => pattern.test(candidate));
      if (line !== undefined) done(undefined, line);
    };
    const onExit = (code: number | null): void => {
      done(new Error(`exited (${code}) before printing ${pattern}; it printed: ${text}`));
    };
    const timer = setTimeout(() => {
      done(new Error(`no line matching ${pattern} within ${limitMs} ms; got: ${text}`));
    }, limitMs);
    child[stream]?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A TLS-only server's files (PEM) and the password it requires (`requirepass`). */
export interface RedisTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly password: string;
}

/** A redis-server that stops (or is killed) and starts again on the same port. */
export class RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:port, or rediss://:password@127.0.0.1:port for a TLS server. */
  readonly url: string;
  readonly #dir = mkdtempSync(join(tmpdir(), 'keel-redis-'));
  readonly #tls: RedisTls | undefined;
  #child: ChildProcess | undefined;

  private constructor(port: number, tls?: RedisTls) {
    this.port = port;
    this.#tls = tls;
    this.url = tls
      ? `rediss://:${encodeURIComponent(tls.password)}@127.0.0.1:${port}`
      : `redis://127.0.0.1:${port}`;
  }

  /** Starts a server; with `tls`, one that speaks only TLS and requires the password. */
  static async start(tls?: RedisTls): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), tls);
    await server.restart();
    return server;
  }

  /** Starts the server (again); resolves once it accepts connections. */
  async restart(): Promise<void> {
    const tls = this.#tls;
    const ports = tls
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-auth-clients', 'no']
      : ['--port', String(this.port)];
    const args = [...ports, '--bind', '127.0.0.1', '--dir', this.#dir];
    if (tls) {
      args.push('--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile);
      args.push('--tls-ca-cert-file', tls.caFile, '--requirepass', tls.password);
    }
    args.push('--save', '', '--appendonly', 'no', '--protected-mode', 'yes');
    const child = spawn(kRedisServer, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    await lineMatching(child, 'stdout', /Ready to accept connections/);
  }

  /** SIGKILL: the server vanishes mid-command, as when its machine dies. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** The fixtures copied into a fresh temporary directory: a worker's root. */
export function copyOfFixtures(): { root: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'keel-worker-root-'));
  cpSync(kCallerRoot, root, { recursive: true });
  const remove = (): void => {
    rmSync(root, { recursive: true, force: true });
  };
  return { root, remove };
}

/** A `keel worker` process. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<void>;
}

/** Starts `keel worker` in `root` (its working directory and --root); resolves once it listens. */
export async function startWorker(
  redisUrl: string,
  queue: string,
  root: string,
  flags: readonly string[] = [],
): Promise<WorkerProcess> {
  const args = [kBin, 'worker', '--redis', redisUrl, '--queue', queue, '--root', root];
  args.push('--threads', '2', '--lock-duration-ms', '1000', '--stalled-interval-ms', '500');
  const child = spawn(process.execPath, [...args, ...flags], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const worker: WorkerProcess = {
    child,
    exited,
    stderr: () => stderr,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await lineMatching(child, 'stdout', /^keel worker: listening/);
  } catch (error) {
    await worker.kill();
    throw error;
  }
  return worker;
}

let nextQueue = 0;

/** A queue name no other test uses. */
export function uniqueQueue(label: string): string {
  return `${label}-${process.pid}-${++nextQueue}`;
}

/** What most queue test files start with: one Redis, a copy of the fixtures, one worker. */
export interface QueueRig {
  readonly redis: RedisServer;
  readonly fixtures: { root: string; remove: () => void };
  readonly worker: WorkerProcess;
  /** A queue name no other test uses; the worker serves it. */
  readonly queue: string;
  /** Kills the worker, removes the fixtures' copy, stops Redis. */
  stop(): Promise<void>;
}

/** Starts a QueueRig whose worker gets `workerFlags`; undoes what started if a step fails. */
export async function startQueueRig(
  label: string,
  workerFlags: readonly string[] = [],
): Promise<QueueRig> {
  const queue = uniqueQueue(label);
  const redis = await RedisServer.start();
  const fixtures = copyOfFixtures();
  let worker: WorkerProcess;
  try {
    worker = await startWorker(redis.url, queue, fixtures.root, workerFlags);
  } catch (error) {
    fixtures.remove();
    await redis.stop();
    throw error;
  }
  const stop = async (): Promise<void> => {
    await worker.kill();
    fixtures.remove();
    await redis.stop();
  };
  return { redis, fixtures, worker, queue, stop };
}
