// One face over "frames born in the worker": `make(seq)` asks a worker function for a fresh
// 1.2 MB frame (allocated and filled there, fixtures/born-frame.mjs) and resolves to it;
// `done(frame)` gives back what the caller holds (keel's arena views). Pools have 2 threads,
// like the other pool scenarios; the raw rows use one worker.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { loadKeel, sourcesNote } from './keel.mjs';
import { installedVersion } from './pools.mjs';

const kFixtures = new URL('../fixtures/', import.meta.url);
const kArenaBytes = 64 * 2 ** 20;
const nothingToGiveBack = () => undefined;

/**
 * @typedef {{ make: (seq: number) => Promise<Uint8Array>, done: (frame: Uint8Array) => void,
 *   close: () => Promise<unknown>, settings: string, version: string }} BornFramesAdapter
 */

/** @type {Record<string, (threads: number) => Promise<BornFramesAdapter>>} */
export const bornFramesAdapters = {
  keel: (threads) => keelPool(threads, 'born', false),
  'keel-arena': (threads) => keelPool(threads, 'born', true),
  'keel-arena-alloc': (threads) => keelPool(threads, 'bornInArena', true),
  'keel-move': (threads) => keelPool(threads, 'bornMove', false),

  piscina: (threads) => piscinaPool(threads, 'born'),
  'piscina-move': (threads) => piscinaPool(threads, 'bornMove'),

  async 'workerpool-transfer'(threads) {
    const { default: workerpool } = await import('workerpool');
    const pool = workerpool.pool(fileURLToPath(new URL('workerpool-born.mjs', kFixtures)), {
      minWorkers: threads,
      maxWorkers: threads,
      workerType: 'thread',
    });
    return {
      make: (seq) => pool.exec('bornTransfer', [seq]),
      done: nothingToGiveBack,
      close: () => pool.terminate(),
      settings: `minWorkers=maxWorkers=${threads}, workerType='thread', the worker returns new workerpool.Transfer(frame, [frame.buffer])`,
      version: installedVersion('workerpool'),
    };
  },

  raw: () => rawWorker(false),
  'raw-transfer': () => rawWorker(true),
};

/**
 * keel's Pool calling `name` in fixtures/keel-born.mjs, with or without an Arena. The move row
 * fails at once, saying so, in a build of keel without `move`.
 * @returns {Promise<BornFramesAdapter>}
 */
async function keelPool(threads, name, withArena) {
  const { keel, sources } = await loadKeel();
  if (name === 'bornMove' && typeof keel.move !== 'function') {
    throw new Error("this keel build has no move() export (import { move } from 'keel')");
  }
  if (withArena && keel.Arena === undefined) throw new Error('this keel build has no Arena');
  const arena = withArena ? new keel.Arena({ bytes: kArenaBytes }) : undefined;
  const pool = new keel.Pool({
    minThreads: threads,
    maxThreads: threads,
    ...(arena === undefined ? {} : { arena }),
  });
  const moduleRef = new URL('keel-born.mjs', kFixtures);
  const how = {
    born:
      arena === undefined
        ? 'returns the frame (structured clone)'
        : 'returns the frame (copied into the arena)',
    bornInArena:
      'allocates the frame in the arena (Arena.current().allocate) and returns it (by reference)',
    bornMove: 'returns move(frame) (transferred)',
  }[name];
  const arenaSettings = arena ? `, arena: new Arena({ bytes: ${kArenaBytes / 2 ** 20} MiB })` : '';
  return {
    make: (seq) => pool.run(moduleRef, name, [seq]),
    done: arena === undefined ? nothingToGiveBack : (frame) => keel.release(frame),
    close: () => pool.close(),
    settings:
      `new Pool({ minThreads: ${threads}, maxThreads: ${threads}${arenaSettings} }), pool.run(url, '${name}', [seq]); the worker ${how}` +
      sourcesNote(sources, withArena ? ['Arena'] : []),
    version: installedVersion('keel'),
  };
}

/** @returns {Promise<BornFramesAdapter>} */
async function piscinaPool(threads, name) {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({
    filename: new URL('piscina-born.mjs', kFixtures).href,
    minThreads: threads,
    maxThreads: threads,
  });
  const how = name === 'bornMove' ? 'returns Piscina.move(frame)' : 'returns the frame (cloned)';
  return {
    make: (seq) => pool.run(seq, { name }),
    done: nothingToGiveBack,
    close: () => pool.destroy(),
    settings: `minThreads=maxThreads=${threads}, atomics='sync' (default); the worker ${how}`,
    version: installedVersion('piscina'),
  };
}

/** One plain worker answering each sequence number with a fresh frame. */
async function rawWorker(transfer) {
  const worker = new Worker(new URL('raw-born.mjs', kFixtures), { workerData: { transfer } });
  await new Promise((resolve, reject) => {
    worker.once('online', resolve);
    worker.once('error', reject);
  });
  /** @type {((frame: Uint8Array) => void) | undefined} */
  let answer;
  worker.on('message', (frame) => answer?.(frame));
  return {
    make: (seq) =>
      new Promise((resolve) => {
        answer = resolve;
        worker.postMessage(seq);
      }),
    done: nothingToGiveBack,
    close: () => worker.terminate(),
    settings: `one Worker; postMessage(seq), answered with postMessage(frame${transfer ? ', [frame.buffer]' : ''})`,
    version: process.version,
  };
}
