/**
 * Thread scheduling: a scheduling class and a CPU affinity for the calling thread, and what the
 * OS applied, read back. The one module over native/scheduling.cc. Every keel worker applies
 * its caller's request here in its own boot, before user code runs (worker/boot-scheduling.ts):
 * Linux applies a class to one thread, and only the thread itself knows it is the one.
 * Shared by both sides.
 */
import { readFileSync } from 'node:fs';
import { KeelError } from '../errors.js';
import { nativeErrorCode, nativeStatus, requireNative, type NativeBinding } from './native.js';

/** A thread's scheduling class, as keel's options name it. */
export type SchedulingPriority = 'realtime' | 'normal' | 'background';

/** A Linux scheduling policy: SCHED_FIFO is `'fifo'`, SCHED_OTHER `'other'`, SCHED_IDLE `'idle'`. */
export type SchedulingPolicy = 'fifo' | 'other' | 'idle' | 'rr' | 'batch' | 'deadline' | 'unknown';

/** What a worker is asked to apply, checked on the caller's side (options/scheduling-options.ts). */
export interface SchedulingRequest {
  /** Undefined: the class is left as the thread inherited it (only `cpus` is applied). */
  readonly priority: SchedulingPriority | undefined;
  /** SCHED_FIFO priority for `'realtime'`, 1 to 99. */
  readonly rtPriority: number;
  readonly cpus: readonly number[] | undefined;
  /** `priorityFallback: 'normal'`: a refused class runs at normal priority instead of failing. */
  readonly fallbackToNormal: boolean;
}

/**
 * What the OS applied to a keel worker's thread (or a child process's main thread), read back
 * from the kernel once its boot applied `priority` and `cpus`.
 *
 * @example
 * loop.scheduling();
 * // { policy: 'fifo', priority: 80, nice: 0, cpus: [1], requested: 'realtime', fallback: false, pid: 4242, tid: 4250 }
 */
export interface SchedulingReport {
  /** The policy in force: `'fifo'` (realtime), `'other'` (normal) or `'idle'` (background). */
  readonly policy: SchedulingPolicy;
  /** The realtime priority (1 to 99 under `'fifo'`, 0 otherwise). */
  readonly priority: number;
  /** The nice value (-20 to 19; what `'other'` threads share the CPU by). */
  readonly nice: number;
  /** The CPUs the thread may run on. */
  readonly cpus: readonly number[];
  /** The `priority` option that was given (absent when only `cpus` was). */
  readonly requested?: SchedulingPriority;
  /**
   * True when the OS refused the requested class and the thread runs at another: normal
   * priority under `priorityFallback: 'normal'`, or nice 19 where SCHED_IDLE was refused.
   */
  readonly fallback: boolean;
  /** Why it fell back: the refusal and how to grant the class (present when `fallback`). */
  readonly reason?: string;
  /** The process the thread belongs to. */
  readonly pid: number;
  /** The thread's id (`/proc/<pid>/task/<tid>`). */
  readonly tid: number;
}

/** What `priority` and `cpus` need; the message of ERR_UNSUPPORTED names it. */
const kFeature = 'priority and cpus (thread scheduling)';

/**
 * The addon with its scheduling functions, or ERR_UNSUPPORTED naming why there is none: no
 * addon at all, or a build older than them (a stale prebuild).
 */
export function requireScheduling(): NativeBinding {
  const binding = requireNative(kFeature);
  if (!nativeStatus().features.scheduling) {
    throw new KeelError(
      'ERR_UNSUPPORTED',
      `${kFeature} needs a build of keel's native addon that has it; this one does not: ` +
        'run `npm rebuild keel` to build the current one',
    );
  }
  return binding;
}

/**
 * Applies `request` to the calling thread, then reads back what the OS applied. Throws
 * `KeelError` ERR_PERMISSION (saying how to grant the class) when the OS refuses it and
 * `fallbackToNormal` is false; ERR_INVALID_ARGUMENT when none of `cpus` is a CPU this process
 * may use. Blocks for a few system calls.
 */
export function applyScheduling(request: SchedulingRequest): SchedulingReport {
  const binding = requireScheduling();
  if (request.cpus) setAffinity(binding, request.cpus);
  const outcome = request.priority ? setPriority(binding, request) : { fallback: false };
  const applied = binding.threadScheduling(0);
  return {
    policy: applied.policy,
    priority: applied.rtPriority,
    nice: applied.nice,
    cpus: applied.cpus,
    ...(request.priority ? { requested: request.priority } : {}),
    fallback: outcome.fallback,
    ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    pid: process.pid,
    tid: applied.tid,
  };
}

