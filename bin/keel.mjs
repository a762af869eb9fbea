#!/usr/bin/env node
// keel's command line: `keel <command> [subcommand] [arguments]`. Each command is an entry of
// kCommands with its own usage and subcommands, so a new one (`keel worker`) is one more entry.
// Exit codes: 0 done, 1 the operation failed (a missing name, a refusal), 2 a usage error.
import { SharedObject } from '../dist/index.js';

const kUsage = `Usage: keel <command> [options]

Commands:
  shm     machine-scope SharedObjects (POSIX shared memory, /dev/shm/keel.*)
  worker  runs the jobs of a keel/queue queue (BullMQ on Redis) on a local keel Pool

Run \`keel <command> --help\` for a command's usage.`;

const kShmUsage = `Usage: keel shm <subcommand>

Subcommands:
  list [--json]   the SharedObjects this user can open: name, kind, bytes, last change
                  (--json: one JSON array, bytes as numbers, mtime as nanoseconds in a string)
  unlink NAME     removes the name NAME (processes that have it open keep working)`;

const kWorkerUsage = `Usage: keel worker --redis URL --queue NAME [options]

Takes the jobs QueuePool.run queues (keel/queue) and runs them on a local keel Pool. Start it
from the same application checkout as the callers: module paths are resolved against --root.
Prints one line on stdout once it listens. SIGTERM or SIGINT drains (running jobs finish, no
new ones are taken) and exits; a second one stops at once (the jobs run again elsewhere).

Options:
  --redis URL                 redis://[user:password@]host[:port][/db], or rediss:// (TLS)
  --queue NAME                the queue's name (the callers' QueuePool queue)
  --threads N                 threads of the local pool (default: the CPUs available)
  --concurrency N             jobs taken at once (default: --threads)
  --root DIR                  the directory job modules are resolved against (default: .)
  --prefix PREFIX             BullMQ's key prefix (default: bull)
  --connect-timeout-ms N      how long the start waits for Redis (default: 10000)
  --lock-duration-ms N        a job's lock; a dead worker's jobs wait this long (default: 10000)
  --stalled-interval-ms N     how often dead workers' jobs are looked for (default: 5000)
  --max-stalls N              times a job may lose its worker and still run (default: 5)

Requires the packages bullmq and ioredis (npm install bullmq ioredis).`;

class UsageError extends Error {}

const kWorkerFlags = {
  redis: ['connection', 'string'],
  queue: ['queue', 'string'],
  threads: ['threads', 'integer'],
  concurrency: ['concurrency', 'integer'],
  root: ['root', 'string'],
  prefix: ['prefix', 'string'],
  'connect-timeout-ms': ['connectTimeoutMs', 'integer'],
  'lock-duration-ms': ['lockDurationMs', 'integer'],
  'stalled-interval-ms': ['stalledIntervalMs', 'integer'],
  'max-stalls': ['maxStalls', 'integer'],
};

/** `keel worker`'s flags as serveQueue's options; a UsageError for anything else. */
function workerOptions(args) {
  const options = {};
  for (let index = 0; index < args.length; index += 2) {
    const flag = args[index];
    const entry = flag.startsWith('--') ? Object.hasOwn(kWorkerFlags, flag.slice(2)) : false;
    if (!entry)
      throw new UsageError(`keel worker: unknown argument ${flag}`, { cause: kWorkerUsage });
    const [key, type] = kWorkerFlags[flag.slice(2)];
    const value = args[index + 1];
    if (value === undefined || value.startsWith('--')) {
      throw new UsageError(`keel worker: ${flag} needs a value`, { cause: kWorkerUsage });
    }
    if (type === 'integer' && !/^\d+$/.test(value)) {
      throw new UsageError(`keel worker: ${flag} must be an integer, got ${value}`, {
        cause: kWorkerUsage,
      });
    }
    options[key] = type === 'integer' ? Number(value) : value;
  }
  for (const required of ['redis', 'queue']) {
    if (options[kWorkerFlags[required][0]] === undefined) {
      throw new UsageError(`keel worker: --${required} is required`, { cause: kWorkerUsage });
    }
  }
  return options;
}

