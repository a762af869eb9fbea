import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { SharedObject } from 'keel';
import { kNeedsNative } from './helpers.ts';
import {
  Program,
  keelSegments,
  runProgram,
  uniqueName,
  unlinkQuietly,
} from './shared-object-machine-helpers.js';

// Machine-scope SharedObjects between unrelated Node programs (started with child_process, not
// keel): sharing by name both ways, changed() across processes, list / unlink, the OS's refusals.

const kSegmentsBefore = keelSegments();
after(() => {
  assert.deepEqual(keelSegments(), kSegmentsBefore, 'the tests left segments in /dev/shm');
});

function state(count: number): { count: number; label: string } {
  return { count, label: `parent ${count}` };
}

function createState(name: string): SharedObject<{ count: number; label: string }> {
  return SharedObject.create(name, { count: 0, label: 'initial' }, { scope: 'machine' });
}

test(
  'two unrelated programs share a machine-scope slot by name, in both directions',
  kNeedsNative,
  async () => {
    const name = uniqueName('share');
    const slot = createState(name);
    try {
      assert.equal(slot.scope, 'machine');
      slot.assign(state(7));
      assert.deepEqual(
        await runProgram('shared-object-machine-peer.mjs', ['read', name]),
        state(7),
      );
      assert.equal(
        await runProgram('shared-object-machine-peer.mjs', ['assign', name, '42']),
        'assigned',
      );
      assert.equal(slot.modified, true);
      assert.deepEqual(slot.fetch(), { count: 42, label: 'child 42' });
    } finally {
      SharedObject.unlink(name);
    }
  },
);

test('changed() in this process wakes on an assign in another process', kNeedsNative, async () => {
  const name = uniqueName('wake-here');
  const slot = createState(name);
  try {
    const changed = slot.changed({ timeoutMs: 15_000 });
    await runProgram('shared-object-machine-peer.mjs', ['assign', name, '3']);
    await changed;
    assert.deepEqual(slot.fetch(), { count: 3, label: 'child 3' });
  } finally {
    SharedObject.unlink(name);
  }
});

test("changed() in another process wakes on this process's assign", kNeedsNative, async () => {
  const name = uniqueName('wake-there');
  const slot = createState(name);
  try {
    const waiter = new Program('shared-object-machine-peer.mjs', ['wait-change', name]);
    assert.equal(await waiter.next(), 'ready');
    slot.assign(state(9));
    assert.deepEqual(await waiter.next(), state(9));
    await waiter.succeeded();
  } finally {
    SharedObject.unlink(name);
  }
});

test(
  'list() shows process and machine slots with kind, bytes and mtime; unlink removes the name only',
  kNeedsNative,
  async () => {
    const name = uniqueName('list');
    const local = uniqueName('local');
    const slot = SharedObject.create(name, new Float32Array(6), {
      scope: 'machine',
      shape: [2, 3],
    });
    const processSlot = SharedObject.create(local, 'text');
    try {
      slot.assign(new Float32Array([1, 2, 3, 4, 5, 6]));
      const entries = SharedObject.list();
      const machine = entries.find((entry) => entry.name === name);
      assert.deepEqual(machine, {
        name,
        scope: 'machine',
        bytes: slot.buffer.byteLength,
        kind: 'Float32Array[2x3]',
        mtime: slot.mtime,
      });
      assert.equal(entries.find((entry) => entry.name === local)?.scope, 'process');
      assert.ok(keelSegments().includes(`keel.${name}`));
      SharedObject.unlink(name);
      assert.ok(!keelSegments().includes(`keel.${name}`));
      assert.equal(
        SharedObject.list().find((entry) => entry.name === name),
        undefined,
      );
      assert.throws(() => SharedObject.open(name), { code: 'ERR_NOT_FOUND' });
      assert.throws(
        () => {
          SharedObject.unlink(name);
        },
        { code: 'ERR_NOT_FOUND' },
      );
      // The mapped handle keeps working after the name is gone.
      slot.assign(new Float32Array(6).fill(8));
      assert.deepEqual([...slot.fetch()], [8, 8, 8, 8, 8, 8]);
    } finally {
      unlinkQuietly(name);
      SharedObject.unlink(local);
      processSlot.close();
    }
  },
);

test(
  'create of a taken machine name is ERR_EXISTS; reuse attaches if the layout fits, ERR_TYPE_MISMATCH if not',
  kNeedsNative,
  () => {
    const name = uniqueName('exists');
    const slot = SharedObject.create(name, new Uint8Array(16), { scope: 'machine' });
    try {
      assert.throws(() => SharedObject.create(name, new Uint8Array(16), { scope: 'machine' }), {
        code: 'ERR_EXISTS',
      });
      const again = SharedObject.create(name, new Uint8Array(16).fill(5), {
        scope: 'machine',
        reuse: true,
      });
      assert.equal(slot.fetch()[3], 5);
      again.close();
      assert.throws(
        () => SharedObject.create(name, new Uint8Array(17), { scope: 'machine', reuse: true }),
        { code: 'ERR_TYPE_MISMATCH' },
      );
    } finally {
      SharedObject.unlink(name);
    }
  },
);

