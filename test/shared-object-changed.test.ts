// changed() resolves on the next assign or trigger (from any thread) after the call, and
// rejects on abort, timeout and close, like Node's own APIs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { KeelError } from '../dist/errors.js';
import { SharedObject } from '../dist/memory/shared-object/index.js';
import { OperationsWorker } from './fixtures/shared-object-harness.mjs';

let worker: OperationsWorker;
let counter = 0;
const uniqueName = (): string => `changed-${++counter}`;

before(async () => {
  worker = await OperationsWorker.start();
});

after(async () => {
  await worker.stop();
});

test('changed() resolves when another thread assigns, and does not mark the change read', async () => {
  const name = uniqueName();
  const so = SharedObject.create(name, 0);
  await worker.call('open', { name });
  const change = so.changed({ timeoutMs: 10_000 });
  await worker.call('assign', { name, value: 1 });
  await change;
  assert.equal(so.modified, true);
  assert.equal(so.fetch(), 1);
});

test('changed() resolves on a trigger, also from the same handle', async () => {
  const so = SharedObject.create(uniqueName(), null);
  const change = so.changed();
  so.trigger();
  await change;
});

test('changed() waits for a change after the call: an earlier change does not count', async () => {
  const so = SharedObject.create(uniqueName(), 0);
  so.assign(1);
  const other = SharedObject.open(so.name);
  other.assign(2);
  await assert.rejects(so.changed({ timeoutMs: 50 }), { code: 'ERR_TIMEOUT' });
});

test('changed() rejects with KeelError ERR_TIMEOUT (name TimeoutError) after timeoutMs', async () => {
  const so = SharedObject.create(uniqueName(), 0);
  const startMs = performance.now();
  await assert.rejects(so.changed({ timeoutMs: 100 }), (error: unknown) => {
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_TIMEOUT');
    assert.equal(error.name, 'TimeoutError');
    return true;
  });
  assert.ok(performance.now() - startMs >= 95);
});

test('changed() rejects with the abort reason, or an AbortError DOMException when none was given', async () => {
  const so = SharedObject.create(uniqueName(), 0);
  const withReason = new AbortController();
  const reason = new Error('stop waiting');
  const pending = so.changed({ signal: withReason.signal });
  withReason.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  const withoutReason = new AbortController();
  const pending2 = so.changed({ signal: withoutReason.signal });
  withoutReason.abort();
  await assert.rejects(
    pending2,
    (error: unknown) => error instanceof DOMException && error.name === 'AbortError',
  );
  await assert.rejects(
    so.changed({ signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
});

test('an aborted waiter does not disturb the other waiters, which all resolve on the next change', async () => {
  const so = SharedObject.create(uniqueName(), 0);
  const others = Array.from({ length: 5 }, () => SharedObject.open(so.name));
  let settled = 0;
  const waits = others.map((handle) => handle.changed().then(() => settled++));
  const controller = new AbortController();
  const aborted = so.changed({ signal: controller.signal });
  controller.abort();
  await assert.rejects(aborted, { name: 'AbortError' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, 0, 'the clean-up wake-up of the aborted waiter resolved nobody');
  await worker.call('open', { name: so.name });
  await worker.call('assign', { name: so.name, value: 1 });
  await Promise.all(waits);
  assert.equal(settled, 5);
});

test('close() rejects the pending changed() of that handle with ERR_CLOSED', async () => {
  const so = SharedObject.create(uniqueName(), 0);
  const pending = so.changed();
  so.close();
  await assert.rejects(pending, { code: 'ERR_CLOSED' });
});

test('a pending changed() without timeout does not keep the process alive; with a timeout it does until then', () => {
  const script = (options: string): string => `
    import { SharedObject } from ${JSON.stringify(new URL('../dist/memory/shared-object/index.js', import.meta.url).href)};
    const so = SharedObject.create('exit', 0);
    so.changed(${options}).then(() => console.log('resolved'), (error) => console.log(error.code));
  `;
  const run = (options: string) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', script(options)], {
      encoding: 'utf8',
      timeout: 20_000,
    });
  const quiet = run('{}');
  assert.equal(quiet.status, 0);
  assert.equal(quiet.stdout, '');
  const timed = run('{ timeoutMs: 100 }');
  assert.equal(timed.status, 0);
  assert.equal(timed.stdout.trim(), 'ERR_TIMEOUT');
});
