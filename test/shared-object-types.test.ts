// The types of SharedObject: create() infers the slot type from the initial value (widened),
// accepts interfaces, and refuses at compile time what a slot cannot hold. Checked by
// `tsc -p tsconfig.json`; the runtime part only proves the file loads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectTypeOf } from 'expect-type';
import { SharedObject } from '../dist/memory/shared-object/index.js';

interface Pose {
  xyz: Float64Array;
  label: string;
  stamp: { ns: bigint };
}

// Never called: these lines exist for the type checker.
function typeChecks(pose: Pose): void {
  expectTypeOf(SharedObject.create('a', true)).toEqualTypeOf<SharedObject<boolean>>();
  expectTypeOf(SharedObject.create('b', 5).fetch()).toEqualTypeOf<number>();
  expectTypeOf(SharedObject.create('c', 'text').fetch()).toEqualTypeOf<string>();
  expectTypeOf(SharedObject.create('d', null).fetch()).toEqualTypeOf<null>();
  expectTypeOf(SharedObject.create('e', new Float32Array(4)).fetch()).toEqualTypeOf<
    Float32Array<ArrayBuffer>
  >();
  expectTypeOf(SharedObject.create('f', Buffer.alloc(4)).fetch()).toEqualTypeOf<
    Buffer<ArrayBuffer>
  >();
  expectTypeOf(SharedObject.create('g', pose).fetch().stamp.ns).toEqualTypeOf<bigint>();
  expectTypeOf(SharedObject.create('h', { x: 1, on: false }).fetch()).toEqualTypeOf<{
    x: number;
    on: boolean;
  }>();
  expectTypeOf(SharedObject.create('i', 1).fetch((view) => view > 0)).toEqualTypeOf<boolean>();
  expectTypeOf(SharedObject.open<Pose>('g').fetch()).toEqualTypeOf<Pose>();
  expectTypeOf(SharedObject.create('j', 1).changed()).toEqualTypeOf<Promise<void>>();
  expectTypeOf(SharedObject.create('k', 1).mtime).toEqualTypeOf<bigint>();
  // fetchInto returns its target, typed as given: a Buffer into a Uint8Array slot stays a Buffer.
  expectTypeOf(
    SharedObject.create('q', new Uint8Array(4)).fetchInto(Buffer.alloc(4)),
  ).toEqualTypeOf<Buffer<ArrayBuffer>>();
  expectTypeOf(SharedObject.open<Pose>('g').fetchInto(pose)).toEqualTypeOf<Pose>();

  const so = SharedObject.create('l', 1);
  // @ts-expect-error a number slot takes numbers only
  so.assign('1');
  // @ts-expect-error a Float32Array slot copies into a Float32Array only
  SharedObject.create('r', new Float32Array(4)).fetchInto(new Float64Array(4));
  // @ts-expect-error arrays cannot live in a slot
  SharedObject.create('m', [1, 2]);
  // @ts-expect-error nor functions
  SharedObject.create('n', { run: () => 1 });
  // @ts-expect-error nor Dates or other class instances
  SharedObject.create('o', { when: new Date() });
  // @ts-expect-error nor DataViews
  SharedObject.create('p', new DataView(new ArrayBuffer(4)));
}

test('the SharedObject type checks compile (see tsc -p tsconfig.json)', () => {
  assert.equal(typeof typeChecks, 'function');
});
