/**
 * bullmq and ioredis: keel/queue's optional peer dependencies, loaded here and nowhere else.
 * `import 'keel'` never reaches this file; `import 'keel/queue'` without them installed fails
 * here, with the command that installs them, instead of with Node's bare "Cannot find package".
 */
import type * as BullMQ from 'bullmq';
import type * as IORedis from 'ioredis';
import { KeelError } from '../errors.js';

const kInstall = 'npm install bullmq ioredis';

async function loadPeer<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    const missing =
      (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' &&
      (error as Error).message.includes(`'${name}'`);
    if (!missing) throw error;
    throw new KeelError(
      'ERR_NOT_FOUND',
      `keel/queue needs the packages bullmq and ioredis (optional peer dependencies of keel, ` +
        `not installed with it): ${name} is missing. Install them with: ${kInstall}`,
      { cause: error },
    );
  }
}

const bullmq = await loadPeer<typeof BullMQ>('bullmq');
const ioredis = await loadPeer<typeof IORedis>('ioredis');

export const { Queue, Worker } = bullmq;
export const { Redis } = ioredis;

export type BullQueue = BullMQ.Queue;
export type BullWorker = BullMQ.Worker;
export type BullJob = BullMQ.Job;
export type RedisClient = IORedis.Redis;
export type RedisClientOptions = IORedis.RedisOptions;
