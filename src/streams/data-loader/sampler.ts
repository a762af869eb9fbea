/**
 * Which indices an epoch visits, in which order, cut into batches and chunks. The shuffle is a
 * seeded Fisher–Yates over a small PRNG of our own (xoshiro128** seeded by splitmix32), so the
 * same seed and epoch give the same order on every platform and Node version, and therefore on
 * every rank of a distributed run: each rank then keeps its own shard of that one order
 * (PyTorch's DistributedSampler rule).
 */

import { totalmem } from 'node:os';
import { KeelError } from '../../errors.js';

/** One epoch's plan: the visiting order and how it is cut. */
export interface EpochPlan {
  /** The indices this rank visits, in order: with one rank, every index of the dataset once. */
  readonly order: Uint32Array;
  readonly batchSize: number;
  readonly chunkSize: number;
  /** Batches in this epoch (the last may be partial unless dropLast). */
  readonly batchCount: number;
}

export interface PlanSettings {
  readonly batchSize: number;
  readonly chunkSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** This process's shard, 0 to `worldSize - 1`. */
  readonly rank: number;
  /** Processes that share the dataset, each loading its own shard; 1 for the whole dataset. */
  readonly worldSize: number;
}

/**
 * Most items a dataset may have: indices travel as a Uint32Array, and an epoch's order holds one
 * per item, so at most a quarter of this machine's memory goes to it (a dataset claiming 2^32
 * items would otherwise allocate 16 GiB and block the event loop filling it).
 */
export const kMaxDatasetLength = Math.min(2 ** 32 - 1, Math.floor(totalmem() / 16));

export function planEpoch(length: number, epoch: number, settings: PlanSettings): EpochPlan {
  if (length > kMaxDatasetLength) {
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      `the dataset's length must be at most ${kMaxDatasetLength} on this machine (an epoch's ` +
        `order takes 4 bytes an item, at most a quarter of its memory), got ${length}`,
    );
  }
  const whole = new Uint32Array(length);
  for (let index = 0; index < length; index++) whole[index] = index;
  if (settings.shuffle) shuffleInPlace(whole, new Random(settings.seed, epoch));
  const order = settings.worldSize === 1 ? whole : shardOf(whole, settings);
  const { batchSize, chunkSize } = settings;
  return {
    order,
    batchSize,
    chunkSize,
    batchCount: batchCountOf(order.length, batchSize, settings.dropLast),
  };
}

/**
 * Items each rank visits per epoch: the same on every rank, so that ranks stepping in lockstep
 * (one gradient all-reduce per batch) run out together. dropLast cuts the tail that does not
 * divide evenly; otherwise the shards are padded up to the next multiple of `worldSize`.
 */
export function shardLengthOf(length: number, settings: ShardSettings): number {
  const { worldSize, dropLast } = settings;
  if (worldSize === 1) return length;
  return dropLast ? Math.floor(length / worldSize) : Math.ceil(length / worldSize);
}

type ShardSettings = Pick<PlanSettings, 'rank' | 'worldSize' | 'dropLast'>;

/**
 * This rank's shard of an epoch's order: positions rank, rank + worldSize, ... of the order,
 * padded by repeating the order from its start (more than once for a dataset smaller than the
 * world). Strided rather than contiguous so that every shard samples the whole order.
 */
function shardOf(whole: Uint32Array, settings: ShardSettings): Uint32Array {
  const shard = new Uint32Array(whole.length === 0 ? 0 : shardLengthOf(whole.length, settings));
  for (let slot = 0; slot < shard.length; slot++) {
    shard[slot] = whole[(settings.rank + slot * settings.worldSize) % whole.length]!;
  }
  return shard;
}

/** Batches an epoch over `length` items has. */
export function batchCountOf(length: number, batchSize: number, dropLast: boolean): number {
  return dropLast ? Math.floor(length / batchSize) : Math.ceil(length / batchSize);
}

/** The chunks of batch `batch`, each a list of dataset indices, in order. */
export function chunksOf(plan: EpochPlan, batch: number): Uint32Array[] {
  const start = batch * plan.batchSize;
  const end = Math.min(start + plan.batchSize, plan.order.length);
  const chunks: Uint32Array[] = [];
  for (let from = start; from < end; from += plan.chunkSize) {
    chunks.push(plan.order.slice(from, Math.min(from + plan.chunkSize, end)));
  }
  return chunks;
}

/** Fisher–Yates: every permutation equally likely, given an unbiased `below`. */
function shuffleInPlace(order: Uint32Array, random: Random): void {
  for (let last = order.length - 1; last > 0; last--) {
    const pick = random.below(last + 1);
    const held = order[last]!;
    order[last] = order[pick]!;
    order[pick] = held;
  }
}

/**
 * xoshiro128**: 128 bits of state, 32-bit outputs, fast in plain integer JavaScript. The state
 * comes from splitmix32 over the seed's two 32-bit halves and the epoch, so nearby seeds and
 * consecutive epochs give unrelated orders.
 */
export class Random {
  readonly #state = new Uint32Array(4);

  constructor(seed: number, epoch: number) {
    let mix = splitmix32(lowWord(seed) ^ 0x5eed5eed);
    mix = splitmix32(mix ^ highWord(seed));
    mix = splitmix32(mix ^ lowWord(epoch));
    mix = splitmix32(mix ^ highWord(epoch));
    for (let word = 0; word < 4; word++) {
      mix = splitmix32(mix + word);
      this.#state[word] = mix;
    }
    // An all-zero state would stay zero forever.
    if (this.#state.every((word) => word === 0)) this.#state[0] = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const state = this.#state;
    const result = Math.imul(rotateLeft(Math.imul(state[1]!, 5), 7), 9) >>> 0;
    const shifted = state[1]! << 9;
    state[2]! ^= state[0]!;
    state[3]! ^= state[1]!;
    state[1]! ^= state[2]!;
    state[0]! ^= state[3]!;
    state[2]! ^= shifted;
    state[3] = rotateLeft(state[3]!, 11);
    return result;
  }

  /** A uniform integer in [0, bound), bound <= 2^32, without modulo bias (rejection). */
  below(bound: number): number {
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % bound;
    }
  }
}

function splitmix32(input: number): number {
  let z = (input + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotateLeft(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}

function lowWord(value: number): number {
  return Number(BigInt.asUintN(32, BigInt(value)));
}

function highWord(value: number): number {
  return Number(BigInt.asUintN(32, BigInt(value) >> 32n));
}
