// Forwarding by reference under load: the main thread streams seeded items to a worker that
// sends each one straight back by reference and holds its own view a while; both sides hold
// and release in random order while new items keep reusing freed space. A region freed while
// any holder still had it would show as a corrupted item when that holder checks it again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Arena, release } from '../dist/memory/arena/index.js';
import {
  checkItem,
  makeItem,
  random,
  type PatternItem as Item,
} from './fixtures/arena-pattern.mjs';
import { fixture } from './helpers.ts';

type RelayMessage =
  | { seq: number; envelope: Parameters<Arena['restore']>[0] }
  | { finished: true }
  | { error: string };

const kItems = 1200;
const kWindow = 6;
const kStream = 3;
const kMainHeld = 5;

test(
  'items forwarded back by reference stay intact while both threads hold and release them at random',
  { timeout: 120_000 },
  async () => {
    const arena = new Arena({ bytes: 2 * 2 ** 20, minBytes: 1024, maxUnits: 64 });
    const makeNext = random(0xf0a4);
    const decide = random(0xbeef);
    const held: { item: Item; seq: number }[] = [];
    const returned = new Map<number, () => void>();
    let failure: Error | undefined;
    const worker = new Worker(fixture('arena-stress.mjs'), {
      workerData: { arena: arena.share(), role: 'relay', stream: kStream, holdSeed: 7, maxHeld: 4 },
    });
    const finished = new Promise<void>((resolve) => {
      worker.on('message', (message: RelayMessage) => {
        try {
          if ('error' in message) throw new Error(`relay: ${message.error}`);
          if ('finished' in message) {
            resolve();
            return;
          }
          const item = arena.restore(message.envelope) as Item;
          checkItem(item, kStream, message.seq);
          if (held.length < kMainHeld && decide() < 0.4) held.push({ item, seq: message.seq });
          else release(item);
          if (held.length > 0 && decide() < 0.3) {
            const oldest = held.shift()!;
            checkItem(oldest.item, kStream, oldest.seq);
            release(oldest.item);
          }
          returned.get(message.seq)?.();
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
          for (const wake of returned.values()) wake();
        }
      });
    });
    const inFlight = new Set<Promise<void>>();
    try {
      for (let seq = 0; seq < kItems && failure === undefined; seq++) {
        const item = makeItem(kStream, seq, makeNext, 48 * 1024);
        const envelope = await arena.offloadAsync(item, { timeoutMs: 20_000 });
        const back = new Promise<void>((resolve) => returned.set(seq, resolve));
        const tracked = back.then(() => {
          returned.delete(seq);
          inFlight.delete(tracked);
        });
        inFlight.add(tracked);
        worker.postMessage({ seq, envelope });
        if (inFlight.size >= kWindow) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      for (const { item, seq } of held.splice(0)) {
        checkItem(item, kStream, seq);
        release(item);
      }
      worker.postMessage('finish');
      await finished;
    } finally {
      await worker.terminate();
    }
    const stats = arena.stats();
    assert.equal(stats.bytesInUse, 0, 'every holder let go');
    assert.equal(stats.units, 0);
    assert.ok(stats.highWaterBytes > 0);
  },
);
