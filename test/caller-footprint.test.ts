import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

import { fixture } from './helpers.js';

// What keel costs a program that imports it: every module it loads stays in the caller's heap,
// and a bigger heap makes each full collection, and so the tail of every call, longer
// (docs/design-notes.md, "The caller's heap"). Node's own modules that only one feature needs
// load when that feature is first used, so a program that only uses threads never carries them.

// (net is not among them: any Node Worker loads it for its stdio streams.)
const kLazyBuiltins = ['child_process', 'crypto', 'dgram'];

/** The Node modules a fresh process has loaded after running `source` (ESM, keel importable). */
function loadedAfter(source: string): string[] {
  const script = `${source}
    const loaded = process.moduleLoadList.filter((entry) => entry.startsWith('NativeModule '));
    process.stdout.write(JSON.stringify(loaded.map((entry) => entry.slice('NativeModule '.length))));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as string[];
}

it('a program that runs pool tasks on threads loads no child_process, crypto or dgram', () => {
  const builtins = loadedAfter(`
    const { Pool } = await import('keel');
    const pool = new Pool({ maxThreads: 1 });
    if ((await pool.run(${JSON.stringify(fixture('math.mjs').href)}, 'add', [2, 3])) !== 5) process.exit(3);
    await pool.close();`);
  assert.deepEqual(
    kLazyBuiltins.filter((name) => builtins.includes(name)),
    [],
    'loaded by a threads-only program',
  );
});

it('a child process still starts from a fresh program: child_process loads on first use', () => {
  const builtins = loadedAfter(`
    const { spawn, close } = await import('keel');
    const remote = await spawn(${JSON.stringify(fixture('policy.mjs').href)}, 'makePolicy', ['ckpt'], { kind: 'process' });
    if ((await remote.pid) === process.pid) process.exit(3);
    await close(remote);`);
  assert.ok(builtins.includes('child_process'), 'child_process was loaded to fork');
});
