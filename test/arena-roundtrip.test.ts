// Offload and restore of whole values: every binary leaf type and size, nested anywhere, comes
// back equal and of the same type; large leaves alias the arena, small ones travel inline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Arena, type ArenaEnvelope, release } from '../dist/memory/arena/index.js';
import { nestedValueArbitrary } from './arena-arbitraries.ts';
import { copiedIn, postedValueOf } from './arena-envelopes.ts';

const kSeed = 0x6b65656c;
const kMinBytes = 256;

type LeafKind =
  | 'Int8Array'
  | 'Uint8Array'
  | 'Uint8ClampedArray'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'BigInt64Array'
  | 'BigUint64Array'
  | 'DataView'
  | 'Buffer'
  | 'ArrayBuffer'
  | 'SharedUint8Array';

const kLeafKinds: LeafKind[] = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'DataView',
  'Buffer',
  'ArrayBuffer',
  'SharedUint8Array',
];

/** A leaf of `kind` with `elements` elements, bytes drawn from `seed`, at a random offset. */
function makeLeaf(kind: LeafKind, elements: number, offsetElements: number, seed: number): object {
  const perElement =
    kind === 'DataView' ||
    kind === 'Buffer' ||
    kind === 'ArrayBuffer' ||
    kind === 'SharedUint8Array'
      ? 1
      : (globalThis as unknown as Record<string, { BYTES_PER_ELEMENT: number }>)[kind]!
          .BYTES_PER_ELEMENT;
  const offsetBytes = kind === 'ArrayBuffer' ? 0 : offsetElements * perElement;
  const byteLength = elements * perElement;
  const backing =
    kind === 'SharedUint8Array'
      ? new SharedArrayBuffer(offsetBytes + byteLength)
      : new ArrayBuffer(offsetBytes + byteLength);
  const bytes = new Uint8Array(backing);
  let state = seed | 1;
  for (let i = 0; i < bytes.length; i++) {
    state = (state * 1103515245 + 12345) | 0;
    bytes[i] = state >>> 24;
  }
  switch (kind) {
    case 'ArrayBuffer':
      return backing;
    case 'DataView':
      return new DataView(backing, offsetBytes, byteLength);
    case 'Buffer':
      return Buffer.from(backing, offsetBytes, byteLength);
    case 'SharedUint8Array':
      return new Uint8Array(backing, offsetBytes, byteLength);
    default: {
      const constructor = (
        globalThis as unknown as Record<
          string,
          new (b: ArrayBufferLike, o: number, l: number) => object
        >
      )[kind]!;
      return new constructor(backing, offsetBytes, elements);
    }
  }
}

const leafArbitrary = fc
  .record({
    kind: fc.constantFrom(...kLeafKinds),
    // Sizes straddle kMinBytes: below, at, and well above (several blocks).
    elements: fc.oneof(
      fc.nat(40),
      fc.integer({ min: 200, max: 300 }),
      fc.integer({ min: 1000, max: 3000 }),
    ),
    offsetElements: fc.nat(9),
    seed: fc.integer(),
  })
  .map(({ kind, elements, offsetElements, seed }) =>
    makeLeaf(kind, elements, offsetElements, seed),
  );

const valueArbitrary = nestedValueArbitrary(leafArbitrary);

/** Every binary leaf reachable in `value` (containers walked like cloning). */
function binaryLeaves(value: unknown, seen = new Set<unknown>()): object[] {
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  if (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof SharedArrayBuffer
  )
    return [value];
  const children =
    value instanceof Map
      ? [...value].flat()
      : value instanceof Set
        ? [...value]
        : Object.values(value);
  return children.flatMap((child) => binaryLeaves(child, seen));
}

function byteLengthOf(leaf: object): number {
  return (leaf as { byteLength: number }).byteLength;
}

function isSharedBacked(leaf: object): boolean {
  const buffer = ArrayBuffer.isView(leaf) ? leaf.buffer : leaf;
  return buffer instanceof SharedArrayBuffer;
}

test('any nested value with binary leaves of every type and size restores deep-equal, types included', () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  fc.assert(
    fc.property(valueArbitrary, (value) => {
      const envelope = arena.offload(value);
      const restored = arena.restore(structuredClone(envelope));
      assert.deepStrictEqual(restored, value);
      release(restored);
      assert.equal(arena.stats().bytesInUse, 0);
    }),
    { seed: kSeed, numRuns: 300 },
  );
  assert.equal(arena.stats().fallbacks, 0);
});

test('leaves of at least minBytes leave the envelope and come back over shared memory; smaller ones stay inline', () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: kMinBytes });
  fc.assert(
    fc.property(fc.array(leafArbitrary, { minLength: 1, maxLength: 6 }), (leaves) => {
      const envelope = structuredClone(arena.offload({ leaves }));
      for (const inline of binaryLeaves(envelope)) {
        assert.ok(
          isSharedBacked(inline) || byteLengthOf(inline) < kMinBytes,
          'a large leaf stayed in the envelope',
        );
      }
      const restored: { leaves: object[] } = arena.restore(envelope);
      restored.leaves.forEach((leaf, index) => {
        const original = leaves[index]!;
        const big = byteLengthOf(original) >= kMinBytes && !(original instanceof ArrayBuffer);
        if (big || isSharedBacked(original))
          assert.ok(isSharedBacked(leaf), 'a large view was copied');
        else assert.ok(!isSharedBacked(leaf), 'a small leaf came back over shared memory');
      });
      release(restored);
    }),
    { seed: kSeed, numRuns: 200 },
  );
});

