/**
 * Unknown option keys are errors: a JavaScript caller has no compiler to catch `maxThread` or
 * `timeout`, and an ignored typo silently runs with the default. Every public entry point lists
 * its keys once, typed against its options interface so the list cannot drift from it.
 */
import { invalidArgument, KeelError } from '../errors.js';

/** The keys of an options object, checked complete and exact against its interface `T`. */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/**
 * Throws unless `options` is undefined or a plain object whose every own key is in `keys`.
 * The error names the unknown key and the closest valid one ("did you mean maxThreads?").
 * `name` is how the caller wrote the object (`options`, `options.resourceLimits`).
 */
export function checkOptions<T>(
  name: string,
  options: unknown,
  keys: OptionKeys<T>,
): asserts options is T | undefined {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument(name, 'an object', options);
  }
  const valid = Object.keys(keys);
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(keys, key)) continue;
    const closest = closestKey(key, valid);
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      `${name}.${key} is not an option` +
        (closest === undefined ? '' : `; did you mean ${closest}?`) +
        ` Valid options: ${valid.join(', ')}`,
    );
  }
}

/** The valid key nearest to `key` by edit distance (case-insensitive), if any is near at all. */
export function closestKey(key: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = key.toLowerCase();
  for (const candidate of valid) {
    const candidateLower = candidate.toLowerCase();
    // A key inside a valid one (`timeout` of `timeoutMs` or `callTimeoutMs`) is the likeliest
    // slip: a unit suffix or a qualifier left out.
    const distance =
      candidateLower.includes(lower) || lower.includes(candidateLower)
        ? Math.abs(candidate.length - key.length) / 4
        : editDistance(lower, candidateLower);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, key.length / 3) ? best : undefined;
}

/** Levenshtein distance, two rows. Keys are short: no need for anything cleverer. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
