/**
 * The runners of `aggregate` (items into arrays of `size`) and `disaggregate` (arrays back
 * into items). Both are synchronous bookkeeping, one item at a time, in arrival order.
 */
import { invalidArgument } from '../../errors.js';
import { emit, type StageContext } from './stage-context.js';
import type { AggregateStageSpec } from './stage-spec.js';

export async function runAggregate(spec: AggregateStageSpec, context: StageContext): Promise<void> {
  let batch: unknown[] = [];
  for (;;) {
    const pulled = await context.input.get();
    if (pulled.kind === 'stopped') return;
    if (pulled.kind === 'end') {
      // The last, partial batch also goes out before a source error: items before it count.
      if (batch.length > 0 && !spec.dropLast && !(await emit(context, batch))) return;
      context.output.end(pulled.failure);
      return;
    }
    context.counters.inputs++;
    batch.push(pulled.value);
    if (batch.length === spec.size) {
      const full = batch;
      batch = [];
      if (!(await emit(context, full))) return;
    }
  }
}

export async function runDisaggregate(context: StageContext): Promise<void> {
  for (;;) {
    const pulled = await context.input.get();
    if (pulled.kind === 'stopped') return;
    if (pulled.kind === 'end') {
      context.output.end(pulled.failure);
      return;
    }
    context.counters.inputs++;
    if (!(await emitEach(pulled.value, context))) return;
  }
}

/** Hands on each element of one item; false when the run is stopping. */
async function emitEach(item: unknown, context: StageContext): Promise<boolean> {
  if (!isIterable(item)) {
    context.itemFailed(
      invalidArgument('an item reaching disaggregate', 'iterable (an array)', item),
    );
    return true;
  }
  try {
    for (const element of item) {
      if (!(await emit(context, element))) return false;
    }
  } catch (error) {
    // The item's own iterator threw: the elements before stay emitted.
    context.itemFailed(error);
  }
  return true;
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return (
    value !== null &&
    value !== undefined &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}
