/**
 * The Node flags a keel worker starts with. Inherited flags (no `execArgv` option) are the
 * caller's, minus those that say what the *process* runs rather than how Node runs: a program
 * started as `node --input-type=module -e "..."` would otherwise hand its workers a flag a
 * thread refuses at boot (ERR_INPUT_TYPE_NOT_ALLOWED), and a child forked with `-e` would run
 * that code instead of keel's entry. Flags given explicitly are never edited: one of those flags
 * among them is refused loudly (`KeelError` ERR_START_FAILED), never dropped in silence.
 */
import { KeelError } from '../errors.js';

/** Flags that choose the program to run or turn Node into a tool, each with its value. */
const kProgramFlagsWithValue: ReadonlySet<string> = new Set([
  '-e',
  '--eval',
  '-p',
  '--print',
  '-pe',
  '--input-type',
  '--watch-path',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-concurrency',
  '--test-timeout',
  '--test-shard',
  '--test-isolation',
  '--experimental-test-isolation',
  '--test-coverage-include',
  '--test-coverage-exclude',
  '--test-coverage-branches',
  '--test-coverage-functions',
  '--test-coverage-lines',
]);

/** The same, without a value. */
const kProgramFlags: ReadonlySet<string> = new Set([
  '-i',
  '--interactive',
  '-c',
  '--check',
  '--watch',
  '--watch-preserve-output',
]);

/** `--test` and its family (the runner's flags), including ones newer than this list. */
function isTestRunnerFlag(name: string): boolean {
  return name === '--test' || name.startsWith('--test-') || name.startsWith('--experimental-test-');
}

function flagName(argument: string): string {
  const equals = argument.indexOf('=');
  return equals === -1 ? argument : argument.slice(0, equals);
}

/**
 * Whether `argument` is a flag that cannot apply to a worker, and if so how many arguments it
 * spans (itself, and its value when not written as `--flag=value`). 0: not such a flag.
 */
function programFlagLength(argument: string): number {
  const name = flagName(argument);
  if (kProgramFlagsWithValue.has(name)) return name === argument ? 2 : 1;
  if (kProgramFlags.has(name) || isTestRunnerFlag(name)) return 1;
  return 0;
}

/**
 * `execArgv` without the flags that cannot apply to a worker (`-e`/`--eval`, `-p`/`--print`,
 * `--input-type`, `-i`, `--check`, `--watch*`, the `--test*` runner's), each with its value.
 * Everything else stays, in order: `--import`, `-r`, `--conditions`, V8 flags, `--inspect`.
 */
export function inheritableExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let index = 0; index < execArgv.length; index += 1) {
    const argument = execArgv[index] as string;
    const length = programFlagLength(argument);
    if (length === 0) kept.push(argument);
    else index += length - 1;
  }
  return kept;
}

/** The first flag of `execArgv` that cannot apply to a worker, if any. */
export function programFlagIn(execArgv: readonly string[]): string | undefined {
  return execArgv.find((argument) => programFlagLength(argument) > 0);
}

/**
 * The flags to start a worker with. `given` (the `execArgv` option) unchanged, after refusing a
 * flag that cannot apply to a worker (ERR_START_FAILED, as for any flag Node refuses). Without
 * it: for a child process, the caller's inheritable flags (`fork` would otherwise copy
 * `process.execArgv` whole); for a thread, `undefined`, Node's own inheritance (it keeps the
 * caller's V8 flags, which a thread would refuse if they were listed; `--input-type` is
 * handled where the thread starts, see `inheritsInputType`).
 */
export function workerExecArgv(
  kind: 'thread' | 'process',
  given: readonly string[] | undefined,
  inherited: readonly string[] = process.execArgv,
): readonly string[] | undefined {
  if (given === undefined) return kind === 'process' ? inheritableExecArgv(inherited) : undefined;
  const refused = programFlagIn(given);
  if (refused !== undefined) {
    throw new KeelError(
      'ERR_START_FAILED',
      `the worker could not be started: execArgv holds ${refused}, which cannot apply to a worker ` +
        "(it chooses what the process runs); leave execArgv out to inherit the caller's flags without it",
    );
  }
  return given;
}

/**
 * Whether a thread that inherits `inherited` inherits `--input-type`: Node then refuses to load
 * a file as the thread's main module (ERR_INPUT_TYPE_NOT_ALLOWED), and keel's entry must be
 * imported from an inline module instead (transport/caller/thread.ts).
 */
export function inheritsInputType(inherited: readonly string[] = process.execArgv): boolean {
  for (let index = 0; index < inherited.length;) {
    const argument = inherited[index] as string;
    if (flagName(argument) === '--input-type') return true;
    index += Math.max(1, programFlagLength(argument));
  }
  return false;
}
