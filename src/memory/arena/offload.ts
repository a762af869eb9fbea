/**
 * The one offload path: a value becomes an envelope (envelope.ts) in three steps.
 *
 * 1. Find the leaves and group them. The values most calls carry are found in one pass
 *    (simple-value.ts: one leaf per group, each going back to an own key of the value);
 *    anything else by a walk of the whole value (general-value.ts: Maps, Sets, nesting,
 *    aliasing views, ArrayBuffer leaves, small Buffers).
 * 2. Place the groups (placement.ts): by reference, or copied into one new unit.
 * 3. Write the envelope: the numbers, then the value to post and where its leaves go back.
 *
 * The try variant (`now`) never waits: a simple value placed whole, or else every group that
 * fits, the rest staying in the value (a counted fallback). The wait variant (the engine's loop
 * over `prepare` and `placeAll`) places all groups or none, and waits for room in between.
 */
import { wireArray } from '../../values/wire-array.js';
import {
  type ArenaEnvelope,
  envelopeOf,
  kNoPlaces,
  kOwnKeys,
  kRootLeaf,
  leafCode,
} from './envelope.js';
import {
  demoteGroup,
  type GeneralGroup,
  type LeafPlan,
  planLeaves,
  postedValue,
} from './general-value.js';
import type { HeldParts } from './held-part.js';
import { kFallbacksWord } from './layout.js';
import type { ArenaMemory } from './memory.js';
import { alignedStart, leavesAt, Placement } from './placement.js';
import { findSimpleLeaves, type SimpleLeaf, type SimpleValue } from './simple-value.js';

/**
 * What the wait variant places on each attempt, decided once before the first wait: a simple
 * value's leaves, or the general plan's groups without those that went inline.
 */
export type PreparedOffload =
  | { readonly simple: SimpleValue; readonly plan: null; readonly groups: readonly SimpleLeaf[] }
  | { readonly simple: null; readonly plan: LeafPlan; readonly groups: readonly GeneralGroup[] };

export class Offloader {
  readonly #memory: ArenaMemory;
  readonly #handleId: number;
  readonly #minBytes: number;
  readonly #held: HeldParts;
  readonly #placement: Placement;

  constructor(memory: ArenaMemory, handleId: number, minBytes: number, held: HeldParts) {
    this.#memory = memory;
    this.#handleId = handleId;
    this.#minBytes = minBytes;
    this.#held = held;
    this.#placement = new Placement(memory, handleId, held);
  }

