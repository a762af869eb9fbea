import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { KeelError, iterateInWorker } from 'keel';
import { fixture, rejectionOf } from './helpers.ts';

type Streams = typeof import('./fixtures/streams.mjs');
const streamsUrl = fixture('streams.mjs');

const markerFiles: string[] = [];
after(() => {
  for (const path of markerFiles) rmSync(path, { force: true });
});

function markerFile(): string {
  const path = join(tmpdir(), `keel-stream-${randomUUID()}.log`);
  markerFiles.push(path);
  return path;
}

function markers(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

for (const kind of ['thread', 'process'] as const) {
  describe(`iterateInWorker (${kind})`, () => {
    test('yields every item of a sync generator, in order, then is done', async () => {
      const stream = iterateInWorker<Streams, 'count'>(streamsUrl, 'count', [50], { kind });
      assert.deepEqual(
        await collect(stream),
        Array.from({ length: 50 }, (_, index) => index),
      );
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
    });

    test('yields the items of an async generator in order', async () => {
      const items = await collect(
        iterateInWorker<Streams, 'countAsync'>(streamsUrl, 'countAsync', [6, 1], { kind }),
      );
      assert.deepEqual(
        items,
        [0, 1, 2, 3, 4, 5].map((index) => ({ index, square: index * index })),
      );
    });

    test('items cross with structured-clone semantics', async () => {
      const items = await collect(iterateInWorker(streamsUrl, 'values', [], { kind }));
      assert.deepEqual(items, [
        new Map([['a', 1]]),
        new Date(0),
        new Float64Array([1.5, -2]),
        { nested: [1, 'two', null, undefined], big: 10n },
        undefined,
      ]);
    });

    test('a function returning (a promise of) an iterable streams it; promises a sync generator yields are awaited', async () => {
      assert.deepEqual(
        await collect(iterateInWorker(streamsUrl, 'resolvesToArray', [3], { kind })),
        ['item-0', 'item-1', 'item-2'],
      );
      assert.deepEqual(await collect(iterateInWorker(streamsUrl, 'yieldsPromises', [], { kind })), [
        'a',
        'b',
        'c',
      ]);
    });

    test('arguments reach the export', async () => {
      const [args] = await collect(
        iterateInWorker(streamsUrl, 'echoArgs', [1, 'two', { three: [3] }], { kind }),
      );
      assert.deepEqual(args, [1, 'two', { three: [3] }]);
    });

    test('break ends the generator in the worker (its finally runs), and the worker exits before return() resolves', async () => {
      const path = markerFile();
      const seen: number[] = [];
      for await (const item of iterateInWorker<Streams, 'marked'>(streamsUrl, 'marked', [path], {
        kind,
      })) {
        seen.push(item);
        if (item === 2) break;
      }
      assert.deepEqual(seen, [0, 1, 2]);
      assert.deepEqual(markers(path), ['finally', 'exit']);
    });

    test('iterating to the end ends the generator and the worker', async () => {
      const path = markerFile();
      const stream = iterateInWorker<Streams, 'marked'>(streamsUrl, 'marked', [path, 3], { kind });
      assert.deepEqual(await collect(stream), [0, 1, 2]);
      const deadline = Date.now() + 10_000;
      while (markers(path).length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(markers(path), ['finally', 'exit']);
      // Nothing left to end: return() after the end resolves at once.
      assert.deepEqual(await stream.return(), { done: true, value: undefined });
    });

    test("a generator's error arrives after the items before it, with class, message, code, properties, cause and the worker's stack", async () => {
      const stream = iterateInWorker<Streams, 'throwsAfter'>(streamsUrl, 'throwsAfter', [2], {
        kind,
      });
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
      assert.deepEqual(await stream.next(), { done: false, value: 1 });
      const error = (await rejectionOf(stream.next())) as TypeError & {
        code: string;
        port: number;
      };
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, 'sensor unplugged');
      assert.equal(error.code, 'E_SENSOR');
      assert.equal(error.port, 3);
      assert.ok(error.cause instanceof RangeError);
      assert.equal(error.cause.message, 'bus reset');
      assert.match(error.stack ?? '', /fixtures[\\/]streams\.mjs/);
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
    });

    test('a missing module or export rejects with ERR_NOT_FOUND', async () => {
      const missingModule = (await rejectionOf(
        iterateInWorker(fixture('no-such-module.mjs'), 'count', [], { kind }).next(),
      )) as KeelError;
      assert.ok(missingModule instanceof KeelError);
      assert.equal(missingModule.code, 'ERR_NOT_FOUND');
      const missingExport = (await rejectionOf(
        iterateInWorker(streamsUrl, 'noSuchGenerator', [], { kind }).next(),
      )) as KeelError;
      assert.equal(missingExport.code, 'ERR_NOT_FOUND');
      assert.match(missingExport.message, /noSuchGenerator/);
    });

    test('an export that returns something not iterable rejects with ERR_INVALID_ARGUMENT', async () => {
      const error = (await rejectionOf(
        iterateInWorker(streamsUrl, 'notIterable', [], { kind }).next(),
      )) as KeelError;
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.match(error.message, /returned 42, not an iterable/);
    });

    test('an item that cannot cross rejects with ERR_NOT_CLONEABLE naming its path; the generator is closed', async () => {
      const path = markerFile();
      const stream = iterateInWorker<Streams, 'uncloneable'>(streamsUrl, 'uncloneable', [path], {
        kind,
      });
      assert.deepEqual(await stream.next(), { done: false, value: { ok: 1 } });
      const error = (await rejectionOf(stream.next())) as KeelError;
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_NOT_CLONEABLE');
      assert.match(error.message, /item\.config\.onFrame/);
      assert.deepEqual(markers(path).slice(0, 1), ['finally']);
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
    });

    test('arguments that cannot cross reject the first next() with ERR_NOT_CLONEABLE', async () => {
      const error = (await rejectionOf(
        iterateInWorker(streamsUrl, 'echoArgs', [{ callback: () => 1 }], { kind }).next(),
      )) as KeelError;
      assert.equal(error.code, 'ERR_NOT_CLONEABLE');
      assert.match(error.message, /args\[0\]\.callback/);
    });

    test("return() rejects with ERR_WORKER_EXITED when the worker dies in the generator's finally", async () => {
      const stream = iterateInWorker(streamsUrl, 'dieInFinally', [], { kind });
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
      const error = (await rejectionOf(stream.return())) as KeelError;
      assert.equal(error.code, 'ERR_WORKER_EXITED');
      assert.match(error.message, /exited with code 7 while its generator was ending/);
    });

    test("return() rejects with the error the generator's finally threw", async () => {
      const stream = iterateInWorker(streamsUrl, 'finallyThrows', [], { kind });
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
      const error = (await rejectionOf(stream.return())) as RangeError;
      assert.ok(error instanceof RangeError);
      assert.equal(error.message, 'cleanup failed');
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
    });
  });
}

describe('iterateInWorker arguments', () => {
  test('invalid options reject the first next() with ERR_INVALID_ARGUMENT instead of throwing', async () => {
    for (const [options, pattern] of [
      [{ buffer: 0 }, /buffer must be an integer from 1 to 2147483647, got 0/],
      [{ buffer: 1.5 }, /buffer must be an integer from 1 to 2147483647, got 1.5/],
      [{ kind: 'fiber' }, /kind must be 'thread' or 'process', got "fiber"/],
      [
        { timeoutMs: -1 },
        /timeoutMs must be a number of milliseconds >= 0 \(Infinity for none\), got -1/,
      ],
      [{ signal: 'stop' }, /signal must be an AbortSignal/],
      [{ execArgv: '--inspect' }, /execArgv must be an array of strings/],
      [{ env: 'PATH=/bin' }, /env must be an object/],
    ] as const) {
      const stream = iterateInWorker(
        streamsUrl,
        'count',
        [3],
        options as unknown as Parameters<typeof iterateInWorker>[3],
      );
      const error = (await rejectionOf(stream.next())) as KeelError;
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.match(error.message, pattern);
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
    }
    const relative = (await rejectionOf(
      iterateInWorker('./streams.mjs', 'count').next(),
    )) as KeelError;
    assert.equal(relative.code, 'ERR_INVALID_ARGUMENT');
  });

  test('a module that fails to load rejects with ERR_START_FAILED, the import error as cause', async () => {
    const error = (await rejectionOf(
      iterateInWorker(fixture('broken-module.mjs'), 'count').next(),
    )) as KeelError;
    assert.equal(error.code, 'ERR_START_FAILED');
    assert.ok(error.cause instanceof Error);
  });

  test('nothing starts before the first next(), and return() before it is done at once', async () => {
    const path = markerFile();
    const stream = iterateInWorker<Streams, 'marked'>(streamsUrl, 'marked', [path]);
    assert.deepEqual(await stream.return(), { done: true, value: undefined });
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
    assert.deepEqual(markers(path), []);
  });

  test('concurrent next() calls get consecutive items', async () => {
    const stream = iterateInWorker<Streams, 'count'>(streamsUrl, 'count', [5], { buffer: 2 });
    const results = await Promise.all([stream.next(), stream.next(), stream.next()]);
    assert.deepEqual(
      results.map((result) => result.value),
      [0, 1, 2],
    );
    assert.deepEqual(await collect(stream), [3, 4]);
  });

  test('the iterator is async-disposable', async () => {
    const path = markerFile();
    {
      await using stream = iterateInWorker<Streams, 'marked'>(streamsUrl, 'marked', [path]);
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
    }
    assert.deepEqual(markers(path), ['finally', 'exit']);
  });
});

const gc = (globalThis as { gc?: () => void }).gc;

test(
  "a dropped iterator's generator is ended (its finally runs) and its worker exits once it is garbage-collected",
  { skip: gc === undefined && 'needs --expose-gc' },
  async () => {
    const path = markerFile();
    await (async () => {
      const stream = iterateInWorker<Streams, 'marked'>(streamsUrl, 'marked', [path]);
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
    })();
    const deadline = Date.now() + 10_000;
    while (markers(path).length < 2 && Date.now() < deadline) {
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(markers(path), ['finally', 'exit']);
  },
);
