/**
 * What `Pool` and keel/queue's `QueuePool` share at their front: the checks of `run`'s
 * arguments and the typed module proxy of `module()`, whatever carries the call.
 */
import { invalidArgument } from '../../errors.js';
import type { PoolModule } from './pool.js';

export function checkExportName(exportName: unknown): asserts exportName is string {
  if (typeof exportName !== 'string' || exportName.length === 0) {
    throw invalidArgument('exportName', 'a non-empty string', exportName);
  }
}

export function checkArgs(args: unknown): readonly unknown[] {
  if (!Array.isArray(args)) throw invalidArgument('args', 'an array', args);
  return args;
}

/**
 * Refuses a second argument to `module()` (`method` names it in the message): per-call options
 * are `run`'s, and a silently ignored `{ timeoutMs }` there would be a trap.
 */
export function refuseModuleOptions(method: string, extra: readonly unknown[]): void {
  if (extra.length > 0) {
    throw invalidArgument(
      method,
      "called with one argument (per-call options are run's)",
      extra[0],
    );
  }
}

/**
 * Every export of a module as an async function that calls `run(exportName, args)`, made once
 * per name. Not thenable, so that it can be returned from async functions.
 */
export function moduleProxy<M>(
  run: (exportName: string, args: unknown[]) => Promise<unknown>,
): PoolModule<M> {
  const functions = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy({} as PoolModule<M>, {
    get: (_target, property) => {
      if (typeof property !== 'string' || property === 'then') return undefined;
      let fn = functions.get(property);
      if (!fn) {
        fn = (...args: unknown[]) => run(property, args);
        functions.set(property, fn);
      }
      return fn;
    },
  });
}