test(
  'open() prefers a process-scope name to a machine-scope one of the same name',
  kNeedsNative,
  () => {
    const name = uniqueName('both');
    const machine = SharedObject.create(name, 1, { scope: 'machine' });
    const local = SharedObject.create(name, 2);
    try {
      assert.equal(SharedObject.open(name).scope, 'process');
      assert.equal(SharedObject.open(name).fetch(), 2);
      SharedObject.unlink(name); // the process-scope one first
      assert.equal(SharedObject.open(name).scope, 'machine');
      assert.equal(SharedObject.open(name).fetch(), 1);
    } finally {
      unlinkQuietly(name);
      machine.close();
      local.close();
    }
  },
);

test('machine-scope names are validated: empty, "/", NUL and over 200 bytes are ERR_INVALID_ARGUMENT', () => {
  for (const bad of ['', 'a/b', 'nul\0here', 'x'.repeat(201), 'é'.repeat(101)]) {
    assert.throws(
      () => SharedObject.create(bad, 1, { scope: 'machine' }),
      (error: Error) => {
        assert.equal((error as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
        if (bad.length > 0) assert.match(error.message, /200/);
        return true;
      },
    );
  }
  assert.throws(() => SharedObject.create('ok', 1, { scope: 'galaxy' as 'machine' }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  assert.throws(() => SharedObject.create('ok', 1, { mode: 0o600 }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  assert.throws(() => SharedObject.create('ok', 1, { scope: 'machine', mode: 0o1000 }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  assert.deepEqual(
    keelSegments().filter((file) => file === 'keel.ok'),
    [],
  );
});

test(
  'a machine-scope segment is created with mode 0600 unless mode says otherwise',
  kNeedsNative,
  () => {
    const name = uniqueName('mode');
    const other = uniqueName('mode-group');
    SharedObject.create(name, 1, { scope: 'machine' }).close();
    SharedObject.create(other, 1, { scope: 'machine', mode: 0o640 }).close();
    try {
      const modes = spawnSync(
        'stat',
        ['-c', '%a', `/dev/shm/keel.${name}`, `/dev/shm/keel.${other}`],
        {
          encoding: 'utf8',
        },
      );
      assert.deepEqual(modes.stdout.trim().split('\n'), ['600', '640']);
    } finally {
      SharedObject.unlink(name);
      SharedObject.unlink(other);
    }
  },
);

test('without the native layer (KEEL_NATIVE=0) machine scope is ERR_UNSUPPORTED naming the reason', async () => {
  const name = uniqueName('no-native');
  const result = (await runProgram('shared-object-machine-peer.mjs', ['create-machine', name], {
    env: { ...process.env, KEEL_NATIVE: '0' },
  })) as { code: string; message: string };
  assert.equal(result.code, 'ERR_UNSUPPORTED');
  assert.match(result.message, /KEEL_NATIVE=0/);
});

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

test(
  "opening another user's segment is ERR_PERMISSION saying how to fix it",
  kNeedsNative,
  async (t) => {
    if (!isRoot() || !hasCommand('setpriv')) {
      t.skip('needs root and setpriv to run a child as user 65534');
      return;
    }
    const name = uniqueName('permission');
    const slot = SharedObject.create(name, 1, { scope: 'machine' });
    try {
      const result = (await runProgram('shared-object-machine-peer.mjs', ['open', name], {
        command: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath],
      })) as { code: string; message: string };
      assert.equal(result.code, 'ERR_PERMISSION');
      assert.match(result.message, /another user/);
      assert.match(result.message, /mode/);
    } finally {
      slot.close();
      SharedObject.unlink(name);
    }
  },
);

test(
  'a full /dev/shm is ERR_NO_SPACE naming the bytes and Docker --shm-size',
  kNeedsNative,
  async (t) => {
    if (!isRoot() || !hasCommand('unshare')) {
      t.skip('needs root and unshare to give a child a 1 MiB /dev/shm');
      return;
    }
    const probe = spawnSync(
      'unshare',
      ['--mount', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /dev/shm'],
      {
        encoding: 'utf8',
      },
    );
    if (probe.status !== 0) {
      t.skip(`cannot mount a private /dev/shm here: ${probe.stderr.trim()}`);
      return;
    }
    const script = `mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "$0" "$@"`;
    const result = (await runProgram(
      'shared-object-machine-peer.mjs',
      ['create-big', uniqueName('full'), String(4 * 1024 * 1024)],
      { command: ['unshare', '--mount', 'sh', '-c', script, process.execPath] },
    )) as { code: string; message: string };
    assert.equal(result.code, 'ERR_NO_SPACE');
    assert.match(result.message, /\d{7,} bytes/);
    assert.match(result.message, /--shm-size/);
    assert.match(result.message, /64 MiB/);
  },
);
