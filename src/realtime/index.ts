/**
 * The real-time tools' public surface, for src/index.ts to re-export by name.
 */
export { monitorLoop, type LoopMonitor } from './monitor-loop.js';
export { RealtimeLoop } from './realtime-loop.js';
export type { RealtimeLoopStats } from '../memory/loop-stats.js';
export type {
  LoopMonitorStats,
  MonitorLoopOptions,
  RealtimeLoopOptions,
  StopLoopOptions,
  WorkerLoopOptions,
} from './options.js';
