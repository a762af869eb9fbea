#!/usr/bin/env node
// keel's command line: `keel <command> [subcommand] [arguments]`. Each command is an entry of
// kCommands with its own usage and subcommands, so a new one (`keel worker`) is one more entry.
// Exit codes: 0 done, 1 the operation failed (a missing name, a refusal), 2 a usage error.
import { SharedObject } from '../dist/index.js';

const kUsage = `Usage: keel <command> [options]

Commands:
  shm     machine-scope SharedObjects (POSIX shared memory, /dev/shm/keel.*)

Run \`keel <command> --help\` for a command's usage.`;

const kShmUsage = `Usage: keel shm <subcommand>

Subcommands:
  list [--json]   the SharedObjects this user can open: name, kind, bytes, last change
                  (--json: one JSON array, bytes as numbers, mtime as nanoseconds in a string)
  unlink NAME     removes the name NAME (processes that have it open keep working)`;

class UsageError extends Error {}

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

try {
  process.exitCode = run(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n\n${error.cause ?? kUsage}\n`);
  process.exitCode = 2;
}
