/**
 * The types of a remote object. Type tests: test/types.test.ts (compiled by `npm run typecheck`).
 */

/**
 * `T` seen from the caller: every method becomes an async method with the same parameters and
 * the awaited result; every other (string-keyed) attribute becomes an awaitable of its value.
 * `then` is left out on purpose: a remote is never thenable, so `await spawn(...)` yields it.
 * So is `toJSON`, which JSON.stringify would call: `JSON.stringify(remote)` gives `{}`.
 *
 * @example
 * const policy: Remote<Policy> = await spawn(...);
 * const action = await policy.act(observation);   // method
 * const calls = await policy.calls;               // attribute
 */
export type Remote<T> = {
  readonly [
    K in keyof T as K extends string ? (K extends 'then' | 'toJSON' ? never : K) : never
  ]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : PromiseLike<Awaited<T[K]>>;
} & AsyncDisposable;

/** The exports of `M` that can build a remote object (functions). */
export type FactoryName<M> = {
  [K in keyof M]: M[K] extends (...args: never[]) => unknown ? K : never;
}[keyof M] &
  string;

/** What a factory export builds, once awaited. */
export type FactoryProduct<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** The arguments of a factory export. */
export type FactoryArgs<F> = F extends (...args: infer A) => unknown ? A : never;
