// One uniform face over "one object in a dedicated worker (or child process)": keel's spawn,
// comlink, a 1-thread piscina, and the raw platform. Each adapter offers the operations it can
// carry, all resolving to the worker's answer:
//   call(x)       no-op round trip (resolves to x)
//   echo(bytes)   a binary argument sent and returned (transfer variants move it both ways,
//                 so the caller must continue with the returned array)
//   frame()       a fresh 1.2 MB frame produced in the worker (fixtures/frame.mjs)
//   release(v)    optional: gives a received value's memory back (keel's arena)
//   stats()       optional: extra numbers for the result's metrics
// Each library is imported lazily, so a cell process loads only the one it measures.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { checkFrame } from '../fixtures/frame.mjs';
import { loadKeel, sourcesNote } from './keel.mjs';
import { installedVersion } from './pools.mjs';

const kFixtures = new URL('../fixtures/', import.meta.url);
const kArenaBytes = 64 * 2 ** 20;

/**
 * @typedef {{ call?: (x: number) => Promise<unknown>, echo?: (bytes: Uint8Array) => Promise<Uint8Array>,
 *   frame?: () => Promise<Uint8Array>, release?: (value: unknown) => unknown,
 *   stats?: () => Record<string, number>, close: () => Promise<unknown>,
 *   settings: string, version: string }} RemoteAdapter
 */

/** @type {Record<string, () => Promise<RemoteAdapter>>} */
export const remoteAdapters = {
  'keel-thread': () => keelRemote('thread', false),
  'keel-process': () => keelRemote('process', false),
  'keel-arena': () => keelRemote('thread', true),
  'keel-move': () => keelRemote('thread', false, true),
  comlink: () => comlinkRemote(false),
  'comlink-transfer': () => comlinkRemote(true),
  piscina: () => piscinaRemote(false),
  'piscina-move': () => piscinaRemote(true),
  raw: () => rawWorker(false),
  'raw-transfer': () => rawWorker(true),
  'raw-atomics': rawAtomics,
  'raw-ipc': rawIpc,
};

/** The adapter named `lib`, with `op` checked to exist. */
export async function createRemote(lib, op) {
  const create = remoteAdapters[lib];
  if (create === undefined) throw new Error(`unknown --lib=${lib}`);
  const remote = await create();
  if (typeof remote[op] !== 'function') {
    await remote.close();
    throw new Error(`${lib} does not carry the '${op}' operation`);
  }
  return remote;
}

/**
 * keel: `spawn(url, 'make', [], options)`, with an Arena for 'keel-arena'. The arena row
 * probes one frame first: a frame that came back over an ArrayBuffer crossed by copying,
 * i.e. the `arena` option is not wired into spawn in this build. The move row sends the
 * argument with `move(bytes)` and the object returns it with `move` (transferred both ways).
 * @param {'thread' | 'process'} kind
 * @param {boolean} withArena
 * @param {boolean} [moving]
 * @returns {Promise<RemoteAdapter>}
 */
async function keelRemote(kind, withArena, moving = false) {
  const { keel, sources } = await loadKeel();
  if (withArena && keel.Arena === undefined) throw new Error('this keel build has no Arena');
  const arena = withArena ? new keel.Arena({ bytes: kArenaBytes }) : undefined;
  const options = arena === undefined ? { kind } : { kind, arena };
  const remote = await keel.spawn(new URL('keel-remote.mjs', kFixtures), 'make', [], options);
  if (arena !== undefined) await probeArena(keel, remote);
  return {
    call: (x) => remote.noop(x),
    echo: moving ? (bytes) => remote.echoMove(keel.move(bytes)) : (bytes) => remote.echo(bytes),
    frame: () => remote.frame(),
    ...(arena === undefined ? {} : { release: (value) => keel.release(value) }),
    ...(arena === undefined ? {} : { stats: () => arenaStats(arena) }),
    close: () => keel.close(remote),
    settings:
      `spawn(url, 'make', [], { kind: '${kind}'${arena ? `, arena: new Arena({ bytes: ${kArenaBytes / 2 ** 20} MiB }) ` : ' '}})` +
      `${arena ? ', each received frame released with release(frame)' : ''}` +
      `${moving ? ', echoMove(move(bytes)) returning move(bytes)' : ''}` +
      sourcesNote(sources, withArena ? ['Arena'] : []),
    version: installedVersion('keel'),
  };
}

async function probeArena(keel, remote) {
  const frame = await remote.frame();
  checkFrame(frame, 'keel-arena probe');
  if (!(frame.buffer instanceof SharedArrayBuffer)) {
    await keel.close(remote);
    throw new Error(
      "spawn(..., { arena }) is not wired in this build: the frame crossed by copying (its buffer is an ArrayBuffer, not the arena's memory)",
    );
  }
  keel.release(frame);
}

/** The arena's counters worth keeping beside a result: copies it fell back to, waits. */
export function arenaStats(arena) {
  const { fallbacks, waits, highWaterBytes } = arena.stats();
  return { arenaFallbacks: fallbacks, arenaWaits: waits, arenaHighWaterBytes: highWaterBytes };
}

/**
 * comlink with its Node adapter, one dedicated worker; the transfer row marks arguments and
 * results with Comlink.transfer().
 * @param {boolean} transferring
 * @returns {Promise<RemoteAdapter>}
 */
