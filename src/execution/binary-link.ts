/**
 * The caller's half of moving values to and from one worker (memory/arena/transit.ts): its
 * arena handle, and the space to give back when the worker dies. Pool, spawn and streams share it.
 * Moved values (`move`) are transferred to a thread and copied to a child process.
 */
import type { Arena, ArenaShared } from '../memory/arena/index.js';
import {
  discardClaim,
  discardUnpacked,
  packValue,
  unpackValue,
  type PackedClaim,
  type PackedValue,
  type TransferSupport,
} from '../memory/arena/transit.js';
import type { ValueMarks } from '../protocol/messages.js';

export class BinaryLink {
  readonly #arena: Arena | undefined;
  readonly #transfers: TransferSupport;
  /** The worker's own handle on the arena, for its boot data; reclaimed when it exits. */
  readonly share: ArenaShared | undefined;

  constructor(arena: Arena | undefined, kind: 'thread' | 'process') {
    this.#arena = arena;
    this.#transfers = kind === 'thread' ? 'transfer' : 'copy';
    this.share = arena?.share();
  }

  /** Arguments ready to post, with the marks the message must carry and what to transfer. */
  pack(args: readonly unknown[]): PackedValue {
    return packValue(this.#arena, args, this.#transfers);
  }

  /** Gives back the space of arguments the worker never received. Harmless if it did. */
  discard(claim: PackedClaim | undefined): void {
    discardClaim(this.#arena, claim);
  }

  /** An answer as the caller gets it. */
  received(message: ValueMarks & { readonly value: unknown }): unknown {
    return unpackValue(this.#arena, message.value, message);
  }

  /** Gives back the space of an answer that will never be unpacked (its receiver left). */
  discardReceived(message: ValueMarks & { readonly value: unknown }): void {
    discardUnpacked(this.#arena, message.value, message);
  }

  /** After the worker exited: frees whatever its handle still held. */
  reclaim(): void {
    if (this.share) this.#arena?.reclaimHandle(this.share.handleId);
  }
}
