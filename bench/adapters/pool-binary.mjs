// One face over every pool's binary round trip: `echo(bytes)` sends a Uint8Array to a worker
// function that returns it; `next(sent, back)` says which array the caller sends next. A
// transfer path moves the buffer both ways (the sent array is detached: continue with `back`);
// keel-arena keeps the frame in the arena (arena.allocate, filled once before timing) and sends
// on what came back, as the transfer paths do: the frame crosses by reference both ways, no
// copy. keel-arena-copy sends a plain Uint8Array each time (copied into the arena once per
// call) and gets a view back by reference. 2 threads each, like the other pool scenarios.
import { fileURLToPath } from 'node:url';

import { loadKeel, sourcesNote } from './keel.mjs';
import { installedVersion } from './pools.mjs';
import { arenaStats, createRemote } from './remotes.mjs';

const kFixtures = new URL('../fixtures/', import.meta.url);
const kArenaBytes = 64 * 2 ** 20;
const continueWithResult = (_sent, back) => back;

/**
 * @typedef {{ echo: (bytes: Uint8Array) => Promise<Uint8Array>,
 *   next: (sent: Uint8Array, back: Uint8Array) => Uint8Array,
 *   adopt?: (frame: Uint8Array) => Uint8Array,
 *   stats?: () => Record<string, number>, close: () => Promise<unknown>,
 *   settings: string, version: string }} PoolBinaryAdapter
 */

/** @type {Record<string, (threads: number) => Promise<PoolBinaryAdapter>>} */
export const poolBinaryAdapters = {
  'keel-arena': (threads) => keelPool(threads, 'allocate'),
  'keel-arena-copy': (threads) => keelPool(threads, 'copy'),
  keel: (threads) => keelPool(threads, 'none'),

  async 'piscina-move'(threads) {
    const { Piscina } = await import('piscina');
    const pool = new Piscina({
      filename: new URL('piscina-binary.mjs', kFixtures).href,
      minThreads: threads,
      maxThreads: threads,
    });
    return {
      echo: (bytes) => pool.run(Piscina.move(bytes), { name: 'echoMove' }),
      next: continueWithResult,
      close: () => pool.destroy(),
      settings: `minThreads=maxThreads=${threads}, atomics='sync' (default), Piscina.move() both ways`,
      version: installedVersion('piscina'),
    };
  },

  async 'tinypool-move'(threads) {
    const { Tinypool } = await import('tinypool');
    const pool = new Tinypool({
      filename: new URL('tinypool-binary.mjs', kFixtures).href,
      minThreads: threads,
      maxThreads: threads,
    });
    return {
      echo: (bytes) => pool.run(Tinypool.move(bytes), { name: 'echoMove' }),
      next: continueWithResult,
      close: () => pool.destroy(),
      settings: `minThreads=maxThreads=${threads}, defaults, Tinypool.move() both ways`,
      version: installedVersion('tinypool'),
    };
  },

  async 'workerpool-transfer'(threads) {
    const { default: workerpool } = await import('workerpool');
    const pool = workerpool.pool(fileURLToPath(new URL('workerpool-binary.mjs', kFixtures)), {
      minWorkers: threads,
      maxWorkers: threads,
      workerType: 'thread',
    });
    return {
      echo: (bytes) => pool.exec('echoTransfer', [bytes], { transfer: [bytes.buffer] }),
      next: continueWithResult,
      close: () => pool.terminate(),
      settings: `minWorkers=maxWorkers=${threads}, workerType='thread', exec({ transfer }) in, workerpool.Transfer out`,
      version: installedVersion('workerpool'),
    };
  },

  async 'poolifier-transfer'(threads) {
    const { FixedThreadPool } = await import('poolifier');
    const pool = new FixedThreadPool(
      threads,
      fileURLToPath(new URL('poolifier-binary.mjs', kFixtures)),
      { errorHandler: (error) => console.error(error) },
    );
    return {
      echo: (bytes) => pool.execute(bytes, 'echo', undefined, [bytes.buffer]),
      next: continueWithResult,
      close: () => pool.destroy(),
      settings: `FixedThreadPool(${threads}), execute(data, name, undefined, transferList) in; the result is cloned (poolifier has no result transfer)`,
      version: installedVersion('poolifier'),
    };
  },

  async 'raw-transfer'() {
    const remote = await createRemote('raw-transfer', 'echo');
    return { ...remote, next: continueWithResult };
  },
};

/**
 * keel's Pool, with or without an Arena. With one, the pool must hand back a view over the
 * arena: a result over an ArrayBuffer means `new Pool({ arena })` is not wired in this build.
 * @param {number} threads
 * @param {'allocate' | 'copy' | 'none'} mode
 * @returns {Promise<PoolBinaryAdapter>}
 */
async function keelPool(threads, mode) {
  const { keel, sources } = await loadKeel();
  const withArena = mode !== 'none';
  if (withArena && keel.Arena === undefined) throw new Error('this keel build has no Arena');
  if (mode === 'allocate' && keel.Arena.prototype.allocate === undefined) {
    throw new Error('this keel build has no arena.allocate()');
  }
  const arena = withArena ? new keel.Arena({ bytes: kArenaBytes }) : undefined;
  const pool = new keel.Pool({
    minThreads: threads,
    maxThreads: threads,
    ...(arena === undefined ? {} : { arena }),
  });
  const moduleRef = new URL('keel-remote.mjs', kFixtures);
  const echo = (bytes) => pool.run(moduleRef, 'echo', [bytes]);
  if (arena !== undefined) await probeArena(echo, pool, keel.release);
  const arenaSettings = arena ? `, arena: new Arena({ bytes: ${kArenaBytes / 2 ** 20} MiB })` : '';
  const how = {
    allocate:
      ', the frame made once with arena.allocate(Uint8Array, n); each call sends what the last one returned and releases what it sent (by reference both ways, no copy)',
    copy: ', a plain Uint8Array sent each call (one copy into the arena), the view returned released',
    none: ', structured clone',
  }[mode];
  return {
    echo,
    ...(mode === 'allocate'
      ? {
          adopt: (frame) => {
            const inArena = arena.allocate(Uint8Array, frame.length, { zero: false });
            inArena.set(frame);
            return inArena;
          },
          next: (sent, back) => (keel.release(sent), back),
        }
      : {
          // The caller's frame stays its own: send it again; give the received view's space back.
          next: mode === 'none' ? continueWithResult : (sent, back) => (keel.release(back), sent),
        }),
    ...(arena === undefined ? {} : { stats: () => arenaStats(arena) }),
    close: () => pool.close(),
    settings:
      `new Pool({ minThreads: ${threads}, maxThreads: ${threads}${arenaSettings} }), pool.run(url, 'echo', [frame])` +
      how +
      sourcesNote(sources, withArena ? ['Arena'] : []),
    version: installedVersion('keel'),
  };
}

async function probeArena(echo, pool, release) {
  const back = await echo(new Uint8Array(2 ** 20));
  if (!(back.buffer instanceof SharedArrayBuffer)) {
    await pool.close();
    throw new Error(
      'new Pool({ arena }) is not wired in this build: the result crossed by copying (its buffer is an ArrayBuffer, not the arena)',
    );
  }
  release(back);
}
