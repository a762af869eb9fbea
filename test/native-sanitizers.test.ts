// The native addon's fuzz and futex checks find no memory error and no undefined behaviour:
// the addon is built once with -fsanitize=address,undefined into a temporary folder, and the
// children of test/native-fuzz.test.ts run against that build (KEEL_NATIVE_ADDON), with the
// sanitizer runtimes preloaded into Node. Any sanitizer report on stderr fails the test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixturePath } from './helpers.ts';

const kRoot = fileURLToPath(new URL('../', import.meta.url));
// Without vptr: UBSan's vptr check needs RTTI for every class it sees, and the shared_ptr control
// blocks of V8's BackingStore come from Node's binary, built without RTTI (a false report
// in std::shared_ptr on every SharedArrayBuffer the addon makes).
const kSanitizerFlags = '-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer';
const seed = Number(process.env.KEEL_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** A sanitizer runtime's path, if g++ has it (g++ echoes the bare name when it does not). */
function runtime(name: string): string | undefined {
  const result = spawnSync('g++', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const path = result.status === 0 ? result.stdout.trim() : '';
  return path.startsWith('/') && existsSync(path) ? path : undefined;
}

const asan = process.platform === 'linux' ? runtime('libasan.so') : undefined;
const ubsan = process.platform === 'linux' ? runtime('libubsan.so') : undefined;
const skip =
  process.env.KEEL_NATIVE === '0'
    ? 'KEEL_NATIVE=0: the addon is disabled in this run'
    : process.platform !== 'linux' || process.arch !== 'x64'
      ? 'the sanitizer build is made on linux-x64 only'
      : !asan || !ubsan
        ? 'g++ or its sanitizer runtimes (libasan, libubsan) are not installed'
        : false;

function nodeGyp(): string[] {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [fromNpm];
  const prefix = dirname(dirname(process.execPath));
  return [join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')];
}

function nodeDir(): string[] {
  const configured = process.env.npm_config_nodedir;
  if (configured) return [`--nodedir=${configured}`];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include/node/node.h')) ? [`--nodedir=${prefix}`] : [];
}

describe('the native addon under AddressSanitizer and UndefinedBehaviorSanitizer', { skip }, () => {
  let folder = '';
  let addon = '';

  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'keel-sanitized-'));
    cpSync(join(kRoot, 'binding.gyp'), join(folder, 'binding.gyp'));
    cpSync(join(kRoot, 'native'), join(folder, 'native'), { recursive: true });
    const build = spawnSync(process.execPath, [...nodeGyp(), 'rebuild', ...nodeDir()], {
      cwd: folder,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CXXFLAGS: kSanitizerFlags, LDFLAGS: kSanitizerFlags },
    });
    addon = join(folder, 'build/Release/keel.node');
    assert.equal(build.status, 0, `the sanitizer build failed:\n${build.stdout}\n${build.stderr}`);
  });

  after(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  /** Runs a fixture against the sanitizer build; fails on any report or a non-zero exit. */
  function runSanitized(fixture: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): void {
    const started = Date.now();
    const result = spawnSync(process.execPath, [fixturePath(fixture), ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
      env: {
        ...process.env,
        KEEL_NATIVE_ADDON: addon,
        LD_PRELOAD: `${asan} ${ubsan}`,
        ASAN_OPTIONS: 'detect_leaks=0',
        UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
        ...extraEnv,
      },
    });
    const report = `${fixture} ${args.join(' ')} (seed ${seed}): status ${result.status}, signal ${result.signal}, ${Date.now() - started} ms\n${result.stderr}`;
    assert.doesNotMatch(
      result.stderr,
      /AddressSanitizer|runtime error:|UndefinedBehaviorSanitizer|LeakSanitizer/,
      report,
    );
    assert.equal(result.signal, null, report);
    assert.equal(result.status, 0, report);
  }

  test('the sanitizer build is the one the children load', () => {
    const probe = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('keel'); console.log(JSON.stringify(m.nativeStatus()))",
      ],
      {
        encoding: 'utf8',
        cwd: kRoot,
        env: {
          ...process.env,
          KEEL_NATIVE_ADDON: addon,
          LD_PRELOAD: `${asan} ${ubsan}`,
          ASAN_OPTIONS: 'detect_leaks=0',
        },
      },
    );
    assert.equal(probe.status, 0, probe.stderr);
    assert.equal((JSON.parse(probe.stdout) as { loaded: boolean }).loaded, true);
    // The build carries the sanitizer: its symbols reference the ASan runtime.
    const symbols = spawnSync('nm', ['-D', '--undefined-only', addon], { encoding: 'utf8' });
    if (symbols.status === 0) assert.match(symbols.stdout, /__asan_/);
  });

  test('the fuzz of every raw function runs clean', () => {
    runSanitized('native-fuzz.mjs', [String(seed), '150']);
  });

  test('the scheduling check runs clean', () => {
    runSanitized('native-scheduling.mjs', []);
  });

  // Both async-wait engines: io_uring (the default where the kernel allows it) and the waiter
  // thread (KEEL_NATIVE_NO_URING).
  const engines = [
    ['', {}],
    [' (waiter thread)', { KEEL_NATIVE_NO_URING: '1' }],
  ] as const;
  for (const [engine, engineEnv] of engines)
    for (const mode of ['semantics', 'many', 'timeouts', 'cross', 'mutex']) {
      test(`the futex check "${mode}"${engine} runs clean`, () => {
        const name = `/kfs${process.pid}-${mode}${engine ? 't' : ''}`;
        const args =
          mode === 'semantics'
            ? [String(seed), '50']
            : mode === 'cross' || mode === 'mutex'
              ? [name]
              : [];
        try {
          runSanitized('native-futex.mjs', [mode, ...args], engineEnv);
        } finally {
          // A child stopped by a sanitizer report cannot unlink its segment: remove it, then say so.
          const left = readdirSync('/dev/shm').filter((entry) =>
            entry.startsWith(`kfs${process.pid}`),
          );
          for (const entry of left) rmSync(join('/dev/shm', entry), { force: true });
          assert.deepEqual(left, [], 'segments left behind');
        }
      });
    }
});
