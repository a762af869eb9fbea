/**
 * `resourceLimits`: V8 heap and stack limits of a worker (worker_threads' own option; for a child
 * process, `maxOldGenerationSizeMb` becomes `--max-old-space-size`). Node passes these to V8
 * unchecked, and a tiny `stackSizeMb` (0.1 and below, on Node 20) crashes the *parent* process,
 * so every field is checked here before any worker is started.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { invalidArgument } from '../errors.js';
import { checkOptions, type OptionKeys } from './known-keys.js';

const kResourceLimitKeys: OptionKeys<ResourceLimits> = {
  maxYoungGenerationSizeMb: true,
  maxOldGenerationSizeMb: true,
  codeRangeSizeMb: true,
  stackSizeMb: true,
};

/**
 * The smallest stack keel starts a worker with: below ~0.5 MB a Node 20 worker cannot even
 * load its entry module, and below ~0.1 MB it brings down the parent. 1 MB leaves room for
 * keel's worker entry and a modest user module.
 */
export const kMinStackSizeMb = 1;

/** Validates `resourceLimits`: known keys only, each a finite number > 0 (stack: >= 1 MB). */
export function checkResourceLimits(value: unknown): ResourceLimits | undefined {
  checkOptions<ResourceLimits>('resourceLimits', value, kResourceLimitKeys);
  if (value === undefined) return undefined;
  for (const [key, limit] of Object.entries(value)) {
    if (limit === undefined) continue;
    const min = key === 'stackSizeMb' ? kMinStackSizeMb : 0;
    if (
      typeof limit !== 'number' ||
      !Number.isFinite(limit) ||
      !(limit > min || (min > 0 && limit === min))
    ) {
      throw invalidArgument(
        `resourceLimits.${key}`,
        min > 0 ? `a finite number of MB >= ${min}` : 'a finite number of MB > 0',
        limit,
      );
    }
  }
  return value;
}