async function comlinkRemote(transferring) {
  const { wrap, transfer, releaseProxy } = await import('comlink/dist/esm/comlink.mjs');
  const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
  const worker = new Worker(new URL('comlink-remote.mjs', kFixtures));
  worker.on('error', (error) => console.error(error));
  const api = wrap(nodeEndpoint(worker));
  return {
    call: (x) => api.noop(x),
    echo: transferring
      ? (bytes) => api.echoTransfer(transfer(bytes, [bytes.buffer]))
      : (bytes) => api.echo(bytes),
    frame: transferring ? () => api.frameTransfer() : () => api.frame(),
    close() {
      api[releaseProxy]();
      return worker.terminate();
    },
    settings: `wrap(nodeEndpoint(new Worker(...))), one dedicated worker${transferring ? ', Comlink.transfer() both ways' : ', structured clone'}`,
    version: installedVersion('comlink'),
  };
}

/**
 * piscina with one thread (its fast path: atomics 'sync', the default); the move row sends and
 * returns binaries with Piscina.move().
 * @param {boolean} moving
 * @returns {Promise<RemoteAdapter>}
 */
async function piscinaRemote(moving) {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({
    filename: new URL('piscina-binary.mjs', kFixtures).href,
    minThreads: 1,
    maxThreads: 1,
  });
  return {
    call: (x) => pool.run(x, { name: 'noop' }),
    echo: moving
      ? (bytes) => pool.run(Piscina.move(bytes), { name: 'echoMove' })
      : (bytes) => pool.run(bytes, { name: 'echo' }),
    frame: () => pool.run(null, { name: moving ? 'frameMove' : 'frame' }),
    close: () => pool.destroy(),
    settings: `minThreads=maxThreads=1, atomics='sync' (default), pool.run${moving ? ', Piscina.move() both ways' : ', structured clone'}`,
    version: installedVersion('piscina'),
  };
}

/**
 * The platform floor: one worker echoing worker.postMessage (fixtures/raw-worker.mjs), a
 * Promise per call resolved in FIFO order, like any RPC API.
 * @param {boolean} transferring
 * @returns {Promise<RemoteAdapter>}
 */
async function rawWorker(transferring) {
  const worker = new Worker(new URL('raw-worker.mjs', kFixtures), {
    workerData: { transfer: transferring },
  });
  /** @type {((value: unknown) => void)[]} */
  const pending = [];
  worker.on('message', (value) => pending.shift()?.(value));
  worker.on('error', (error) => console.error(error));
  await new Promise((resolve) => worker.once('online', resolve));
  const post = (message, transferList) =>
    new Promise((resolve) => {
      pending.push(resolve);
      worker.postMessage(message, transferList);
    });
  return {
    call: (x) => post(x),
    echo: (bytes) => post(bytes, transferring ? [bytes.buffer] : undefined),
    frame: () => post('frame'),
    close: () => worker.terminate(),
    settings: `one worker, worker.postMessage -> parentPort echo${transferring ? ', transfer list both ways' : ', structured clone'}`,
    version: process.version,
  };
}

/**
 * The floor of a sleeping hand-off: main Atomics.waitAsync <-> worker Atomics.wait on a bare
 * Int32 pair. It carries no value (call resolves to its argument).
 * @returns {Promise<RemoteAdapter>}
 */
async function rawAtomics() {
  const signal = new SharedArrayBuffer(8);
  const words = new Int32Array(signal);
  const worker = new Worker(new URL('raw-atomics.mjs', kFixtures), { workerData: { signal } });
  await new Promise((resolve) => worker.once('online', resolve));
  let sent = 0;
  return {
    async call(x) {
      Atomics.store(words, 0, ++sent);
      Atomics.notify(words, 0);
      while (Atomics.load(words, 1) !== sent) {
        const waiter = Atomics.waitAsync(words, 1, sent - 1, 10_000);
        if (waiter.async && (await waiter.value) === 'timed-out') {
          throw new Error('raw-atomics: no answer within 10 s');
        }
      }
      return x;
    },
    async close() {
      Atomics.store(words, 0, -1);
      Atomics.notify(words, 0);
      await new Promise((resolve) => worker.once('exit', resolve));
    },
    settings: 'Int32 ping-pong, main Atomics.waitAsync <-> worker Atomics.wait, no payload',
    version: process.version,
  };
}

/**
 * The floor for child processes: child_process.fork() IPC with serialization 'advanced'
 * (keel's), every message echoed (fixtures/raw-ipc-echo.mjs).
 * @returns {Promise<RemoteAdapter>}
 */
async function rawIpc() {
  const child = fork(fileURLToPath(new URL('raw-ipc-echo.mjs', kFixtures)), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  /** @type {((value: unknown) => void)[]} */
  const pending = [];
  child.on('message', (value) => pending.shift()?.(value));
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const send = (message) =>
    new Promise((resolve) => {
      pending.push(resolve);
      child.send(message);
    });
  return {
    call: (x) => send(x),
    echo: (bytes) => send(bytes),
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
    settings: "child_process.fork(), serialization: 'advanced', process.send echo",
    version: process.version,
  };
}