  /**
   * Try variant: never waits; what does not fit right now stays in the value. Leaves over a
   * buffer in `kept` stay in the value too (moved leaves, which the transport transfers).
   */
  now(value: unknown, kept?: ReadonlySet<ArrayBufferLike>): ArenaEnvelope {
    const simple = kept === undefined ? findSimpleLeaves(value, this.#minBytes) : null;
    const envelope = simple === null ? null : this.placeSimple(value, simple);
    return envelope ?? this.#placeGeneralNow(value, kept);
  }

  /** A simple value's leaves placed all at once, or null (nothing taken) when one does not fit. */
  placeSimple(value: unknown, simple: SimpleValue): ArenaEnvelope | null {
    const placement = this.#acquire();
    placement.begin();
    try {
      const { leaves } = simple;
      for (let index = 0; index < leaves.length; index++) {
        if (!placement.place(leaves[index]!)) {
          placement.abort();
          return null;
        }
      }
      return this.#sealSimple(value, simple, placement);
    } catch (error) {
      placement.abort();
      throw error;
    }
  }

  /**
   * For the wait variant: what each attempt places. A simple value stays simple if it can fit
   * whole; otherwise the general plan, in which groups larger than the arena, then the largest
   * of groups that could never fit together, stay in the value (counted fallbacks). Leaves
   * over a buffer in `kept` stay in the value (then `simple` must be null).
   */
  prepare(
    value: unknown,
    simple: SimpleValue | null,
    kept?: ReadonlySet<ArrayBufferLike>,
  ): PreparedOffload {
    if (simple !== null && this.#blocksOf(simple.leaves) <= this.#memory.layout.blockCount) {
      return { simple, plan: null, groups: simple.leaves };
    }
    const plan = planLeaves(value, this.#minBytes, kept);
    const copied = plan.groups.filter((group) => !this.#placement.byReference(group));
    const largestFirst = copied.sort((a, b) => this.#blocks(b) - this.#blocks(a));
    let blocks = largestFirst.reduce((sum, group) => sum + this.#blocks(group), 0);
    const demoted = new Set<GeneralGroup>();
    for (const group of largestFirst) {
      if (blocks <= this.#memory.layout.blockCount) break;
      blocks -= this.#blocks(group);
      demoted.add(group);
      this.#fallBack(plan, group);
    }
    return { simple: null, plan, groups: plan.groups.filter((group) => !demoted.has(group)) };
  }

  /** One attempt of the wait variant: every group placed, or null with nothing taken. */
  placeAll(value: unknown, prepared: PreparedOffload): ArenaEnvelope | null {
    if (prepared.simple !== null) return this.placeSimple(value, prepared.simple);
    const { plan, groups } = prepared;
    if (this.#blocksOf(groups) > this.#memory.freeBlocks()) return null;
    const placement = this.#acquire();
    placement.begin();
    try {
      for (const group of groups) {
        if (!placement.place(group)) {
          placement.abort();
          return null;
        }
      }
      return this.#sealGeneral(value, plan, groups, placement);
    } catch (error) {
      placement.abort();
      throw error;
    }
  }

  /** Bytes a prepared offload copies in (for a timeout's message). */
  bytesOf(prepared: PreparedOffload): number {
    return prepared.groups.reduce((sum, group) => sum + group.end - group.start, 0);
  }

  #placeGeneralNow(value: unknown, kept: ReadonlySet<ArrayBufferLike> | undefined): ArenaEnvelope {
    const plan = planLeaves(value, this.#minBytes, kept);
    const placed: GeneralGroup[] = [];
    const placement = this.#acquire();
    placement.begin();
    try {
      for (const group of plan.groups) {
        if (placement.place(group)) placed.push(group);
        else this.#fallBack(plan, group);
      }
      return this.#sealGeneral(value, plan, placed, placement);
    } catch (error) {
      placement.abort();
      throw error;
    }
  }

  /**
   * The envelope of a placed simple value: one group per leaf; the posted value is the value
   * itself (no leaf), null (the value is the leaf) or a shallow copy with the leaves' own keys
   * emptied (an array's copy is a wire array: the finder saw neither holes nor named
   * properties, so its elements are all there is).
   */
  #sealSimple(value: unknown, simple: SimpleValue, placement: Placement): ArenaEnvelope {
    const { leaves } = simple;
    const count = leaves.length;
    let posted: unknown = value;
    let keys = kNoPlaces;
    let shape = kOwnKeys;
    if (simple.shape === 'view') {
      if (count > 0) {
        posted = null;
        shape = kRootLeaf;
      }
    } else {
      const copy = postedCopy(value, simple.shape);
      const keyList = wireArray<string | number>(count);
      for (let index = 0; index < count; index++) {
        const key = leaves[index]!.key ?? 0;
        keyList[index] = key;
        copy[key] = null;
      }
      posted = copy;
      keys = keyList;
    }
    const numbers = placement.finish(leaves, shape, count);
    let at = leavesAt(count);
    for (let index = 0; index < count; index++) {
      const leaf = leaves[index]!;
      numbers[at++] = leafCode(leaf.type);
      numbers[at++] = index;
      numbers[at++] = leaf.start - placement.startOf(index);
      numbers[at++] = leaf.length;
    }
    return envelopeOf(posted, keys, numbers);
  }

  /** The envelope of a placed general value: its leaves numbered group by group, in order. */
  #sealGeneral(
    value: unknown,
    plan: LeafPlan,
    placed: readonly GeneralGroup[],
    placement: Placement,
  ): ArenaEnvelope {
    const posted = postedValue(value, placed, plan.inline);
    let leafCount = 0;
    for (const group of placed) leafCount += group.uses.length;
    const numbers = placement.finish(placed, posted.shape, leafCount);
    let at = leavesAt(placed.length);
    placed.forEach((group, index) => {
      const start = placement.startOf(index);
      for (const use of group.uses) {
        numbers[at++] = leafCode(use.type);
        numbers[at++] = index;
        numbers[at++] = use.start - start;
        numbers[at++] = use.length;
      }
    });
    return envelopeOf(posted.value, posted.places, numbers);
  }

  /** The shared placement, or one of its own for a value offloaded while it is in use. */
  #acquire(): Placement {
    const placement = this.#placement;
    return placement.busy ? new Placement(this.#memory, this.#handleId, this.#held) : placement;
  }

  #fallBack(plan: LeafPlan, group: GeneralGroup): void {
    demoteGroup(plan, group);
    this.#memory.count(kFallbacksWord, 1);
  }

  /** Blocks the groups that would be copied in take (by-reference ones take none). */
  #blocksOf(groups: readonly (SimpleLeaf | GeneralGroup)[]): number {
    let blocks = 0;
    for (const group of groups)
      if (!this.#placement.byReference(group)) blocks += this.#blocks(group);
    return blocks;
  }

  #blocks(group: SimpleLeaf | GeneralGroup): number {
    const { blockBytes } = this.#memory.layout;
    return Math.max(1, Math.ceil((group.end - alignedStart(group.start)) / blockBytes));
  }
}

/**
 * The copy of a simple value that is posted, its leaves' places emptied afterwards: the
 * caller's value stays intact. Getters run here a second time (the finder read them first).
 */
function postedCopy(value: unknown, shape: 'array' | 'object'): Record<string | number, unknown> {
  if (shape === 'object') return { ...(value as object) };
  const source = value as readonly unknown[];
  const copy = wireArray<unknown>(source.length);
  for (let index = 0; index < source.length; index++) copy[index] = source[index];
  return copy as unknown as Record<number, unknown>;
}
