/**
 * `spawn`: one stateful object in a dedicated worker thread or child process, behind a typed
 * async proxy. `close` ends it.
 */
import { KeelError, abortReason, atCallSite, invalidArgument } from '../../errors.js';
import { closeOwnedArena } from '../arena-option.js';
import { moduleHref, type ModuleRef } from '../module-ref.js';
import { RemoteController } from './remote-controller.js';
import type { SchedulingReport } from '../../platform/scheduling.js';
import type { FactoryArgs, FactoryName, FactoryProduct, Remote } from './remote-types.js';
import {
  closeTimeoutMs,
  spawnSettings,
  type RemoteCloseOptions,
  type SpawnOptions,
} from './spawn-options.js';

const kController = Symbol('keel.remote');

/**
 * Builds an object in a dedicated worker (or child process) and returns a proxy to it: methods
 * become async methods, attributes awaitables, calls run one at a time in call order.
 *
 * With a factory, the export `factory` is called once in the worker with `args` (it may be
 * async); its failure rejects with ERR_START_FAILED carrying the original error as `cause`.
 * Without one, the module namespace itself is the object.
 *
 * Every option is checked before anything starts: an unknown key or a bad value rejects with
 * ERR_INVALID_ARGUMENT. A worker that cannot start (Node refuses a flag, the child dies at
 * boot, the module exits) rejects with ERR_START_FAILED, carrying a child's last stderr lines;
 * `startTimeoutMs` (default: none) kills a start that hangs and rejects with ERR_TIMEOUT.
 *
 * @example
 * const policy = await spawn<typeof import('./policy.js'), 'makePolicy'>(policyUrl, 'makePolicy', [checkpoint]);
 * await policy.reset(seed);
 * const timing = await policy.lastTiming;
 * await close(policy);
 */
export function spawn<M, K extends FactoryName<M>>(
  moduleRef: ModuleRef,
  factory: K,
  args?: FactoryArgs<M[K]>,
  options?: SpawnOptions,
): Promise<Remote<FactoryProduct<M[K]>>>;
export function spawn<M>(moduleRef: ModuleRef, options?: SpawnOptions): Promise<Remote<M>>;
export async function spawn(
  moduleRef: ModuleRef,
  second?: string | SpawnOptions,
  third?: readonly unknown[],
  fourth?: SpawnOptions,
): Promise<unknown> {
  try {
    const href = moduleHref(moduleRef);
    const { factory, args, options } = spawnArguments(second, third, fourth);
    const settings = spawnSettings(options);
    // Already aborted: nothing is started only to be killed.
    if (settings.signal?.aborted) {
      closeOwnedArena(settings);
      throw abortReason(settings.signal);
    }
    const controller = new RemoteController(settings, href, factory, args);
    await controller.started();
    return createRemote(controller);
  } catch (error) {
    throw atCallSite(error, spawn);
  }
}

/**
 * Sorts out the two call forms, `(ref, factory, args?, options?)` and `(ref, options?)`, and
 * refuses what fits neither: arguments that would be silently ignored, or a factory name that
 * is not a name.
 */
function spawnArguments(
  second: unknown,
  third: unknown,
  fourth: unknown,
): { factory: string | undefined; args: readonly unknown[]; options: unknown } {
  if (typeof second === 'string') {
    if (second.length === 0) throw invalidArgument('factory', 'the name of an export', second);
    const args = third ?? [];
    if (!Array.isArray(args)) throw invalidArgument('args', 'an array', args);
    return { factory: second, args, options: fourth };
  }
  if (second !== undefined && (typeof second !== 'object' || second === null)) {
    throw invalidArgument(
      'the second argument',
      'a factory name (a string) or the options object',
      second,
    );
  }
  // `spawn(ref, undefined, [], options)` still means "no factory"; arguments do not.
  if (third !== undefined && !(Array.isArray(third) && third.length === 0)) {
    throw invalidArgument(
      'args',
      'absent without a factory (name the factory export that takes them: ' +
        'spawn(moduleRef, factory, args, options))',
      third,
    );
  }
  if (second !== undefined && fourth !== undefined) {
    throw invalidArgument('options', 'given once (spawn(moduleRef, options))', fourth);
  }
  return { factory: undefined, args: [], options: second ?? fourth };
}

