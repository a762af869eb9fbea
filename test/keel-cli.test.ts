import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { SharedObject } from 'keel';
import { keelSegments, uniqueName, unlinkQuietly } from './shared-object-machine-helpers.js';
import { kNeedsNative } from './helpers.ts';

// The `keel` command (bin/keel.mjs): `keel shm list` and `keel shm unlink NAME` do for an
// operator what SharedObject.list() and unlink() do; usage errors go to stderr with exit 2.

const kBin = fileURLToPath(new URL('../bin/keel.mjs', import.meta.url));

function keel(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [kBin, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('keel shm list shows a machine-scope slot as a table and as JSON', kNeedsNative, () => {
  const name = uniqueName('cli-list');
  const slot = SharedObject.create(name, new Uint8Array(1000), {
    scope: 'machine',
    shape: [10, 100],
  });
  try {
    const table = keel('shm', 'list');
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+KIND\s+BYTES\s+LAST CHANGE$/m);
    assert.match(
      table.stdout,
      new RegExp(
        `^${name}\\s+Uint8Array\\[10x100\\]\\s+${slot.buffer.byteLength}\\s+[\\d.]+ (ms|s) ago$`,
        'm',
      ),
    );
    const json = keel('shm', 'list', '--json');
    assert.equal(json.status, 0, json.stderr);
    const entry = (JSON.parse(json.stdout) as { name: string }[]).find((row) => row.name === name);
    assert.deepEqual(entry, {
      name,
      kind: 'Uint8Array[10x100]',
      bytes: slot.buffer.byteLength,
      mtime: String(slot.mtime),
    });
  } finally {
    unlinkQuietly(name);
  }
});

test(
  'keel shm unlink removes a name; a missing name is a clear error with exit code 1',
  kNeedsNative,
  () => {
    const name = uniqueName('cli-unlink');
    SharedObject.create(name, 1, { scope: 'machine' }).close();
    try {
      const removed = keel('shm', 'unlink', name);
      assert.equal(removed.status, 0, removed.stderr);
      assert.ok(!keelSegments().includes(`keel.${name}`));
      const missing = keel('shm', 'unlink', name);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, new RegExp(`"${name}" does not exist`));
    } finally {
      unlinkQuietly(name);
    }
  },
);

test('keel --help and keel shm --help print usage; unknown commands print usage on stderr and exit 2', () => {
  const help = keel('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: keel <command>/);
  assert.match(help.stdout, /shm/);
  const shmHelp = keel('shm', '--help');
  assert.equal(shmHelp.status, 0);
  assert.match(shmHelp.stdout, /list \[--json\]/);
  assert.match(shmHelp.stdout, /unlink NAME/);
  for (const args of [
    ['bogus'],
    [],
    ['shm'],
    ['shm', 'bogus'],
    ['shm', 'unlink'],
    ['shm', 'list', '--yaml'],
  ]) {
    const result = keel(...args);
    assert.equal(result.status, 2, `keel ${args.join(' ')}`);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /Usage: keel/);
  }
});
