// Loops and monitors never keep a process alive once stopped; a running loop is pending work
// (like an interval) unless unref'd; a tick error nobody handles ends the process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScript } from './helpers.ts';

test('a process that stopped its loops (and left a monitor running) exits by itself', () => {
  const result = runScript('realtime-child.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'local true, worker true');
  assert.ok(result.ms < 8000, `took ${result.ms} ms`);
});

test("unref'd running loops, on the calling thread and in a worker, do not keep the process alive", () => {
  const result = runScript('realtime-unref.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'running true');
  assert.ok(result.ms < 8000, `took ${result.ms} ms`);
});

test('a throwing tick without onError ends the process with the error, as a throwing timer would', () => {
  const local = runScript('realtime-unhandled.mjs', { scriptArgs: ['local'] });
  assert.equal(local.status, 1);
  assert.match(local.stderr, /unhandled tick failure/);
  const worker = runScript('realtime-unhandled.mjs', { scriptArgs: ['worker'] });
  assert.equal(worker.status, 1);
  assert.match(worker.stderr, /\[ControlError\]: actuator limit exceeded/);
});
