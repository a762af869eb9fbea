// The 64-bit words of the arena's unit slots and hold entries: every field written by encodeSlot
// or encodeHold reads back as it was written, whatever the others hold, and the words keep the
// documented bit layout (other threads of an older build read the same memory).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  encodeHold,
  encodeSlot,
  holdGeneration,
  holdOwner,
  holdOwnerOf,
  holdSlot,
  holdState,
  slotGeneration,
  slotOwner,
  slotState,
} from '../dist/memory/arena/layout.js';

const kSeed = 0x4b45454c;

test('a hold word gives back its state, owner (low 28 bits), slot and generation, laid out as documented', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 2),
      fc.integer({ min: 1, max: 2 ** 32 - 1 }),
      fc.integer({ min: 0, max: 2 ** 24 - 1 }),
      fc.integer({ min: 0, max: 2 ** 10 - 1 }),
      (state, owner, slot, generation) => {
        const word = encodeHold(state, owner, slot, generation);
        assert.equal(holdState(word), state);
        assert.equal(holdOwner(word), holdOwnerOf(owner));
        assert.equal(holdOwnerOf(owner), owner % 2 ** 28);
        assert.equal(holdSlot(word), slot);
        assert.equal(holdGeneration(word), generation);
        const documented =
          (BigInt(generation) << 54n) |
          (BigInt(slot) << 30n) |
          (BigInt(owner % 2 ** 28) << 2n) |
          BigInt(state);
        assert.equal(word, documented);
      },
    ),
    { seed: kSeed, numRuns: 2000 },
  );
});

test('a slot word gives back its state, owner and generation, laid out as documented', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.integer({ min: 0, max: 2 ** 27 - 1 }),
      (state, owner, generation) => {
        const word = encodeSlot(state as 0 | 1 | 2 | 3 | 4 | 5, owner, generation);
        assert.equal(slotState(word), state);
        assert.equal(slotOwner(word), owner);
        assert.equal(slotGeneration(word), generation);
        assert.equal(word, (BigInt(generation) << 36n) | (BigInt(owner) << 4n) | BigInt(state));
      },
    ),
    { seed: kSeed, numRuns: 2000 },
  );
});
