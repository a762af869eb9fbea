/**
 * `spawn`: one stateful object in a dedicated worker thread or child process, behind a typed
 * async proxy. `close` ends it.
 */
import { KeelError, atCallSite, invalidArgument } from '../../errors.js';
import { moduleHref, type ModuleRef } from '../module-ref.js';
import { RemoteController } from './remote-controller.js';
import type { FactoryArgs, FactoryName, FactoryProduct, Remote } from './remote-types.js';
import { spawnSettings, type SpawnOptions } from './spawn-options.js';

const kController = Symbol('keel.remote');

/**
 * Builds an object in a dedicated worker (or child process) and returns a proxy to it: methods
 * become async methods, attributes awaitables, calls run one at a time in call order.
 *
 * With a factory, the export `factory` is called once in the worker with `args` (it may be
 * async); its failure rejects with ERR_START_FAILED carrying the original error as `cause`.
 * Without one, the module namespace itself is the object.
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
    const factory = typeof second === 'string' ? second : undefined;
    const options = typeof second === 'string' || second === undefined ? fourth : second;
    const args = third ?? [];
    if (!Array.isArray(args)) throw invalidArgument('args', 'an array', args);
    const controller = new RemoteController(spawnSettings(options), href, factory, args);
    await controller.started();
    return createRemote(controller);
  } catch (error) {
    throw atCallSite(error, spawn);
  }
}

/**
 * Ends a remote: pending calls finish, the object's `[Symbol.asyncDispose]` (or
 * `[Symbol.dispose]`) runs, the worker exits. After `timeoutMs` (default 10 000) it is killed and
 * unfinished calls reject with ERR_CLOSED. Later calls reject with ERR_CLOSED.
 */
export async function close(
  remote: Remote<unknown>,
  options: { readonly timeoutMs?: number } = {},
): Promise<void> {
  const controller = (remote as unknown as Record<symbol, unknown>)[kController];
  if (!(controller instanceof RemoteController))
    throw invalidArgument('remote', 'a remote returned by spawn', remote);
  await controller.close(options.timeoutMs);
}

function createRemote(controller: RemoteController): Remote<unknown> {
  const members = new Map<string, unknown>();
  const dispose = () => controller.close();
  return new Proxy(Object.create(null) as Remote<unknown>, {
    get(_target, property) {
      if (property === kController) return controller;
      if (property === Symbol.asyncDispose) return dispose;
      // Not thenable: `await spawn(...)` must yield the proxy itself.
      if (typeof property !== 'string' || property === 'then') return undefined;
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
