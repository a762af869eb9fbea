import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeelError, close, spawn, type SpawnOptions } from 'keel';
import { fixture, rejectionOf } from './helpers.ts';

type PolicyModule = typeof import('./fixtures/policy.mjs');
const policyUrl = fixture('policy.mjs');

for (const kind of ['thread', 'process'] as const) {
  describe(`spawn (${kind})`, () => {
    const start = (checkpoint = 'ckpt-1', extra: Record<string, unknown> = {}) =>
      spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', [checkpoint, extra], { kind });

    test('keeps state across calls and reads attributes', async () => {
      await using policy = await start();
      assert.equal(await policy.checkpoint, 'ckpt-1');
      assert.equal(await policy.act(3), 6);
      assert.equal(await policy.act(4), 8);
      assert.equal(await policy.calls, 2);
      assert.deepEqual(await policy.lastTiming, { ms: 1.5 });
    });

    test('await spawn() yields the proxy, which is not thenable', async () => {
      const policy = await start();
      assert.equal((policy as unknown as { then?: unknown }).then, undefined);
      assert.equal(await Promise.resolve(policy), policy);
      await close(policy);
    });

    test('calls run one at a time in call order, a slow async call first', async () => {
      await using policy = await start();
      const slow = policy.slowAct(1, 60);
      const fast = policy.act(2);
      const fastest = policy.echo('x');
      assert.deepEqual(await Promise.all([slow, fast, fastest]), [1, 4, 'x']);
      assert.deepEqual(await policy.log, ['slow:1', 'act:2']);
    });

    test('a method error keeps its class and code, and the remote stays usable', async () => {
      await using policy = await start();
      const error = (await rejectionOf(policy.fail('out of range'))) as RangeError & {
        code: string;
      };
      assert.ok(error instanceof RangeError);
      assert.equal(error.message, 'out of range');
      assert.equal(error.code, 'E_POLICY');
      assert.equal(await policy.act(5), 10);
    });

    test('a missing method rejects with ERR_NOT_FOUND', async () => {
      await using policy = await start();
      const error = (await rejectionOf(
        (policy as unknown as { nope: () => Promise<unknown> }).nope(),
      )) as KeelError;
      assert.equal(error.code, 'ERR_NOT_FOUND');
    });

    test('a failing factory rejects spawn with ERR_START_FAILED and the original cause', async () => {
      const error = (await rejectionOf(
        start('x', { failWith: 'no such checkpoint' }),
      )) as KeelError;
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_START_FAILED');
      assert.ok(error.cause instanceof TypeError);
      assert.equal(error.cause.message, 'no such checkpoint');
    });

    test('a missing factory export rejects with ERR_NOT_FOUND', async () => {
      const untypedSpawn = spawn as (...args: unknown[]) => Promise<unknown>;
      const error = (await rejectionOf(
        untypedSpawn(policyUrl, 'makeNobody', [], { kind }),
      )) as KeelError;
      assert.equal(error.code, 'ERR_NOT_FOUND');
    });

    test('a factory that never settles is cut by startTimeoutMs', async () => {
      const error = (await rejectionOf(
        spawn<PolicyModule, 'makeHanging'>(policyUrl, 'makeHanging', [], {
          kind,
          startTimeoutMs: 200,
        }),
      )) as KeelError;
      assert.equal(error.code, 'ERR_TIMEOUT');
    });

    test('the death of the worker rejects every pending call and all later ones with ERR_WORKER_EXITED', async () => {
      const policy = await start();
      // The slow call runs first (calls are FIFO), so it finishes before the exit.
      const slow = policy.slowAct(1, 50);
      const exit = rejectionOf(policy.exit(9));
      const after = rejectionOf(policy.act(1));
      for (const pending of [exit, after]) {
        const error = (await pending) as KeelError;
        assert.equal(error.code, 'ERR_WORKER_EXITED');
        assert.match(error.message, /exited with code 9/);
      }
      assert.equal(await slow, 1);
      const later = (await rejectionOf(policy.act(1))) as KeelError;
      assert.equal(later.code, 'ERR_WORKER_EXITED');
      await close(policy);
    });

    test('callTimeoutMs rejects a call that runs too long and ends the remote', async () => {
      const policy = await spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', ['c'], {
        kind,
        callTimeoutMs: 200,
      });
      assert.equal(await policy.act(1), 2);
      const error = (await rejectionOf(policy.hang())) as KeelError;
      assert.equal(error.code, 'ERR_TIMEOUT');
      assert.equal(((await rejectionOf(policy.act(1))) as KeelError).code, 'ERR_WORKER_EXITED');
    });

    test('close lets pending calls finish, then later calls reject with ERR_CLOSED', async () => {
      const policy = await start();
      const pending = policy.slowAct(7, 50);
      const closing = close(policy);
      assert.equal(((await rejectionOf(policy.act(1))) as KeelError).code, 'ERR_CLOSED');
      assert.equal(await pending, 7);
      await closing;
      assert.equal(((await rejectionOf(policy.act(1))) as KeelError).code, 'ERR_CLOSED');
    });

    test('close kills a remote whose call does not finish within timeoutMs', async () => {
      const policy = await start();
      const hung = rejectionOf(policy.hang());
      const started = Date.now();
      await close(policy, { timeoutMs: 200 });
      assert.ok(Date.now() - started < 5000);
      assert.equal(((await hung) as KeelError).code, 'ERR_CLOSED');
    });

    test('1 MB binaries cross both ways intact', async () => {
      await using policy = await start();
      const payload = new Uint8Array(1 << 20);
      for (let index = 0; index < payload.length; index++) payload[index] = index % 251;
      const expected = payload.reduce((total, byte) => total + byte, 0);
      assert.equal(await policy.sum(payload), expected);
      const received = await policy.bytes(1 << 20, 7);
      assert.ok(received instanceof Uint8Array);
      assert.equal(received.length, 1 << 20);
      assert.equal(received[12345], 7);
      const echoed = await policy.echo(new Float64Array([1.5, -2.25]));
      assert.ok(echoed instanceof Float64Array);
      assert.deepEqual([...echoed], [1.5, -2.25]);
    });

    test('without a factory the module namespace is the object', async () => {
      await using codec = await spawn<typeof import('./fixtures/codec.mjs')>(fixture('codec.mjs'), {
        kind,
      });
      const bytes = await codec.encode('héllo');
      assert.equal(Buffer.from(bytes).toString('utf8'), 'héllo');
      assert.equal(await codec.count(), 1);
      assert.equal(await codec.version, '1.2.0');
    });

    test('an argument that cannot cross rejects with ERR_NOT_CLONEABLE and the remote stays usable', async () => {
      await using policy = await start();
      const error = (await rejectionOf(policy.echo({ nested: { fn: () => 1 } }))) as KeelError;
      assert.equal(error.code, 'ERR_NOT_CLONEABLE');
      assert.match(error.message, /args\[0\]\.nested\.fn/);
      assert.equal(await policy.act(1), 2);
    });
  });
}

