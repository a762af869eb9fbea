/**
 * `changed()`: waits for a slot's change counter to move, with Atomics.waitAsync (no polling).
 * Writers pay for a notify only when someone waits: a waiter counts itself in the header, then
 * reads the counter; a writer stores the counter, then reads the waiter count. Sequentially
 * consistent atomics make at least one of them see the other (a Dekker handshake), and
 * waitAsync itself re-checks the counter, so no change is missed. Shared by both sides.
 */
import { KeelError, abortReason } from '../../errors.js';
import { setLongTimeout, type LongTimeout } from '../../timers/long-timeout.js';
import { waitWordAsync, wakeWord } from '../../platform/wait-word.js';

export interface WaitForChangeOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

/** Settles one wait: resolves without a failure, rejects with `failure.error`. Idempotent. */
type Finish = (failure?: { readonly error: unknown }) => void;

export class ChangeWaiters {
  readonly #words: Int32Array;
  readonly #versionIndex: number;
  readonly #waitersIndex: number;
  readonly #pending = new Set<Finish>();
  readonly #name: string;

  constructor(name: string, words: Int32Array, versionIndex: number, waitersIndex: number) {
    this.#name = name;
    this.#words = words;
    this.#versionIndex = versionIndex;
    this.#waitersIndex = waitersIndex;
  }

  /** Writer side, after storing a new version: wakes every waiter of this slot, if any. */
  notifyIfWaiting(): void {
    if (Atomics.load(this.#words, this.#waitersIndex) > 0)
      wakeWord(this.#words, this.#versionIndex);
  }

  /**
   * Resolves once the counter differs from `from`; rejects with the signal's reason on abort and
   * with ERR_TIMEOUT after `timeoutMs`. A timeout is a timer and keeps the process alive; a
   * wait without one does not (like a promise on an event nobody emits).
   */
  waitForChange(from: number, options: WaitForChangeOptions): Promise<void> {
    // Validated by SharedObject.changed() (timeoutMs: undefined, Infinity or a number >= 0).
    const { signal, timeoutMs } = options;
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the caller's abort reason, as in Node's APIs
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      this.#start(from, signal, timeoutMs, resolve, reject);
    });
  }

  #start(
    from: number,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    resolve: () => void,
    reject: (error: unknown) => void,
  ): void {
    let timer: LongTimeout | undefined;
    const finish: Finish = (failure) => {
      if (!this.#pending.delete(finish)) return;
      Atomics.sub(this.#words, this.#waitersIndex, 1);
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
      if (failure === undefined) {
        resolve();
        return;
      }
      // Our waitAsync entry stays queued in V8 until a notify: wake it (and, harmlessly, the
      // other waiters of this slot, which re-check and wait again) so that it does not leak.
      wakeWord(this.#words, this.#versionIndex);
      reject(failure.error);
    };
    const onAbort = (): void => {
      finish({ error: abortReason(signal as AbortSignal) });
    };
    this.#pending.add(finish);
    Atomics.add(this.#words, this.#waitersIndex, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      const error = new KeelError(
        'ERR_TIMEOUT',
        `SharedObject "${this.#name}" did not change within timeoutMs (${timeoutMs} ms)`,
      );
      timer = setLongTimeout(() => {
        finish({ error });
      }, timeoutMs);
    }
    this.#waitFrom(from, finish);
  }

  /** Rejects every pending wait of this handle (close()). */
  rejectAll(reason: unknown): void {
    for (const finish of [...this.#pending]) finish({ error: reason });
  }

  #waitFrom(from: number, finish: Finish): void {
    if (!this.#pending.has(finish)) return;
    const result = waitWordAsync(this.#words, this.#versionIndex, from);
    if (!result.async) {
      finish(); // 'not-equal': it changed between the call and the wait
      return;
    }
    void result.value.then(() => {
      if (Atomics.load(this.#words, this.#versionIndex) !== from) finish();
      else this.#waitFrom(from, finish); // woken by another waiter's clean-up
    });
  }
}
