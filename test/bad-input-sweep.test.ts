// Every public entry point refuses nonsense with a KeelError, quickly, and never freezes the
// event loop: each option of each entry is fed the same hostile values (strings, NaN, Infinity,
// negatives, fractions, 1e9, objects, null, arrays, booleans, an unknown key) in a child process
// watched by a timeout (test/fixtures/bad-input-sweep.mjs runs the cases).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fixturePath } from './helpers.js';

/** What an option is, and so which of the hostile values it must refuse. */
type OptionKind =
  | 'threads'
  | 'count'
  | 'size'
  | 'bytes'
  | 'duration'
  | 'number'
  | 'positive'
  | 'boolean'
  | 'function'
  | 'enum'
  | 'signal'
  | 'object'
  | 'switch'
  | 'instance'
  | 'string'
  | 'array';

const kAll = [
  'string',
  'NaN',
  'Infinity',
  'negative',
  'fraction',
  'huge',
  'object',
  'null',
  'array',
  'true',
];
const kNotNumbers = ['string', 'NaN', 'object', 'null', 'array', 'true'];

/**
 * The labels each kind must refuse. The others may be accepted (1e9 ms is a valid timeout,
 * Infinity means none); accepted or refused, no case may throw a non-KeelError, hang past the
 * child's bound, or freeze the loop.
 */
const kMustRefuse: Record<OptionKind, readonly string[]> = {
  threads: kAll,
  count: [...kNotNumbers, 'Infinity', 'negative', 'fraction'],
  size: [...kNotNumbers, 'negative', 'fraction'],
  bytes: [...kNotNumbers, 'Infinity', 'negative', 'fraction'],
  duration: [...kNotNumbers, 'negative'],
  number: [...kNotNumbers, 'Infinity'],
  positive: [...kNotNumbers, 'negative'],
  boolean: kAll.filter((label) => label !== 'true'),
  function: kAll,
  enum: kAll,
  signal: kAll,
  object: kAll.filter((label) => label !== 'object'),
  // true for the defaults, or an object of settings (a pipeline's progress view)
  switch: kAll.filter((label) => label !== 'object' && label !== 'true'),
  instance: kAll,
  string: kAll.filter((label) => label !== 'string'),
  array: kAll.filter((label) => label !== 'array'),
};

interface CaseLine {
  readonly entry: string;
  readonly key: string;
  readonly label: string;
  readonly kind?: OptionKind;
  readonly outcome: 'threw' | 'rejected' | 'accepted' | 'pending';
  readonly keel?: boolean;
  readonly code?: string;
  readonly name?: string;
  readonly message?: string;
  readonly longestGapMs: number;
}

/** A frozen loop shows as a gap this long between two 10 ms heartbeats. */
const kFrozenGapMs = 2000;

function runGroup(group: string): CaseLine[] {
  const child = spawnSync(process.execPath, [fixturePath('bad-input-sweep.mjs'), group], {
    encoding: 'utf8',
    timeout: 240_000,
    maxBuffer: 64 * 2 ** 20,
  });
  const lines = child.stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as CaseLine & { start?: string });
  const last = lines.at(-1);
  assert.equal(
    child.status,
    0,
    `the sweep child of group ${group} did not finish (signal ${child.signal}); ` +
      `last line: ${JSON.stringify(last)}\n${child.stderr.slice(-2000)}`,
  );
  return lines.filter((line) => line.start === undefined);
}

function problemsOf(line: CaseLine): string[] {
  const where = `${line.entry} ${line.key}=${line.label}`;
  const problems: string[] = [];
  if ((line.outcome === 'threw' || line.outcome === 'rejected') && line.keel !== true) {
    problems.push(
      `${where}: ${line.name ?? 'a non-Error'} instead of a KeelError (${line.message})`,
    );
  }
  if (line.longestGapMs > kFrozenGapMs) {
    problems.push(`${where}: the event loop stalled for ${line.longestGapMs} ms`);
  }
  const mustRefuse =
    line.key === '(options)' || line.key === '(unknown key)'
      ? true
      : line.kind !== undefined && kMustRefuse[line.kind].includes(line.label);
  if (mustRefuse && !(line.keel === true && line.code === 'ERR_INVALID_ARGUMENT')) {
    problems.push(
      `${where}: expected ERR_INVALID_ARGUMENT, got ${line.outcome}` +
        (line.code === undefined ? '' : ` ${line.code} (${line.message})`),
    );
  }
  if (line.key === '(unknown key)' && !line.message?.includes('bogusKey')) {
    problems.push(`${where}: the message does not name the unknown key (${line.message})`);
  }
  return problems;
}

describe('bad input sweep', () => {
  for (const group of ['pool', 'spawn', 'memory', 'streams', 'realtime']) {
    it(`${group}: every hostile option value is a KeelError or accepted, never a hang or freeze`, () => {
      const lines = runGroup(group);
      assert.ok(lines.length > 20, `the ${group} sweep ran only ${lines.length} cases`);
      const problems = lines.flatMap(problemsOf);
      assert.deepEqual(problems, [], `${problems.length} of ${lines.length} cases failed`);
    });
  }
});
