/**
 * A batch from its chunks, on the caller's thread. With the workers collating (the default),
 * this is `joinChunks`: one copy per binary leaf, into the arena when the loader has one (so the
 * batch can go on to a pool or remote without another copy). With a collate function, the
 * function gets all the samples of the batch, in order.
 */
import { KeelError } from '../../errors.js';
import { release, type Arena } from '../../memory/arena/index.js';
import { joinChunks } from './join-chunks.js';
import type { AllocateArray } from '../../tensors/tensor.js';
import type { LoaderSettings } from './options.js';

export async function assembleBatch(
  chunks: readonly unknown[],
  settings: Pick<LoaderSettings, 'collate' | 'arena'>,
): Promise<unknown> {
  const { collate, arena } = settings;
  if (collate.where === 'caller') return await collate.collate((chunks as unknown[][]).flat());
  const batch = joinChunks(chunks, allocator(arena));
  // The chunks were copied into the batch: their arena space goes back now, not at the next GC.
  if (arena && chunks.length > 1) release(chunks);
  return batch;
}

/** New arrays in the arena when they are big enough and there is room, else ordinary ones. */
function allocator(arena: Arena | undefined): AllocateArray {
  return (type, length) => {
    const byteLength = length * type.BYTES_PER_ELEMENT;
    if (arena && !arena.closed && byteLength >= arena.minBytes) {
      try {
        return arena.allocate(type, length, { zero: false });
      } catch (error) {
        if (!(error instanceof KeelError && error.code === 'ERR_ARENA_FULL')) throw error;
        // No room now (or the allocation lock was contended): this batch is copied instead.
        arena.recordFallback();
      }
    }
    return new type(length);
  };
}
