import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixturePath, runScript } from './helpers.ts';

test('a process with an un-closed pool exits by itself once its work is done', () => {
  const result = runScript('unclosed-pool.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'sum 5, squared 49');
  // Not held open by idle threads or timers: far below the 10 s idle timeout.
  assert.ok(result.ms < 8000, `took ${result.ms} ms`);
});

test('a process with un-closed thread and process remotes exits by itself', () => {
  const result = runScript('unclosed-remote.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'thread 4, process 6');
  assert.ok(result.ms < 8000, `took ${result.ms} ms`);
});

test('a process whose streams ended, were broken out of or were abandoned or polled and left exits by itself', () => {
  const result = runScript('unclosed-stream.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'sum 13, late 0, polled 0');
  assert.ok(result.ms < 8000, `took ${result.ms} ms`);
});

test('pending work keeps the process alive until it answers', () => {
  const result = runScript('pending-work.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'late answer 42');
});

test('a TypeScript worker module loads when the caller runs under the tsx CLI', () => {
  const tsxCli = fixturePath('../../node_modules/tsx/dist/cli.mjs');
  const result = runScript('typescript-caller.ts', { nodeArgs: [tsxCli] });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'scaled 12, 212 F');
});
