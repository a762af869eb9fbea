/**
 * The caller's half of moving values to and from one worker: large binary leaves through the
 * arena when there is one, SharedObject handles revived in answers. Pool and spawn share it.
 */
import type { Arena, ArenaEnvelope, ArenaShared } from '../memory/arena/index.js';
import { reviveSharedObjects } from '../memory/shared-object/index.js';

export class BinaryLink {
  readonly #arena: Arena | undefined;
  /** The worker's own handle on the arena, for its boot data; reclaimed when it exits. */
  readonly share: ArenaShared | undefined;

  constructor(arena: Arena | undefined) {
    this.#arena = arena;
    this.share = arena?.share();
  }

  /**
   * Arguments ready to post: an envelope when there is an arena (the try variant: a call never
   * waits for room, what does not fit now is copied), else the arguments themselves.
   */
  pack(args: readonly unknown[]): {
    args: readonly unknown[];
    envelope: ArenaEnvelope | undefined;
  } {
    if (!this.#arena) return { args, envelope: undefined };
    const envelope = this.#arena.offload(args);
    return { args: envelope as unknown as readonly unknown[], envelope };
  }

  /** Gives back the space of arguments the worker never received. Harmless if it did. */
  discard(envelope: ArenaEnvelope | undefined): void {
    if (envelope) this.#arena?.discard(envelope);
  }

  /** An answer as the caller gets it: restored from the arena, handles revived. */
  received(message: { readonly value: unknown; readonly packed?: true }): unknown {
    const value =
      message.packed && this.#arena
        ? this.#arena.restore(message.value as ArenaEnvelope)
        : message.value;
    return typeof value === 'object' && value !== null ? reviveSharedObjects(value) : value;
  }

  /** After the worker exited: frees whatever its handle still held. */
  reclaim(): void {
    if (this.share) this.#arena?.reclaimHandle(this.share.handleId);
  }
}
