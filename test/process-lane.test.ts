import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn } from 'keel';
import { fixture, rejectionOf, kNeedsNative } from './helpers.ts';

type Binaries = typeof import('./fixtures/process-binaries.mjs');
const binariesUrl = fixture('process-binaries.mjs');

test(
  'calls to a child process ride its shared-memory lane, in order, many at once',
  kNeedsNative,
  async () => {
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process' });
    try {
      const labels = await remote.mappedLabels();
      assert.equal(labels.filter((label) => label === 'keel-lane').length, 2, 'two rings mapped');
      const answers = await Promise.all(Array.from({ length: 2000 }, (_, i) => remote.echo(i)));
      assert.deepEqual(
        answers,
        Array.from({ length: 2000 }, (_, i) => i),
      );
    } finally {
      await remote[Symbol.asyncDispose]();
    }
  },
);

test(
  'messages too large for a ring cross beside it over IPC and keep their order among small ones',
  kNeedsNative,
  async () => {
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process' });
    try {
      const sent = Array.from({ length: 60 }, (_, i) =>
        i % 3 === 0 ? Buffer.alloc(300 * 1024, i) : i,
      );
      const answers = await Promise.all(sent.map((value) => remote.echo(value)));
      answers.forEach((answer, i) => {
        if (i % 3 === 0) assert.ok(Buffer.from(answer as Uint8Array).every((b) => b === i));
        else assert.equal(answer, i);
      });
    } finally {
      await remote[Symbol.asyncDispose]();
    }
  },
);

test(
  'errors thrown in the child arrive over the lane as the same class, and the lane goes on',
  kNeedsNative,
  async () => {
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process' });
    try {
      const error = await rejectionOf(remote.fail('bad input'));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, 'bad input');
      assert.equal(await remote.later('after', 5), 'after');
    } finally {
      await remote[Symbol.asyncDispose]();
    }
  },
);

test(
  'a child that exits mid-call rejects that call and every later one with ERR_WORKER_EXITED',
  kNeedsNative,
  async () => {
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process' });
    const error = (await rejectionOf(remote.exitNow(3))) as { code?: string; message: string };
    assert.equal(error.code, 'ERR_WORKER_EXITED');
    assert.match(error.message, /code 3/);
    const after = (await rejectionOf(remote.noop())) as { code?: string };
    assert.equal(after.code, 'ERR_WORKER_EXITED');
  },
);

test(
  'close lets pending lane calls finish, then later calls reject with ERR_CLOSED',
  kNeedsNative,
  async () => {
    const remote = await spawn<Binaries>(binariesUrl, { kind: 'process' });
    const pending = remote.later('done', 50);
    const closed = remote[Symbol.asyncDispose]();
    assert.equal(await pending, 'done');
    await closed;
    const error = (await rejectionOf(remote.noop())) as { code?: string };
    assert.equal(error.code, 'ERR_CLOSED');
  },
);
