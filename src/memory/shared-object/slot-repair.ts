/**
 * Repair of a machine-scope slot whose last writer died holding the robust mutex (SIGKILL at any
 * instruction of assign or trigger). Runs under the mutex, by the writer that got 'recovered',
 * before it writes. docs/shared-object.md ("Crash recovery") argues why readers and the next
 * writer are then correct. Writer side only; never blocks; allocates nothing.
 *
 * What a dead writer may have left, by the step it died in (slot-engine.ts, write()):
 * - a claim raised on a spare copy (claims[c] = 1): no writer would ever pick that copy again
 *   while pins are checked, and readers that see it go elsewhere;
 * - an odd sequence on that copy (seq[c] odd): its bytes are half written;
 * - a half-made announcement: `published`, `latest` or `mtime` moved but `version` did not, so
 *   modified / changed() would miss a value readers already fetch.
 * `latest` itself is always a whole copy: the writer stores it only after the copy's sequence
 * turned even again, and a claim never targets `latest`.
 */
import { copyBytes } from '../copy-bytes.js';
import { kCopyCount, kWord } from './layout.js';

/**
 * Makes every copy whole and unclaimed again. A copy left odd gets the bytes of `latest`, then
 * an even sequence it never had before, so a reader that pinned it before the crash fails its
 * validation and retries, and a reader pinning it later reads a whole value. The caller then
 * announces a change (version and mtime move, waiters wake), which covers a half-made announcement:
 * a recovery counts as one change.
 */
export function repairAfterDeadWriter(words: Int32Array, copies: readonly Uint8Array[]): void {
  const latest = Atomics.load(words, kWord.latest);
  for (let copy = 0; copy < kCopyCount; copy++) {
    const seq = Atomics.load(words, kWord.seq + copy);
    if ((seq & 1) !== 0 && copy !== latest) {
      copyBytes(copies[copy] as Uint8Array, copies[latest] as Uint8Array);
      // Even and new: the copy holds a whole value again (readers may pin it).
      Atomics.store(words, kWord.seq + copy, seq + 1);
    }
    // Unclaimed: writers may pick the copy again.
    Atomics.store(words, kWord.claims + copy, 0);
  }
}
