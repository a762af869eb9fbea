/** Helpers shared by the pipeline tests. */
import assert from 'node:assert/strict';
import { KeelError } from 'keel';

/** Asserts that `action` throws ERR_INVALID_ARGUMENT with a message matching `message`. */
export function assertInvalid(action: () => unknown, message: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof KeelError, `got ${String(error)}`);
    assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
    assert.match(error.message, message);
    return true;
  });
}

export function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}

/** Every item of an async iterable (Array.fromAsync is not in Node 20). */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Iterates to the end, keeping what arrived; resolves with those items and the error, if any. */
export async function drain<T>(
  iterable: AsyncIterable<T>,
): Promise<{ items: T[]; error: unknown; failed: boolean }> {
  const items: T[] = [];
  try {
    for await (const item of iterable) items.push(item);
  } catch (error) {
    return { items, error, failed: true };
  }
  return { items, error: undefined, failed: false };
}

/** A gate a test opens by hand; `wait()` resolves once it is open. */
export class Gate {
  #open!: () => void;
  readonly #opened = new Promise<void>((resolve) => {
    this.#open = resolve;
  });

  open(): void {
    this.#open();
  }

  wait(): Promise<void> {
    return this.#opened;
  }
}
