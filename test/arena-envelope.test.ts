// One wire form for every value: whatever the value, packing it (as a stream item or a call
// value), encoding it with the fast lane's codec, decoding and unpacking gives it back
// deep-equal, and every byte of the arena comes back. Simple items (a leaf, or leaves as own
// properties of a plain object or array) take the compact shape and the lane's compact path;
// anything else takes the general shape of the same form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Arena, release } from '../dist/memory/arena/index.js';
import { nestedValueArbitrary } from './arena-arbitraries.ts';
import { isGeneralShape } from './arena-envelopes.ts';
import {
  discardClaim,
  packValue,
  packValueWaiting,
  unpackValue,
} from '../dist/memory/arena/transit.js';
import { MessageDecoder, MessageEncoder } from '../dist/transport/fast-lane/message-encoding.js';

const kSeed = 0x6b65656c;
const kMinBytes = 256;

const kMakers: Record<string, (bytes: number, seed: number) => object> = {
  Uint8Array: (bytes, seed) => new Uint8Array(bytes).fill(seed & 0xff),
  Float32Array: (bytes, seed) => new Float32Array(bytes >> 2).fill(seed / 7),
  Float64Array: (bytes, seed) => new Float64Array(bytes >> 3).fill(seed / 3),
  DataView: (bytes, seed) => new DataView(new Uint8Array(bytes).fill(seed & 0x7f).buffer),
  Buffer: (bytes, seed) => Buffer.alloc(bytes, seed & 0xff),
  ArrayBuffer: (bytes, seed) => new Uint8Array(bytes).fill(seed & 0x3f).buffer,
  subarray: (bytes, seed) => new Uint8Array(bytes + 64).fill(seed & 0xff).subarray(64),
};

const leafArbitrary = fc
  .record({
    kind: fc.constantFrom(...Object.keys(kMakers)),
    bytes: fc.oneof(fc.integer({ min: 8, max: 64 }), fc.integer({ min: 256, max: 4096 })),
    seed: fc.integer({ min: 0, max: 1000 }),
  })
  .map(({ kind, bytes, seed }) => kMakers[kind]!(bytes & ~7, seed));

const valueArbitrary = nestedValueArbitrary(leafArbitrary);

/** Packs `value` as a stream item, sends it through the lane's codec, unpacks it. */
async function crossAsStreamItem(arena: Arena, value: unknown) {
  const packed = await packValueWaiting(arena, value, {});
  const { decoded, encoding } = throughCodec({
    type: 'item',
    value: packed.value,
    ...packed.marks,
  });
  return {
    general: isGeneralShape(packed.value),
    encoding,
    restored: unpackValue(arena, decoded.value, decoded),
  };
}

/** Encodes `message` with the fast lane's codec into shared memory and decodes it back. */
function throughCodec<M extends object>(message: M) {
  const encoder = new MessageEncoder();
  const byteLength = encoder.encode(message);
  const shared = new SharedArrayBuffer(byteLength + 8);
  new Uint8Array(shared).set(encoder.encodedBytes.subarray(0, byteLength));
  const decoded = new MessageDecoder(shared).decode(0, byteLength) as M;
  return { decoded, encoding: encoder.lastKind };
}

test('any value crosses as a stream item and comes back deep-equal, its arena space returned on release', async () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  await fc.assert(
    fc.asyncProperty(valueArbitrary, async (value) => {
      const { restored } = await crossAsStreamItem(arena, value);
      assert.deepStrictEqual(restored, value);
      release(restored);
      assert.equal(arena.stats().bytesInUse, 0);
    }),
    { seed: kSeed, numRuns: 300 },
  );
});

