// Type tests: compiled by `npm run typecheck`; the runtime part only checks they were loaded.
import { test } from 'node:test';
import { expectTypeOf } from 'expect-type';
import type { Asyncified, PoolModule, Remote } from 'keel';

interface Model {
  readonly name: string;
  calls: number;
  forward(input: Float32Array): Float32Array;
  load(path: string, strict?: boolean): Promise<void>;
  then: number;
}

test('Remote<T> maps methods to async methods and attributes to awaitables', () => {
  expectTypeOf<Remote<Model>['forward']>().toEqualTypeOf<
    (input: Float32Array) => Promise<Float32Array>
  >();
  expectTypeOf<Remote<Model>['load']>().toEqualTypeOf<
    (path: string, strict?: boolean) => Promise<void>
  >();
  expectTypeOf<Remote<Model>['calls']>().toEqualTypeOf<PromiseLike<number>>();
  expectTypeOf<Remote<Model>['name']>().toEqualTypeOf<PromiseLike<string>>();
  // Never thenable, so `await spawn(...)` yields the proxy.
  expectTypeOf<Remote<Model>>().not.toHaveProperty('then');
  expectTypeOf<Remote<Model>>().toExtend<AsyncDisposable>();
});

test('PoolModule<M> keeps only functions, each async', () => {
  interface Work {
    heavy(n: number): number;
    fetchLater(id: string): Promise<{ id: string }>;
    version: string;
  }
  expectTypeOf<PoolModule<Work>['heavy']>().toEqualTypeOf<(n: number) => Promise<number>>();
  expectTypeOf<PoolModule<Work>['fetchLater']>().toEqualTypeOf<
    (id: string) => Promise<{ id: string }>
  >();
  expectTypeOf<PoolModule<Work>>().not.toHaveProperty('version');
});

test('Asyncified<F> is async and keeps the original as .sync', () => {
  type Square = (x: number) => number;
  expectTypeOf<Asyncified<Square>>().toBeCallableWith(3);
  expectTypeOf<ReturnType<Asyncified<Square>>>().toEqualTypeOf<Promise<number>>();
  expectTypeOf<Asyncified<Square>['sync']>().toEqualTypeOf<Square>();
});
