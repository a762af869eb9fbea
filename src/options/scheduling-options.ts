/**
 * `priority`, `rtPriority`, `cpus` and `priorityFallback`: the scheduling options every API
 * that starts keel workers takes (Pool, spawn, iterateInWorker, DataLoader,
 * RealtimeLoop.inWorker). One check, one wording; the worker applies the result in its boot
 * (platform/scheduling.ts). Shared by both sides.
 */
import { cpus as machineCpus, availableParallelism } from 'node:os';
import { invalidArgument } from '../errors.js';
import { checkInteger } from './checks.js';
import type { SchedulingPriority, SchedulingRequest } from '../platform/scheduling.js';
import { requireScheduling } from '../platform/scheduling.js';
import type { OptionKeys } from './known-keys.js';

/** The scheduling options of a keel worker (docs/realtime.md, "Scheduling"). */
export interface SchedulingOptions {
  /**
   * The scheduling class of the worker's thread (of a child process: its main thread), applied
   * before user code runs: `'realtime'` (SCHED_FIFO at `rtPriority`), `'normal'` (SCHED_OTHER)
   * or `'background'` (SCHED_IDLE; nice 19 where that is refused). Default: the class the
   * thread inherits (normal). Needs keel's native layer (else ERR_UNSUPPORTED); a class the OS
   * refuses fails the start with ERR_PERMISSION, unless `priorityFallback: 'normal'`.
   */
  readonly priority?: SchedulingPriority;
  /** SCHED_FIFO priority of `priority: 'realtime'`, an integer from 1 to 99. Default 80. */
  readonly rtPriority?: number;
  /**
   * The CPUs the worker's thread may run on: distinct indices of this machine's CPUs, at least
   * one (`[1]` pins it to CPU 1). Default: all the process may use. Needs keel's native layer.
   */
  readonly cpus?: readonly number[];
  /**
   * `'normal'`: when the OS refuses `priority`, run at normal priority instead of failing the
   * start; `scheduling()` reports `fallback: true` and the reason. Default: fail with
   * ERR_PERMISSION.
   */
  readonly priorityFallback?: 'normal';
}

/** The keys of SchedulingOptions, spread into each API's own key list. */
export const kSchedulingKeys: OptionKeys<SchedulingOptions> = {
  priority: true,
  rtPriority: true,
  cpus: true,
  priorityFallback: true,
};

/** SCHED_FIFO priority when `rtPriority` is not given: above most system threads, below 99. */
export const kDefaultRtPriority = 80;

/**
 * Validates the scheduling options; undefined when none asks for anything. Bad values are
 * ERR_INVALID_ARGUMENT; a valid `priority` or `cpus` without keel's native layer (or with a
 * build that lacks scheduling) is ERR_UNSUPPORTED naming the reason.
 */
export function schedulingRequest(options: SchedulingOptions): SchedulingRequest | undefined {
  const priority = checkPriority(options.priority);
  const rtPriority = checkRtPriority(options.rtPriority, priority);
  const cpus = checkCpus(options.cpus);
  const fallbackToNormal = checkFallback(options.priorityFallback, priority);
  if (priority === undefined && cpus === undefined) return undefined;
  requireScheduling();
  return { priority, rtPriority, cpus, fallbackToNormal };
}

/** The scheduling options among `options`, for an API that hands them on (DataLoader -> spawn). */
export function pickSchedulingOptions(options: SchedulingOptions): SchedulingOptions {
  const { priority, rtPriority, cpus, priorityFallback } = options;
  return {
    ...(priority === undefined ? {} : { priority }),
    ...(rtPriority === undefined ? {} : { rtPriority }),
    ...(cpus === undefined ? {} : { cpus }),
    ...(priorityFallback === undefined ? {} : { priorityFallback }),
  };
}

function checkPriority(priority: unknown): SchedulingPriority | undefined {
  if (priority === undefined) return undefined;
  if (priority !== 'realtime' && priority !== 'normal' && priority !== 'background') {
    throw invalidArgument('priority', "'realtime', 'normal' or 'background'", priority);
  }
  return priority;
}

function checkRtPriority(rtPriority: unknown, priority: SchedulingPriority | undefined): number {
  if (rtPriority === undefined) return kDefaultRtPriority;
  const checked = checkInteger('rtPriority', rtPriority, 1, 99);
  // A realtime priority on a thread that is not realtime would be silently ignored.
  if (priority !== 'realtime') {
    throw invalidArgument('rtPriority', "given only with priority: 'realtime'", checked);
  }
  return checked;
}

/** How many CPUs this machine has: indices 0 to this - 1 exist. */
function cpuCount(): number {
  return Math.max(machineCpus().length, availableParallelism());
}

function checkCpus(cpus: unknown): readonly number[] | undefined {
  if (cpus === undefined) return undefined;
  const count = cpuCount();
  const expected = `a non-empty array of distinct CPU indices from 0 to ${count - 1}`;
  if (!Array.isArray(cpus) || cpus.length === 0 || cpus.length > count) {
    throw invalidArgument('cpus', expected, cpus);
  }
  const seen = new Set<number>();
  for (const [index, cpu] of (cpus as unknown[]).entries()) {
    if (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu < 0 || cpu >= count) {
      throw invalidArgument(`cpus[${index}]`, `a CPU index from 0 to ${count - 1}`, cpu);
    }
    if (seen.has(cpu)) throw invalidArgument(`cpus[${index}]`, 'a CPU not listed before', cpu);
    seen.add(cpu);
  }
  return [...seen];
}

function checkFallback(fallback: unknown, priority: SchedulingPriority | undefined): boolean {
  if (fallback === undefined) return false;
  if (fallback !== 'normal') throw invalidArgument('priorityFallback', "'normal'", fallback);
  if (priority === undefined) {
    throw invalidArgument('priorityFallback', 'given only with priority', fallback);
  }
  return true;
}