/**
 * Ends a remote: pending calls finish, the object's `[Symbol.asyncDispose]` (or
 * `[Symbol.dispose]`) runs, the worker exits. After `timeoutMs` (default 10 000; `Infinity`:
 * never) it is killed and unfinished calls reject with ERR_CLOSED. Later calls reject with
 * ERR_CLOSED. Closing again, or closing a remote that died, resolves once it is gone.
 * Rejects with ERR_INVALID_ARGUMENT for anything but a remote of `spawn` and for bad options.
 *
 * @example
 * await close(policy, { timeoutMs: 2000 });
 */
export async function close(remote: Remote<unknown>, options?: RemoteCloseOptions): Promise<void> {
  try {
    const controller = controllerOf(remote);
    if (!controller) throw invalidArgument('remote', 'a remote returned by spawn', remote);
    await controller.close(closeTimeoutMs(options));
  } catch (error) {
    throw atCallSite(error, close);
  }
}

/**
 * What the OS applied to a remote's worker thread (or, for `kind: 'process'`, its child's main
 * thread) when spawn was given `priority` or `cpus`: policy, realtime priority, nice, CPUs, and
 * whether it fell back (`priorityFallback: 'normal'`). Undefined when neither was given. A
 * function beside the remote, like `close`: every property of the remote itself is the
 * object's. Throws ERR_INVALID_ARGUMENT for anything but a remote of `spawn`.
 *
 * @example
 * const policy = await spawn(policyUrl, 'makePolicy', [], { priority: 'background' });
 * scheduling(policy); // { policy: 'idle', priority: 0, nice: 0, cpus: [0, 1], fallback: false, ... }
 */
export function scheduling(remote: Remote<unknown>): SchedulingReport | undefined {
  const controller = controllerOf(remote);
  if (!controller) throw invalidArgument('remote', 'a remote returned by spawn', remote);
  return controller.scheduling;
}

/** The controller behind a remote; undefined for anything else (null, numbers, other proxies). */
function controllerOf(remote: unknown): RemoteController | undefined {
  if ((typeof remote !== 'object' && typeof remote !== 'function') || remote === null) {
    return undefined;
  }
  const controller = (remote as Record<symbol, unknown>)[kController];
  return controller instanceof RemoteController ? controller : undefined;
}

/** Names the runtime itself looks up on any object; the proxy never forwards them. */
const kNotForwarded = new Set(['then', 'toJSON']);

function remoteToPrimitive(): string {
  return '[keel Remote]';
}

function createRemote(controller: RemoteController): Remote<unknown> {
  const members = new Map<string, unknown>();
  const dispose = () => controller.close();
  return new Proxy(Object.create(null) as Remote<unknown>, {
    get(_target, property) {
      if (property === kController) return controller;
      if (property === Symbol.asyncDispose) return dispose;
      // `${remote}` and String(remote) must not call the worker's toString or valueOf: a
      // rejection nobody awaits would crash the process.
      if (property === Symbol.toPrimitive) return remoteToPrimitive;
      // Not thenable: `await spawn(...)` must yield the proxy itself. Not `toJSON` either:
      // JSON.stringify(remote), as a logger might do, would call the worker the same way.
      if (typeof property !== 'string' || kNotForwarded.has(property)) return undefined;
      let member = members.get(property);
      if (!member) {
        member = remoteMember(controller, property);
        members.set(property, member);
      }
      return member;
    },
    set(_target, property) {
      throw new KeelError(
        'ERR_INVALID_ARGUMENT',
        `cannot assign ${String(property)} on a remote: call a method of the remote object instead`,
      );
    },
  });
}

/** A member is callable (a method call) and thenable (an attribute read). */
function remoteMember(controller: RemoteController, name: string): unknown {
  const call = async (...args: unknown[]): Promise<unknown> => {
    try {
      return await controller.invoke('call', name, args);
    } catch (error) {
      throw atCallSite(error, call);
    }
  };
  const read = async (): Promise<unknown> => {
    try {
      return await controller.invoke('get', name, []);
    } catch (error) {
      throw atCallSite(error, read);
    }
  };
  Object.defineProperty(call, 'then', {
    value: (onFulfilled?: (value: unknown) => unknown, onRejected?: (reason: unknown) => unknown) =>
      read().then(onFulfilled, onRejected),
  });
  return call;
}