test('a frame, or frames as own properties of a plain object or array, take the compact shape and path as views', async () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  const frame = new Uint8Array(4096).fill(9);
  const items: unknown[] = [
    frame,
    { frame, index: 3, shape: [64, 64], label: 'left' },
    [frame, new Float32Array(512).fill(0.5), 7],
    { frame, small: new Uint8Array(16).fill(1) }, // a small leaf stays in the value, compact too
    { frame, big: new Float64Array(2048).fill(2) }, // two leaves through the arena
    { frame, cloned: new Uint8Array(200).fill(3), again: null as unknown }, // one view twice
  ];
  (items[5] as { again: unknown }).again = (items[5] as { cloned: unknown }).cloned;
  for (const [index, item] of items.entries()) {
    const { general, encoding, restored } = await crossAsStreamItem(arena, item);
    assert.equal(general, false, `item ${index} has the compact shape`);
    // A view below minBytes crosses in the value, compactly, unless it appears twice: only V8
    // keeps that identity.
    assert.equal(encoding, index === 5 ? 'v8' : 'compact', `item ${index}`);
    assert.deepStrictEqual(restored, item);
    const view = (
      Array.isArray(restored) ? restored[0] : ((restored as { frame?: unknown }).frame ?? restored)
    ) as Uint8Array;
    assert.ok(view.buffer instanceof SharedArrayBuffer, `item ${index}: a view over the arena`);
    release(restored);
  }
  assert.equal(arena.stats().bytesInUse, 0);
});

test('leaves deeper than the top level, or in a Map or a Set, take the general shape', async () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  const frame = new Uint8Array(4096).fill(2);
  const items = [{ camera: { frame } }, new Map([['frame', frame]]), [[frame]], new Set([frame])];
  for (const item of items) {
    const { general, restored } = await crossAsStreamItem(arena, item);
    assert.equal(general, true);
    assert.deepStrictEqual(restored, item);
    release(restored);
  }
  assert.equal(arena.stats().bytesInUse, 0);
});

test('views forwarded by reference keep their holds in the compact shape', async () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  const first = arena.restore(arena.offload(new Uint8Array(8192).fill(4)));
  const second = arena.restore(arena.offload(new Float64Array(1024).fill(0.25)));
  const unitsBefore = arena.stats().units;
  const item = { first, second, tail: first.subarray(4096), seq: 1 };
  const { general, restored } = await crossAsStreamItem(arena, item);
  assert.equal(general, false);
  assert.deepStrictEqual(restored, item);
  assert.equal(arena.stats().units, unitsBefore, 'no unit was added: both crossed by reference');
  assert.equal(restored.first.byteOffset, first.byteOffset);
  assert.equal(restored.second.byteOffset, second.byteOffset);
  release([first, second]);
  assert.ok(arena.stats().bytesInUse > 0, 'the restored item still holds both units');
  release(restored);
  assert.equal(arena.stats().bytesInUse, 0);
});

// Simple values are found in one pass (memory/arena/simple-value.ts), everything else by a walk
// of the whole value (general-value.ts); both are placed and written the same way. Both must
// give the same values back and give every byte back, whether the value is received or
// discarded.

/** Packs `value` as an RPC value (never waits: a full arena means a counted copy). */
function crossAsCall(arena: Arena, value: unknown) {
  const packed = packValue(arena, value);
  const { decoded } = throughCodec({ type: 'result', value: packed.value, ...packed.marks });
  return { packed, restored: unpackValue(arena, decoded.value, decoded) };
}

test('any value crosses as a call value through a small arena (simple, general or copied) and every byte comes back', () => {
  // 6 KiB: two large leaves do not fit together, so a simple value is found again by the
  // general finder, which falls back to copying (counted), as a full arena makes it do.
  const arena = new Arena({ bytes: 6 * 1024, minBytes: kMinBytes });
  fc.assert(
    fc.property(valueArbitrary, (value) => {
      const { restored } = crossAsCall(arena, value);
      assert.deepStrictEqual(restored, value);
      release(restored);
      assert.equal(arena.stats().bytesInUse, 0);
    }),
    { seed: kSeed, numRuns: 300 },
  );
  assert.ok(arena.stats().fallbacks > 0, 'some leaves did not fit and crossed by copying');
});

test('a packed value that is never received gives back its space when discarded, copies and holds alike', () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  const held = arena.restore(arena.offload(new Uint8Array(8192).fill(6)));
  const inUseWithHeld = arena.stats().bytesInUse;
  fc.assert(
    fc.property(valueArbitrary, fc.boolean(), (value, withHeld) => {
      const packed = packValue(arena, withHeld ? [held, value] : value);
      discardClaim(arena, packed.claim);
      assert.equal(arena.stats().bytesInUse, inUseWithHeld);
    }),
    { seed: kSeed, numRuns: 200 },
  );
  release(held);
  assert.equal(arena.stats().bytesInUse, 0, 'the discarded holds did not keep the unit alive');
});

