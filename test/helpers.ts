/** Small helpers shared by the tests. */
import { nativeStatus } from 'keel';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function fixture(name: string): URL {
  return new URL(`./fixtures/${name}`, import.meta.url);
}

export function fixturePath(name: string): string {
  return fileURLToPath(fixture(name));
}

/** A shared flag block for blockUntilReleased-style fixtures. */
export class Flags {
  readonly buffer = new SharedArrayBuffer(8);
  readonly #view = new Int32Array(this.buffer);

  /** Resolves once the worker stored 1 at index 0; rejects after `timeoutMs`. */
  async started(timeoutMs = 10_000): Promise<void> {
    const result = Atomics.waitAsync(this.#view, 0, 0, timeoutMs);
    const outcome = result.async ? await result.value : result.value;
    if (outcome === 'timed-out') throw new Error('the worker never signalled that it started');
  }

  release(): void {
    Atomics.store(this.#view, 1, 1);
    Atomics.notify(this.#view, 1);
  }
}

export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

export interface ScriptRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a fixture script in a child Node process: `node [nodeArgs] fixture [scriptArgs]`. */
export function runScript(
  name: string,
  options: { nodeArgs?: string[]; scriptArgs?: string[] } = {},
): ScriptRun {
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [...(options.nodeArgs ?? []), fixturePath(name), ...(options.scriptArgs ?? [])],
    { encoding: 'utf8', timeout: 20_000 },
  );
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    ms: Date.now() - started,
  };
}

/** Resolves once `done()` is true (polled every 5 ms); fails the test after `limitMs` (5 s). */
export async function eventually(
  done: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Whether a process with this pid exists (a zombie not yet reaped counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Test options for what needs keel's native layer (machine-scope slots, process arenas and
 * lanes): skipped, with the reason, when it is not loaded (the suite's KEEL_NATIVE=0 run).
 * test/native-fuzz.test.ts fails a run whose addon should have loaded and did not.
 */
export const kNeedsNative: { skip?: string } = nativeStatus().loaded
  ? {}
  : { skip: `keel's native layer is not loaded: ${nativeStatus().reason ?? 'unknown'}` };

/**
 * The pid a task in a child process wrote to `path` (a fixture's way to say "I started"),
 * once it did. Never this process's own pid: a task that ran on a thread fails here, before a
 * test could kill its own runner.
 */
export async function childPidWrittenTo(path: string, limitMs = 20_000): Promise<number> {
  await eventually(
    () => existsSync(path) && readFileSync(path, 'utf8').length > 0,
    `${path} written`,
    limitMs,
  );
  const pid = Number(readFileSync(path, 'utf8'));
  if (pid === process.pid) throw new Error('the task ran in this process, not in a child');
  return pid;
}
