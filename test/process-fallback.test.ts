import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fixturePath } from './helpers.ts';

test('without the native layer (KEEL_NATIVE=0) process remotes work by copying, and a process with an arena is ERR_UNSUPPORTED naming why', () => {
  const run = spawnSync(process.execPath, [fixturePath('process-fallback.mjs')], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, KEEL_NATIVE: '0' },
  });
  assert.equal(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  assert.equal(seen.loaded, false);
  assert.equal(seen.copied, true);
  assert.deepEqual(seen.labels, [], 'no lane without the native layer');
  assert.match(String(seen.spawnError), /^ERR_UNSUPPORTED: .*KEEL_NATIVE=0/);
  assert.match(String(seen.streamError), /^ERR_UNSUPPORTED: .*KEEL_NATIVE=0/);
});