test('a simple value: one unit for the leaves copied in, none for views forwarded by reference', () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  const frame = new Uint8Array(4096).fill(3);
  const first = crossAsCall(arena, [frame, 7, 'left', new Float64Array(64).fill(0.5)]).restored;
  assert.deepStrictEqual(first, [frame, 7, 'left', new Float64Array(64).fill(0.5)]);
  const [view] = first as [Uint8Array];
  assert.ok(view.buffer instanceof SharedArrayBuffer, 'a view over the arena');
  assert.equal(arena.stats().units, 1, 'both leaves in one unit');
  const { restored: forwarded } = crossAsCall(arena, { view, seq: 2 });
  assert.equal(arena.stats().units, 1, 'forwarded by reference: no unit added');
  assert.equal((forwarded as { view: Uint8Array }).view.byteOffset, view.byteOffset);
  release(first);
  assert.ok(arena.stats().bytesInUse > 0, 'the forwarded value still holds the unit');
  release(forwarded);
  assert.equal(arena.stats().bytesInUse, 0);
  // Options and metadata beside the views: containers of primitives cross as they are.
  const withMeta = { frame, meta: { seq: 1, ts: 2.5, tag: 'a' }, shape: [64, 64], options: null };
  const { restored: metaBack } = crossAsCall(arena, withMeta);
  assert.deepStrictEqual(metaBack, withMeta);
  assert.equal(arena.stats().units, 1);
  release(metaBack);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('shapes the one-pass finder leaves to the general finder keep their meaning', () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  const bytes = new Uint8Array(8192).fill(1);
  // Two views of one buffer stay aliased, as after cloning.
  const [whole, tail] = crossAsCall(arena, [bytes, bytes.subarray(4096)]).restored as Uint8Array[];
  whole![4096] = 99;
  assert.equal(tail![0], 99);
  // A '__proto__' key stays an own property; it never becomes a prototype.
  const tricky = JSON.parse('{"__proto__": 1, "frame": null}') as Record<string, unknown>;
  tricky.frame = bytes;
  const back = crossAsCall(arena, tricky).restored as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepStrictEqual(Object.keys(back), ['__proto__', 'frame']);
  assert.deepStrictEqual(back.frame, bytes);
  // A hole stays a hole.
  const sparse = [bytes, , 3]; // eslint-disable-line no-sparse-arrays
  const backSparse = crossAsCall(arena, sparse).restored as unknown[];
  assert.equal(1 in backSparse, false);
  // A named property of an array survives, as cloning keeps it (even beside a hole).
  const labelled = Object.assign([bytes, 3], { label: 'left' });
  const backLabelled = crossAsCall(arena, labelled).restored as unknown[] & { label?: string };
  assert.equal(backLabelled.label, 'left');
  assert.deepStrictEqual(backLabelled, labelled);
  const balanced = Object.assign([bytes, , 3], { label: 'both' }); // eslint-disable-line no-sparse-arrays
  const backBalanced = crossAsCall(arena, balanced).restored as unknown[] & { label?: string };
  assert.equal(1 in backBalanced, false);
  assert.equal(backBalanced.label, 'both');
  release([whole, back, backSparse, backLabelled, backBalanced]);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('when a leaf does not fit, the holds a simple value took are given back before the general finder copies', () => {
  const arena = new Arena({ bytes: 16 * 1024, minBytes: kMinBytes });
  const held = arena.restore(arena.offload(new Uint8Array(8192).fill(5)));
  const big = new Uint8Array(12 * 1024).fill(8); // more than the 8 KiB left
  const { restored } = crossAsCall(arena, [held, big]);
  assert.deepStrictEqual(restored, [held, big]);
  assert.equal(arena.stats().fallbacks, 1, 'the big leaf crossed by copying');
  release(held);
  release(restored);
  assert.equal(arena.stats().bytesInUse, 0, 'no hold was left behind');
});

test('a receiver that finds one hold of a value gone refuses it and gives back the holds it had taken', () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  const first = arena.restore(arena.offload(new Uint8Array(8192).fill(1)));
  const second = arena.restore(arena.offload(new Uint8Array(8192).fill(2)));
  const packed = packValue(arena, [first, second]);
  const envelope = packed.claim!; // the posted envelope
  assert.equal(isGeneralShape(envelope), false, 'two views of two units: a simple value');
  const numbers = [...envelope[2]];
  // The second hold's generation, made stale: numbers end with [entry, generation, slot,
  // unitGeneration, 1, firstBlock, blockCount] per hold.
  numbers[numbers.length - 6] = (numbers[numbers.length - 6]! + 1) & 0x3ff;
  const stale = [envelope[0], envelope[1], numbers];
  assert.throws(
    () => unpackValue(arena, stale, packed.marks),
    (error: Error & { code?: string }) => error.code === 'ERR_INVALID_ARGUMENT',
  );
  release([first, second]);
  // The first hold was accepted, then given back; the second is still in flight (its sender's).
  assert.ok(arena.stats().bytesInUse > 0, 'the hold still in flight keeps its unit');
  discardClaim(arena, packed.claim);
  assert.equal(arena.stats().bytesInUse, 0, 'nothing was left held by the refused value');
});

test('small views beside a frame stay in the value and keep the compact shape; one sharing the frame’s buffer keeps its aliasing', async () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  const joints = new Float64Array(7).fill(0.25);
  const item = { frame: new Uint8Array(4096).fill(7), joints, again: joints, seq: 3 };
  const beside = await crossAsStreamItem(arena, item);
  assert.equal(beside.general, false);
  assert.deepStrictEqual(beside.restored, item);
  const restored = beside.restored;
  assert.ok(!(restored.joints.buffer instanceof SharedArrayBuffer), 'the small view was cloned');
  assert.equal(restored.again, restored.joints, 'its identity is kept');
  release(restored);
  // A small view of the frame's own buffer: both go to the arena as one region.
  const frame = new Uint8Array(4096).fill(9);
  const header = frame.subarray(0, 16);
  const sharing = await crossAsStreamItem(arena, { frame, header });
  const back = sharing.restored as { frame: Uint8Array; header: Uint8Array };
  back.frame[0] = 42;
  assert.equal(back.header[0], 42, 'a write through one shows through the other');
  release(back);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('a forged or corrupted envelope is refused with ERR_INVALID_ARGUMENT, never another error', () => {
  const frame = new Uint8Array(4096).fill(1);
  const values = [
    frame,
    { frame, seq: 1 },
    [frame, new Float32Array(2048)],
    new Map([['frame', frame]]),
    { deep: { frame, small: Buffer.from('hi') } },
  ];
  const junk = fc.oneof(
    fc.constantFrom(-1, 0, 1, 3, 2 ** 31, 2 ** 53, 1.5, Number.NaN, -0),
    fc.constantFrom('x', null, undefined, {}, [] as unknown[]),
  );
  fc.assert(
    fc.property(
      fc.nat(values.length),
      fc.nat(),
      junk,
      fc.constantFrom('number', 'truncate', 'place', 'value'),
      (which, at, replacement, how) => {
        const arena = new Arena({ bytes: 256 * 1024, minBytes: kMinBytes });
        // The last value forwards a view it received: its envelope carries a hold.
        const value =
          which < values.length ? values[which] : { held: arena.restore(arena.offload(frame)) };
        const envelope = structuredClone(arena.offload(value));
        const parts = [envelope[0], [...envelope[1]], [...envelope[2]]] as unknown[][];
        if (how === 'number') parts[2]![at % parts[2]!.length] = replacement;
        if (how === 'truncate') parts[2]!.length = at % parts[2]!.length;
        if (how === 'place' && parts[1]!.length > 0) {
          parts[1]![at % parts[1]!.length] = replacement;
        }
        if (how === 'value') parts[0] = replacement as never;
        try {
          release(arena.restore(parts as never));
        } catch (error) {
          assert.equal((error as { code?: unknown }).code, 'ERR_INVALID_ARGUMENT', String(error));
        }
      },
    ),
    { seed: kSeed, numRuns: 500 },
  );
});
