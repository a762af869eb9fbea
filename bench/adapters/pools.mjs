// One uniform face over every pool measured: `call(x)` runs the fixture's no-op with x and
// resolves to its result; `close()` ends the threads. Each library is imported lazily so a
// cell process loads only the library it measures. Settings are each library's documented
// fast path for tiny tasks (mostly its defaults) and are printed beside the results.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { keelSpecifier } from './keel.mjs';

const kFixtures = new URL('../fixtures/', import.meta.url);
const kRoot = new URL('../../', import.meta.url);

/** Installed version of a package, read from node_modules (some packages do not export package.json). */
export function installedVersion(name) {
  const file = name === 'keel' ? 'package.json' : `node_modules/${name}/package.json`;
  try {
    return JSON.parse(readFileSync(new URL(file, kRoot), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/**
 * @typedef {{ call: (x: number) => Promise<unknown>, close: () => Promise<unknown>,
 *   settings: string, version: string }} PoolAdapter
 */

/** @type {Record<string, (threads: number) => Promise<PoolAdapter>>} */
export const poolAdapters = {
  async keel(threads) {
    // KEEL_BENCH_MODULE points at another build (a path or file: URL), e.g. to compare commits.
    const specifier = keelSpecifier();
    let Pool;
    try {
      ({ Pool } = await import(specifier));
    } catch (error) {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      throw new Error('keel is not built (dist/index.js missing): run `npm run build`', {
        cause: error,
      });
    }
    const pool = new Pool({ minThreads: threads, maxThreads: threads });
    const moduleRef = new URL('keel-noop.mjs', kFixtures);
    return {
      call: (x) => pool.run(moduleRef, 'noop', [x]),
      close: () => pool.close(),
      settings: `minThreads=maxThreads=${threads}, defaults`,
      version: specifier === 'keel' ? installedVersion('keel') : specifier,
    };
  },

  // atomics: 'sync' is piscina's default and its documented fast path for short tasks; the
  // other two modes are opt-in rows (--libs=...,piscina-atomics-async) for comparison.
  piscina: (threads) => piscinaAdapter(threads, 'sync'),
  'piscina-atomics-async': (threads) => piscinaAdapter(threads, 'async'),
  'piscina-atomics-disabled': (threads) => piscinaAdapter(threads, 'disabled'),

  async tinypool(threads) {
    const { Tinypool } = await import('tinypool');
    const pool = new Tinypool({
      filename: new URL('tinypool-noop.mjs', kFixtures).href,
      minThreads: threads,
      maxThreads: threads,
      useAtomics: true,
    });
    return {
      call: (x) => pool.run(x, { name: 'noop' }),
      close: () => pool.destroy(),
      settings: `minThreads=maxThreads=${threads}, runtime=worker_threads, useAtomics=true (defaults)`,
      version: installedVersion('tinypool'),
    };
  },

  async workerpool(threads) {
    const { default: workerpool } = await import('workerpool');
    const script = fileURLToPath(new URL('workerpool-noop.mjs', kFixtures));
    const pool = workerpool.pool(script, {
      minWorkers: threads,
      maxWorkers: threads,
      workerType: 'thread',
    });
    return {
      call: (x) => pool.exec('noop', [x]),
      close: () => pool.terminate(),
      settings: `minWorkers=maxWorkers=${threads}, workerType='thread'`,
      version: installedVersion('workerpool'),
    };
  },

  async poolifier(threads) {
    const { FixedThreadPool } = await import('poolifier');
    const script = fileURLToPath(new URL('poolifier-noop.mjs', kFixtures));
    // Defaults: LEAST_USED worker choice and no pool-side task queue (tasks go straight to
    // the workers). Measured faster here than ROUND_ROBIN or enableEvents: false.
    const pool = new FixedThreadPool(threads, script, {
      errorHandler: (error) => console.error(error),
    });
    return {
      call: (x) => pool.execute(x, 'noop'),
      close: () => pool.destroy(),
      settings: `FixedThreadPool(${threads}), defaults (LEAST_USED, enableTasksQueue=false)`,
      version: installedVersion('poolifier'),
    };
  },

  raw: rawEchoAdapter,
};

/**
 * @param {number} threads
 * @param {'sync' | 'async' | 'disabled'} atomics
 * @returns {Promise<PoolAdapter>}
 */
async function piscinaAdapter(threads, atomics) {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({
    filename: new URL('piscina-noop.mjs', kFixtures).href,
    minThreads: threads,
    maxThreads: threads,
    atomics,
  });
  return {
    call: (x) => pool.run(x, { name: 'noop' }),
    close: () => pool.destroy(),
    settings: `minThreads=maxThreads=${threads}, atomics='${atomics}'${atomics === 'sync' ? ' (default)' : ''}`,
    version: installedVersion('piscina'),
  };
}

/**
 * The platform floor: `threads` plain workers echoing whatever worker.postMessage sends.
 * Each call goes to the worker with the fewest calls outstanding (the first on ties, so a
 * sequential caller always talks to one warm worker), and resolves in FIFO order per worker.
 * It keeps a Promise per call, the same shape every pool API has.
 * @param {number} threads
 * @returns {Promise<PoolAdapter>}
 */
async function rawEchoAdapter(threads) {
  const lanes = [];
  for (let i = 0; i < threads; i++) {
    const worker = new Worker(new URL('raw-echo.mjs', kFixtures));
    /** @type {((value: unknown) => void)[]} */
    const pending = [];
    worker.on('message', (value) => pending.shift()?.(value));
    worker.on('error', (error) => console.error(error));
    lanes.push({ worker, pending });
  }
  await Promise.all(lanes.map(({ worker }) => new Promise((r) => worker.once('online', r))));
  return {
    call(x) {
      let lane = lanes[0];
      for (const candidate of lanes) {
        if (candidate.pending.length < lane.pending.length) lane = candidate;
      }
      return new Promise((resolve) => {
        lane.pending.push(resolve);
        lane.worker.postMessage(x);
      });
    },
    close: () => Promise.all(lanes.map(({ worker }) => worker.terminate())),
    settings: `${threads} worker_threads, worker.postMessage echo, a Promise per call`,
    version: process.version,
  };
}
