/** Helpers of the tests between Node and Python (python/keel_shared_object.py). */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeStatus } from 'keel';
import { Program, runProgram } from './shared-object-machine-helpers.js';

/** keel's python/ folder, where keel_shared_object.py lives. */
const kPythonFolder = fileURLToPath(new URL('../python/', import.meta.url));

function pythonMissing(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.error !== undefined) return `python3 cannot be run (${probe.error.message})`;
  if (probe.status !== 0) return `python3 has no numpy (${probe.stderr.trim().split('\n').pop()})`;
  return undefined;
}

/**
 * Test options for what needs python3 with numpy and keel's native layer (machine-scope
 * slots): skipped, with the reason, when either is missing (the suite's KEEL_NATIVE=0 run).
 */
export const kNeedsPython: { skip?: string } = (() => {
  if (!nativeStatus().loaded)
    return { skip: `keel's native layer is not loaded: ${nativeStatus().reason ?? 'unknown'}` };
  const missing = pythonMissing();
  return missing === undefined ? {} : { skip: missing };
})();

const kPythonOptions = {
  command: ['python3'],
  env: { ...process.env, PYTHONPATH: kPythonFolder, PYTHONDONTWRITEBYTECODE: '1' },
};

/** test/fixtures/python-peer.py with `args`, whose stdout lines can be awaited. */
export function pythonPeer(args: string[]): Program {
  return new Program('python-peer.py', args, kPythonOptions);
}

/** Runs python-peer.py to its end and returns its first line, parsed. */
export function runPythonPeer(args: string[]): Promise<unknown> {
  return runProgram('python-peer.py', args, kPythonOptions);
}