/** Loads keel/queue only for this command: `keel shm` works without bullmq installed. */
async function workerMain(args) {
  const options = workerOptions(args);
  let queueModule;
  try {
    queueModule = await import('../dist/queue/index.js');
  } catch (error) {
    process.stderr.write(`keel worker: ${error.message}\n`);
    return 1;
  }
  let worker;
  try {
    worker = await queueModule.serveQueue(options);
  } catch (error) {
    if (error?.code !== 'ERR_INVALID_ARGUMENT' && error?.code !== 'ERR_UNAVAILABLE') throw error;
    process.stderr.write(`keel worker: ${error.message}\n`);
    return error.code === 'ERR_INVALID_ARGUMENT' ? 2 : 1;
  }
  const shown = new URL(options.connection);
  if (shown.password !== '') shown.password = '***';
  process.stdout.write(
    `keel worker: listening on queue ${worker.queue} at ${shown.href} (pid ${process.pid})\n`,
  );
  return await drainOnSignal(worker);
}

/** The first SIGTERM or SIGINT drains; a second one stops at once. */
function drainOnSignal(worker) {
  return new Promise((resolve) => {
    let signals = 0;
    const onSignal = (signal) => {
      signals += 1;
      const force = signals > 1;
      const { running } = worker.stats();
      process.stderr.write(
        force
          ? `keel worker: ${signal} again: stopping now\n`
          : `keel worker: ${signal}: draining (${running} running; ${signal} again stops now)\n`,
      );
      worker.close({ force }).then(
        () => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve(0);
        },
        (error) => {
          process.stderr.write(`keel worker: ${error.message}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Formats nanoseconds ago, for a person. */
function ago(mtime) {
  const seconds = Number(process.hrtime.bigint() - mtime) / 1e9;
  if (seconds < 1) return `${Math.max(0, Math.round(seconds * 1000))} ms ago`;
  if (seconds < 120) return `${seconds.toFixed(1)} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function shmList(args) {
  const json = args.includes('--json');
  const unknown = args.find((arg) => arg !== '--json');
  if (unknown !== undefined) throw new UsageError(`keel shm list: unknown argument ${unknown}`);
  const slots = SharedObject.list().filter((slot) => slot.scope === 'machine');
  if (json) {
    const plain = slots.map(({ name, kind, bytes, mtime }) => ({
      name,
      kind,
      bytes,
      mtime: String(mtime),
    }));
    process.stdout.write(`${JSON.stringify(plain)}\n`);
    return 0;
  }
  if (slots.length === 0) {
    process.stdout.write('no machine-scope SharedObjects\n');
    return 0;
  }
  const rows = slots.map((slot) => [slot.name, slot.kind, String(slot.bytes), ago(slot.mtime)]);
  process.stdout.write(`${table([['NAME', 'KIND', 'BYTES', 'LAST CHANGE'], ...rows])}\n`);
  return 0;
}

function shmUnlink(args) {
  if (args.length !== 1) throw new UsageError('keel shm unlink: expected exactly one NAME');
  const [name] = args;
  try {
    SharedObject.unlink(name);
  } catch (error) {
    process.stderr.write(`keel shm unlink: ${error.message}\n`);
    return 1;
  }
  process.stdout.write(`removed ${name}\n`);
  return 0;
}

const kCommands = {
  shm: { usage: kShmUsage, subcommands: { list: shmList, unlink: shmUnlink } },
  worker: { usage: kWorkerUsage, main: workerMain },
};

function run(argv) {
  const [commandName, subcommandName, ...rest] = argv;
  if (commandName === undefined) throw new UsageError('keel: expected a command');
  if (commandName === '--help' || commandName === '-h' || commandName === 'help') {
    process.stdout.write(`${kUsage}\n`);
    return 0;
  }
  const command = Object.hasOwn(kCommands, commandName) ? kCommands[commandName] : undefined;
  if (command === undefined) throw new UsageError(`keel: unknown command ${commandName}`);
  if (subcommandName === '--help' || subcommandName === '-h') {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  // A command without subcommands takes its arguments itself.
  if (command.main) return command.main(argv.slice(1));
  const subcommand =
    subcommandName !== undefined && Object.hasOwn(command.subcommands, subcommandName)
      ? command.subcommands[subcommandName]
      : undefined;
  if (subcommand === undefined) {
    const what =
      subcommandName === undefined
        ? 'expected a subcommand'
        : `unknown subcommand ${subcommandName}`;
    throw new UsageError(`keel ${commandName}: ${what}`, { cause: command.usage });
  }
  return subcommand(rest);
}

function failed(error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n\n${error.cause ?? kUsage}\n`);
  process.exitCode = 2;
}

try {
  const outcome = run(process.argv.slice(2));
  // A long-running command (keel worker) answers with a promise of its exit code.
  if (outcome instanceof Promise) {
    outcome.then((code) => {
      process.exitCode = code;
    }, failed);
  } else {
    process.exitCode = outcome;
  }
} catch (error) {
  failed(error);
}
