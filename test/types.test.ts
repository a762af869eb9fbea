// Type tests: compiled by `npm run typecheck`; the runtime part only checks they were loaded.
import { test } from 'node:test';
import { expectTypeOf } from 'expect-type';
import type {
  Asyncified,
  PoolModule,
  Remote,
  StreamItem,
  StreamName,
  WorkerIterator,
  iterateInWorker,
} from 'keel';

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

test('StreamItem and StreamName type iterateInWorker from the module', () => {
  interface Camera {
    frames(fps: number): Generator<Uint8Array, void>;
    events(): AsyncGenerator<{ kind: string }, void>;
    later(): Promise<number[]>;
    promises(): Generator<Promise<string>>;
    snapshot(): Uint8Array;
    version: string;
  }
  expectTypeOf<StreamItem<Camera['frames']>>().toEqualTypeOf<Uint8Array>();
  expectTypeOf<StreamItem<Camera['events']>>().toEqualTypeOf<{ kind: string }>();
  expectTypeOf<StreamItem<Camera['later']>>().toEqualTypeOf<number>();
  expectTypeOf<StreamItem<Camera['promises']>>().toEqualTypeOf<string>();
  // A typed array is iterable (of numbers): snapshot qualifies; a non-function does not.
  expectTypeOf<StreamName<Camera>>().toEqualTypeOf<
    'frames' | 'events' | 'later' | 'promises' | 'snapshot'
  >();
  type Typed = ReturnType<typeof iterateInWorker<Camera, 'frames'>>;
  expectTypeOf<Typed>().toEqualTypeOf<WorkerIterator<Uint8Array>>();
  expectTypeOf<Parameters<typeof iterateInWorker<Camera, 'frames'>>[2]>().toEqualTypeOf<
    [fps: number] | undefined
  >();
  expectTypeOf<WorkerIterator<Uint8Array>['next']>().returns.resolves.toEqualTypeOf<
    IteratorResult<Uint8Array, undefined>
  >();
  expectTypeOf<WorkerIterator<Uint8Array>>().toExtend<AsyncIterable<Uint8Array>>();
  expectTypeOf<WorkerIterator<Uint8Array>>().toExtend<AsyncDisposable>();
});