test('a native crash of a process remote leaves the parent serving', async () => {
  const policy = await spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', ['p'], {
    kind: 'process',
  });
  assert.notEqual(await policy.pid, process.pid);
  const error = (await rejectionOf(policy.abort())) as KeelError;
  assert.equal(error.code, 'ERR_WORKER_EXITED');
  assert.match(error.message, /SIGABRT/);
  await using again = await spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', ['q'], {
    kind: 'process',
  });
  assert.equal(await again.act(2), 4);
});

test('a thread remote runs every call on one dedicated thread', async () => {
  await using policy = await spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', ['t']);
  const ids = await Promise.all([policy.threadId(), policy.threadId(), policy.threadId()]);
  assert.equal(new Set(ids).size, 1);
  assert.notEqual(ids[0], 0);
});

test('close runs the object dispose hook', async () => {
  const flag = new SharedArrayBuffer(4);
  const policy = await spawn<PolicyModule, 'makePolicy'>(policyUrl, 'makePolicy', [
    'd',
    { disposeFlag: flag },
  ]);
  await close(policy);
  assert.equal(Atomics.load(new Int32Array(flag), 0), 1);
});

test('spawn refuses bad worker options with ERR_INVALID_ARGUMENT before starting anything', async () => {
  for (const [options, pattern] of [
    [{ kind: 'fiber' }, /kind must be 'thread' or 'process'/],
    [{ execArgv: '--inspect' }, /execArgv must be an array of strings/],
    [{ env: 'PATH=/bin' }, /env must be an object/],
    [{ signal: 'stop' }, /signal must be an AbortSignal/],
    [{ callTimeoutMs: -1 }, /callTimeoutMs must be a number of milliseconds >= 0/],
  ] as const) {
    const error = (await rejectionOf(
      spawn(policyUrl, options as unknown as SpawnOptions),
    )) as KeelError;
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
    assert.match(error.message, pattern);
  }
});
