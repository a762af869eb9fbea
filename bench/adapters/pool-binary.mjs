// One face over every pool's binary round trip: `echo(bytes)` sends a Uint8Array to a worker
// function that returns it; `next(sent, back)` says which array the caller sends next. A
// transfer path moves the buffer both ways (the sent array is detached: continue with `back`);
// keel's arena leaves the caller's array intact (send it again) and hands back a view over
// shared memory, released once checked. 2 threads each, like the other pool scenarios.
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
 *   stats?: () => Record<string, number>, close: () => Promise<unknown>,
 *   settings: string, version: string }} PoolBinaryAdapter
 */

/** @type {Record<string, (threads: number) => Promise<PoolBinaryAdapter>>} */
export const poolBinaryAdapters = {
  'keel-arena': (threads) => keelPool(threads, true),
  keel: (threads) => keelPool(threads, false),

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
 * @param {boolean} withArena
 * @returns {Promise<PoolBinaryAdapter>}
 */
async function keelPool(threads, withArena) {
  const { keel, sources } = await loadKeel();
  if (withArena && keel.Arena === undefined) throw new Error('this keel build has no Arena');
  const arena = withArena ? new keel.Arena({ bytes: kArenaBytes }) : undefined;
  const pool = new keel.Pool({
    minThreads: threads,
    maxThreads: threads,
    ...(arena === undefined ? {} : { arena }),
  });
  const moduleRef = new URL('keel-remote.mjs', kFixtures);
  const echo = (bytes) => pool.run(moduleRef, 'echo', [bytes]);
  if (arena !== undefined) await probeArena(echo, pool, arena);
  return {
    echo,
    // The caller's frame stays its own: send it again; give the received view's space back.
    next: arena === undefined ? continueWithResult : (sent, back) => (arena.release(back), sent),
    ...(arena === undefined ? {} : { stats: () => arenaStats(arena) }),
    close: () => pool.close(),
    settings:
      `new Pool({ minThreads: ${threads}, maxThreads: ${threads}${arena ? `, arena: new Arena({ bytes: ${kArenaBytes / 2 ** 20} MiB })` : ''} }), pool.run(url, 'echo', [frame])` +
      (arena ? ', each result released with arena.release()' : ', structured clone') +
      sourcesNote(sources, withArena ? ['Arena'] : []),
    version: installedVersion('keel'),
  };
}

async function probeArena(echo, pool, arena) {
  const back = await echo(new Uint8Array(2 ** 20));
  if (!(back.buffer instanceof SharedArrayBuffer)) {
    await pool.close();
    throw new Error(
      'new Pool({ arena }) is not wired in this build: the result crossed by copying (its buffer is an ArrayBuffer, not the arena)',
    );
  }
  arena.release(back);
}
