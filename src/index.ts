/**
 * keel: keep a Node.js event loop real-time while heavy work runs beside it.
 * Every public name is listed here.
 */
export { KeelError, type KeelErrorCode } from './errors.js';
export type { ModuleRef } from './execution/module-ref.js';
export { Pool, type AsyncFunction, type PoolModule } from './execution/pool/pool.js';
export type {
  PoolCloseOptions,
  PoolOptions,
  PoolStats,
  RunOptions,
} from './execution/pool/pool-options.js';
export { asyncify, type Asyncified, type AsyncifyOptions } from './execution/asyncify.js';
export type { PercentileSummary } from './metrics/histogram.js';
export { spawn, close, scheduling } from './execution/spawn/spawn.js';
export { move } from './values/move.js';
export type {
  Remote,
  FactoryName,
  FactoryArgs,
  FactoryProduct,
} from './execution/spawn/remote-types.js';
export type { RemoteCloseOptions, SpawnOptions } from './execution/spawn/spawn-options.js';
export { Arena, ArenaUnit, release, keep } from './memory/arena/index.js';
export type {
  ArenaOptions,
  ArenaShared,
  ArenaStats,
  ArenaWaitOptions,
  ArenaEnvelope,
  ArenaTicket,
  ArenaViewConstructor,
} from './memory/arena/index.js';
export { SharedObject, reviveSharedObjects } from './memory/shared-object/index.js';
export type {
  ChangedOptions,
  ClonedSharedObject,
  Shareable,
  SharedLeaf,
  SharedObjectInfo,
  SharedObjectOptions,
  SharedObjectScope,
  SharedValue,
  Widen,
} from './memory/shared-object/index.js';
export { iterateInWorker } from './streams/iterate-in-worker.js';
export type {
  ItemOf,
  StreamItem,
  StreamName,
  WorkerIterator,
} from './streams/iterate-in-worker.js';
export type { IterateInWorkerOptions } from './streams/stream-options.js';
export { pipeline, type PipelineBuilder, type ElementOf } from './streams/pipeline/builder.js';
export type { Pipeline } from './streams/pipeline/built-pipeline.js';
export {
  task,
  type PipelineTask,
  type TaskOptions,
  type TaskName,
  type TaskInput,
  type TaskOutput,
} from './streams/pipeline/task.js';
export type {
  PipeOptions,
  AggregateOptions,
  DisaggregateOptions,
  PipelineBuildOptions,
} from './streams/pipeline/pipeline-options.js';
export type { PipelineStageStats } from './streams/pipeline/stage-stats.js';
export type { ProgressOptions } from './streams/pipeline/progress-view.js';
export {
  DataLoader,
  type EpochIterator,
  type LoaderCloseOptions,
} from './streams/data-loader/data-loader.js';
export { defaultCollate, type Collated } from './tensors/collate.js';
export type { DType, Tensor, TypedArray } from './tensors/tensor.js';
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
export { nativeStatus, type NativeStatus } from './platform/native.js';
export type {
  SchedulingPolicy,
  SchedulingPriority,
  SchedulingReport,
} from './platform/scheduling.js';
export type { SchedulingOptions } from './options/scheduling-options.js';
