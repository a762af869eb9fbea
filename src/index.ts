/**
 * keel: keep a Node.js event loop real-time while heavy work runs beside it.
 * Every public name is listed here.
 */
export { KeelError, type KeelErrorCode } from './errors.js';
export type { ModuleRef } from './execution/module-ref.js';
export { Pool, type AsyncFunction, type PoolModule } from './execution/pool/pool.js';
export type { PoolOptions, PoolStats, RunOptions } from './execution/pool/pool-options.js';
export { asyncify, type Asyncified, type AsyncifyOptions } from './execution/asyncify.js';
export type { PercentileSummary } from './metrics/histogram.js';
export { spawn, close } from './execution/spawn/spawn.js';
export type {
  Remote,
  FactoryName,
  FactoryArgs,
  FactoryProduct,
} from './execution/spawn/remote-types.js';
export type { SpawnOptions } from './execution/spawn/spawn-options.js';
export { Arena, ArenaUnit, release, keep } from './memory/arena/index.js';
export type {
  ArenaOptions,
  ArenaShared,
  ArenaStats,
  ArenaWaitOptions,
  ArenaEnvelope,
  ArenaTicket,
  ArenaViewConstructor,
  HoldTicket,
} from './memory/arena/index.js';
export { SharedObject, reviveSharedObjects } from './memory/shared-object/index.js';
export type {
  ChangedOptions,
  ClonedSharedObject,
  Shareable,
  SharedLeaf,
  SharedObjectOptions,
  SharedValue,
  Widen,
} from './memory/shared-object/index.js';
export { iterateInWorker } from './streams/iterate-in-worker.js';
export type { StreamItem, StreamName, WorkerIterator } from './streams/iterate-in-worker.js';
export type { IterateInWorkerOptions } from './streams/stream-options.js';
export { DataLoader, type EpochIterator } from './streams/data-loader/data-loader.js';
export { defaultCollate, type Collated } from './streams/data-loader/collate.js';
export type { DType, Tensor, TypedArray } from './streams/data-loader/tensors.js';
export type {
  CollateOption,
  DataLoaderOptions,
  DatasetOption,
  ModuleExport,
} from './streams/data-loader/options.js';
export { monitorLoop, RealtimeLoop, type LoopMonitor } from './realtime/index.js';
export type {
  LoopMonitorStats,
  MonitorLoopOptions,
  RealtimeLoopOptions,
  RealtimeLoopStats,
  StopLoopOptions,
  WorkerLoopOptions,
} from './realtime/index.js';