test('a restored large view aliases the arena: no copy was made on the receiving side', () => {
  const arena = new Arena({ bytes: 2 ** 20, minBytes: kMinBytes });
  const restored = arena.restore(arena.offload(new Float64Array(1000).fill(1.5)));
  assert.ok(restored.buffer instanceof SharedArrayBuffer);
  assert.equal(restored.byteOffset % 64, 0, 'leaves are 64-byte aligned');
  const again = new Float64Array(restored.buffer, restored.byteOffset, 1000);
  again[3] = 42; // another view of the same shared bytes
  assert.equal(restored[3], 42);
  release(restored);
});

test('cycles and shared references come back with the same shape of identities', () => {
  const arena = new Arena({ bytes: 2 ** 20, minBytes: kMinBytes });
  const big = new Uint16Array(4096).map((_, i) => i);
  const node: Record<string, unknown> = { big, again: big, list: [big] };
  node.self = node;
  node.map = new Map<unknown, unknown>([
    [big, node],
    ['k', [node]],
  ]);
  node.set = new Set([big, node]);
  const restored: typeof node = arena.restore(structuredClone(arena.offload(node)));
  assert.equal(restored.self, restored);
  assert.equal(restored.again, restored.big);
  assert.equal((restored.list as unknown[])[0], restored.big);
  const map = restored.map as Map<unknown, unknown>;
  assert.equal(map.get(restored.big), restored);
  assert.deepEqual([...(restored.set as Set<unknown>)], [restored.big, restored]);
  assert.ok((restored.big as Uint16Array).buffer instanceof SharedArrayBuffer);
  assert.deepStrictEqual(restored.big, big);
  release(restored);
});

test('overlapping views of one buffer keep aliasing; a buffer that is itself a leaf comes back as an owned ArrayBuffer', () => {
  const arena = new Arena({ bytes: 2 ** 20, minBytes: kMinBytes });
  const backing = new ArrayBuffer(8192);
  const whole = new Uint8Array(backing, 0, 4096);
  const inner = new Uint32Array(backing, 1024, 256);
  const restored = arena.restore(structuredClone(arena.offload({ whole, inner })));
  assert.equal(restored.whole.buffer, restored.inner.buffer);
  restored.whole[1024] = 0xab;
  assert.equal(restored.inner[0]! & 0xff, 0xab, 'a write through one view shows through the other');
  assert.equal(restored.inner.byteOffset % 4, 0);

  const withBuffer = { backing, view: new Float32Array(backing, 512, 100) };
  const copied = arena.restore(structuredClone(arena.offload(withBuffer)));
  assert.ok(copied.backing instanceof ArrayBuffer);
  assert.equal(copied.view.buffer, copied.backing);
  assert.equal(copied.view.byteOffset, 512);
  assert.deepStrictEqual(copied, withBuffer);
  release(restored);
  assert.equal(arena.stats().bytesInUse, 0, 'a copy-out unit returns its space at once');
});

test('Buffers come back as Buffers, large or small, and a small pooled Buffer does not drag its 8 KiB slab along', () => {
  const arena = new Arena({ bytes: 2 ** 20, minBytes: kMinBytes });
  const small = Buffer.from('hi');
  const large = Buffer.alloc(5000, 7);
  const envelope = structuredClone(arena.offload({ small, large }));
  const inlineBytes = binaryLeaves(envelope).reduce((sum, leaf) => sum + byteLengthOf(leaf), 0);
  assert.ok(inlineBytes < 64, `the envelope carries ${inlineBytes} bytes of binary`);
  const restored = arena.restore(envelope);
  assert.ok(Buffer.isBuffer(restored.small) && Buffer.isBuffer(restored.large));
  assert.equal(restored.small.toString(), 'hi');
  assert.deepStrictEqual(restored.large, large);
  release(restored);
});

test('a caller SharedArrayBuffer is shared as cloning shares it, never copied into the arena', () => {
  const arena = new Arena({ bytes: 2 ** 20, minBytes: kMinBytes });
  const shared = new Int32Array(new SharedArrayBuffer(4096));
  const envelope = arena.offload({ shared });
  assert.equal(copiedIn(envelope), false);
  assert.equal(arena.stats().bytesInUse, 0);
  const restored = arena.restore(structuredClone(envelope));
  Atomics.store(shared, 5, 99);
  assert.equal(restored.shared[5], 99);
});

test('a value without binary leaves passes through untouched and the envelope is structured-cloneable', () => {
  const arena = new Arena({ bytes: 2 ** 20, minBytes: kMinBytes });
  const value = { a: 1, b: [new Date(0), /x/g, 2n, new Map([[1, 'one']])] };
  const envelope: ArenaEnvelope<typeof value> = arena.offload(value);
  assert.equal(postedValueOf(envelope), value);
  assert.equal(copiedIn(envelope), false);
  assert.deepStrictEqual(arena.restore(structuredClone(envelope)), value);
});

test('the root itself may be a leaf, and class instances cross as plain objects as in cloning', () => {
  const arena = new Arena({ bytes: 2 ** 20, minBytes: kMinBytes });
  const root = new BigInt64Array(100).fill(-5n);
  const restoredRoot = arena.restore(structuredClone(arena.offload(root)));
  assert.deepStrictEqual(restoredRoot, root);
  class Frame {
    constructor(
      readonly pixels: Uint8Array,
      readonly id: number,
    ) {}
  }
  const restored = arena.restore(
    structuredClone(arena.offload(new Frame(new Uint8Array(1000).fill(3), 9))),
  );
  assert.deepStrictEqual(restored, structuredClone(new Frame(new Uint8Array(1000).fill(3), 9)));
  release(restoredRoot);
  release(restored);
});
