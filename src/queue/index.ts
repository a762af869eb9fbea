/**
 * `keel/queue`: keel's Pool across machines, on BullMQ and Redis. A second entry point, so that
 * `import 'keel'` never loads bullmq or ioredis (optional peer dependencies: importing this
 * entry point without them fails with the command that installs them).
 *
 * @module
 */
export { QueuePool } from './queue-pool.js';
export { serveQueue, QueueWorker, type QueueWorkerStats } from './serve-queue.js';
export type {
  QueueCloseOptions,
  QueuePoolOptions,
  QueuePoolStats,
  QueueRunOptions,
  ServeQueueOptions,
} from './queue-options.js';
