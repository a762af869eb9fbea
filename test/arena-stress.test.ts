// Many writers and readers on real threads through one small arena: two worker writers stream
// to the main thread while the main thread streams to a worker reader. Every byte is checked on
// arrival and again when a held item is released; nothing may hang (timeouts everywhere).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Arena, release, keep } from '../dist/memory/arena/index.js';
import {
  checkItem,
  makeItem,
  random,
  type PatternItem as Item,
} from './fixtures/arena-pattern.mjs';
import { fixture } from './helpers.ts';

type PeerMessage =
  | { seq: number; envelope: Parameters<Arena['restore']>[0] }
  | { done: number }
  | { ack: number }
  | { finished: true }
  | { error: string };

const kItemsPerWriter = 1500;
const kItemsToReader = 600;
const kMaxLeafBytes = 48 * 1024;
const kTimeoutMs = 20_000;
const kMainHeld = 4;

function startPeer(
  arena: Arena,
  data: Record<string, unknown>,
  onMessage: (message: PeerMessage) => void,
): Worker {
  const worker = new Worker(fixture('arena-stress.mjs'), {
    workerData: { arena: arena.share(), ...data },
  });
  worker.on('message', onMessage);
  return worker;
}

test(
  'thousands of items of random sizes cross a small arena between real threads, every byte intact, nothing held is ever overwritten',
  { timeout: 180_000 },
  async (t) => {
    const arena = new Arena({ bytes: 2 * 2 ** 20, minBytes: 1024 });
    const decide = random(0x5eed);
    const held: { item: Item; stream: number; seq: number }[] = [];
    const kept: { copy: Item; stream: number; seq: number }[] = [];
    const nextSeq = new Map<number, number>([
      [1, 0],
      [2, 0],
    ]);
    let writersDone = 0;
    let acks = 0;
    let receivedBytes = 0;
    const workers: Worker[] = [];

    const finished = new Promise<void>((resolve, reject) => {
      const fail = (error: unknown): void => {
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      const onWriter =
        (stream: number) =>
        (message: PeerMessage): void => {
          try {
            if ('error' in message) throw new Error(`writer ${stream}: ${message.error}`);
            if ('done' in message) {
              writersDone++;
              maybeFinish();
              return;
            }
            if (!('envelope' in message)) return;
            assert.equal(message.seq, nextSeq.get(stream), 'items arrive in order');
            nextSeq.set(stream, message.seq + 1);
            const item = arena.restore(message.envelope) as Item;
            receivedBytes += checkItem(item, stream, message.seq);
            settle(item, stream, message.seq);
          } catch (error) {
            fail(error);
          }
        };
      const settle = (item: Item, stream: number, seq: number): void => {
        const roll = decide();
        if (roll < 0.25 && held.length < kMainHeld) {
          held.push({ item, stream, seq });
        } else if (roll < 0.3 && kept.length < 50) {
          kept.push({ copy: keep(item), stream, seq });
          release(item);
        } else {
          release(item);
        }
        if (held.length > 0 && decide() < 0.3) {
          const oldest = held.shift()!;
          checkItem(oldest.item, oldest.stream, oldest.seq);
          release(oldest.item);
        }
      };
      const writers = [1, 2].map((stream) =>
        startPeer(
          arena,
          {
            role: 'writer',
            stream,
            items: kItemsPerWriter,
            maxLeafBytes: kMaxLeafBytes,
            timeoutMs: kTimeoutMs,
          },
          onWriter(stream),
        ),
      );
      const reader = startPeer(
        arena,
        { role: 'reader', stream: 3, holdSeed: 7, maxHeld: 2 },
        (message) => {
          if ('error' in message) fail(new Error(`reader: ${message.error}`));
          else if ('ack' in message) {
            acks++;
            maybeFinish();
          } else if ('finished' in message) resolve();
        },
      );
      workers.push(...writers, reader);
      for (const worker of workers) {
        worker.on('error', fail);
        worker.on('exit', (code) => {
          if (code !== 0) fail(new Error(`a peer exited with code ${code}`));
        });
      }
      const maybeFinish = (): void => {
        if (writersDone === 2 && acks === kItemsToReader) reader.postMessage('finish');
      };
      void (async () => {
        const next = random(3);
        for (let seq = 0; seq < kItemsToReader; seq++) {
          const envelope = await arena.offloadAsync(makeItem(3, seq, next, kMaxLeafBytes), {
            timeoutMs: kTimeoutMs,
          });
          reader.postMessage({ seq, envelope });
        }
      })().catch(fail);
    });
    try {
      await finished;
    } finally {
      // On failure, peers may still be waiting for space: end them so the run never hangs.
      await Promise.all(workers.map((worker) => worker.terminate()));
    }

    for (const { item, stream, seq } of held.splice(0)) {
      checkItem(item, stream, seq);
      release(item);
    }
    for (const { copy, stream, seq } of kept) {
      checkItem(copy, stream, seq);
      for (const leaf of copy.leaves)
        assert.ok(!(leaf.buffer instanceof SharedArrayBuffer), 'a kept leaf owns its memory');
    }
    const stats = arena.stats();
    assert.equal(stats.bytesInUse, 0, 'every unit returned its space');
    assert.equal(stats.units, 0);
    assert.equal(stats.fallbacks, 0);
    assert.ok(
      receivedBytes > 10 * arena.bytes,
      `only ${receivedBytes} bytes crossed: too little pressure`,
    );
    t.diagnostic(
      `${2 * kItemsPerWriter + kItemsToReader} items, ${(receivedBytes / 2 ** 20).toFixed(0)} MiB received; waits ${stats.waits}, high water ${stats.highWaterBytes} of ${stats.bytes}`,
    );
  },
);