function setAffinity(binding: NativeBinding, cpus: readonly number[]): void {
  try {
    binding.setThreadAffinity(cpus);
  } catch (error) {
    if (nativeErrorCode(error) !== 'EINVAL') throw failed('cpus', error);
    const allowed = binding.threadScheduling(process.pid).cpus;
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      `cpus must include a CPU this process may run on (${allowed.join(', ')}), got [${cpus.join(', ')}]`,
    );
  }
}

interface PriorityOutcome {
  readonly fallback: boolean;
  readonly reason?: string;
}

function setPriority(binding: NativeBinding, request: SchedulingRequest): PriorityOutcome {
  const priority = request.priority as SchedulingPriority;
  try {
    if (priority === 'realtime') binding.setThreadScheduling('fifo', request.rtPriority, 0);
    else if (priority === 'normal') setNormal(binding);
    else if (binding.setThreadScheduling('idle', 0, 0) === 'nice') {
      return {
        fallback: true,
        reason: 'SCHED_IDLE was refused by the OS: the thread runs at nice 19',
      };
    }
    return { fallback: false };
  } catch (error) {
    if (nativeErrorCode(error) !== 'EPERM') throw failed('priority', error);
    if (!request.fallbackToNormal) {
      throw new KeelError('ERR_PERMISSION', refusalMessage(priority, request.rtPriority, true));
    }
    if (priority !== 'normal') tryNormal(binding);
    return { fallback: true, reason: refusalMessage(priority, request.rtPriority, false) };
  }
}

/** SCHED_OTHER at the nice value of the process's main thread: what a fresh thread would get. */
function setNormal(binding: NativeBinding): void {
  const { nice } = binding.threadScheduling(process.pid);
  binding.setThreadScheduling('other', 0, nice);
}

/** The fallback of a refused class; a thread that cannot even return to normal stays as it is. */
function tryNormal(binding: NativeBinding): void {
  try {
    setNormal(binding);
  } catch {
    // Reported as it is: scheduling() reads back what the thread runs at.
  }
}

function failed(option: string, error: unknown): KeelError {
  const message = error instanceof Error ? error.message : String(error);
  return new KeelError('ERR_START_FAILED', `the OS could not apply ${option}: ${message}`, {
    cause: error,
  });
}

/**
 * The ERR_PERMISSION message (and a fallback's reason): what was refused and the three ways to
 * grant it; `orFallback` adds the fourth way out, `priorityFallback: 'normal'`.
 */
export function refusalMessage(
  priority: SchedulingPriority,
  rtPriority: number,
  orFallback: boolean,
): string {
  const fallback = orFallback
    ? "; or pass priorityFallback: 'normal' to run at normal priority when it is refused"
    : '';
  if (priority === 'realtime') {
    return (
      `priority 'realtime' (SCHED_FIFO at rtPriority ${rtPriority}) was refused by the OS: ` +
      `this process has no CAP_SYS_NICE and its realtime priority limit (RLIMIT_RTPRIO) is ` +
      `${realtimeLimit()}. Grant it with \`ulimit -r ${rtPriority}\` in the shell that starts ` +
      `node (a hard limit set by root, e.g. \`rtprio ${rtPriority}\` in ` +
      '/etc/security/limits.conf), `sudo setcap cap_sys_nice+ep $(which node)`, or ' +
      `\`LimitRTPRIO=${rtPriority}\` in its systemd unit${fallback}`
    );
  }
  return (
    `priority '${priority}' was refused by the OS: leaving SCHED_IDLE or lowering the nice ` +
    'value needs CAP_SYS_NICE or a nice limit (RLIMIT_NICE). Grant it with `ulimit -e 40` in ' +
    'the shell that starts node, `sudo setcap cap_sys_nice+ep $(which node)`, or ' +
    `\`LimitNICE=40\` in its systemd unit${fallback}`
  );
}

/** RLIMIT_RTPRIO of this process as /proc says it ("0", "unlimited"), or "unknown". */
function realtimeLimit(): string {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    return /^Max realtime priority\s+(\S+)/m.exec(limits)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
