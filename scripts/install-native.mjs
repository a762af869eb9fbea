// keel's `install` script: makes sure a build of the native addon (native/, binding.gyp) loads.
//
// - A prebuild (prebuilds/<platform>-<arch>/, shipped in the package) or an earlier source build
//   (build/Release) that loads in this Node: nothing to do.
// - Otherwise a source build with node-gyp (python3, make and a C++17 compiler).
// - When that fails too: one warning, and exit 0. keel works without the addon (by copying
//   between processes), so a failed native build must never fail `npm install` or `npm ci`.
//
// npm would run `node-gyp rebuild` by itself for a package with a binding.gyp and no install
// script; this script replaces that. npm 11 asks users before it runs a dependency's install
// scripts: with `--ignore-scripts` (or unapproved) the prebuild alone must be enough, which is why
// the package carries one (scripts/prebuild-native.mjs, run by `prepack`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The package root: the folder that holds binding.gyp and native/. */
export const kPackageRoot = fileURLToPath(new URL('../', import.meta.url));

const kBuildTimeoutMs = 10 * 60_000;

/**
 * The node-gyp command to run: npm's own inside npm scripts (`npm_config_node_gyp`), else npm's
 * bundled copy beside this Node, else `node-gyp` from PATH. Returns [command, ...leading args].
 */
export function nodeGypCommand() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const prefix = dirname(dirname(process.execPath));
  const bundled = join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

/**
 * node-gyp's `--nodedir` when the headers are at hand: npm's `nodedir` setting, else the
 * headers installed with this Node (`<prefix>/include/node/node.h`). Without it node-gyp
 * downloads them, which fails on a machine without internet access.
 */
export function nodeDirArgs() {
  const configured = process.env.npm_config_nodedir;
  if (configured) return [`--nodedir=${configured}`];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include/node/node.h')) ? [`--nodedir=${prefix}`] : [];
}

/**
 * Runs `node-gyp rebuild` in `root` (a folder with binding.gyp and native/), with `env` added to
 * the environment. Returns { ok, output, addon } where `addon` is the built keel.node.
 */
export function buildFromSource(root, { env = {}, quiet = true } = {}) {
  const [command, ...leading] = nodeGypCommand();
  const result = spawnSync(command, [...leading, 'rebuild', ...nodeDirArgs()], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: quiet ? 'pipe' : 'inherit',
    timeout: kBuildTimeoutMs,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`;
  const addon = join(root, 'build/Release/keel.node');
  return { ok: result.status === 0 && existsSync(addon), output, addon };
}

/** Whether the addon at `file` loads in a fresh Node process (a bad binary cannot crash us). */
export function loads(file) {
  const probe = `require(${JSON.stringify(file)}).features()`;
  const result = spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore', timeout: 30_000 });
  return result.status === 0;
}

/** The build node-gyp-build would pick from `root` (build/Release, then prebuilds/), if any. */
function resolvedAddon(root) {
  try {
    const require = createRequire(join(root, 'package.json'));
    const findBinding = require('node-gyp-build');
    return findBinding.resolve(root);
  } catch {
    return undefined;
  }
}

/** Whether a source build in `root` is older than a source file (a checkout that moved on). */
function staleBuild(root, addon) {
  if (!addon.startsWith(join(root, 'build'))) return false;
  const built = statSync(addon).mtimeMs;
  const sources = ['binding.gyp', ...readdirSync(join(root, 'native')).map((f) => `native/${f}`)];
  return sources.some((file) => statSync(join(root, file)).mtimeMs > built);
}

function warn(reason, output) {
  const tail = output.trim().split('\n').slice(-8).join('\n    ');
  console.warn(
    [
      `keel: the native addon was not built (${reason}).`,
      '  keel works without it: processes exchange data by copying, and machine-scope',
      '  SharedObjects and process arenas throw ERR_UNSUPPORTED (see nativeStatus()).',
      '  To build it later, install python3, make and g++, then run `npm rebuild keel`',
      '  (in a clone of keel: `npm run install`). See docs/native.md.',
      tail ? `  Last lines of the build:\n    ${tail}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

function main() {
  const current = resolvedAddon(kPackageRoot);
  if (current && loads(current) && !staleBuild(kPackageRoot, current)) return;
  if (!existsSync(join(kPackageRoot, 'binding.gyp'))) {
    warn('no prebuild matches this platform and the sources are not in the package', '');
    return;
  }
  const build = buildFromSource(kPackageRoot);
  if (build.ok && loads(build.addon)) return;
  // A half-made build/ would shadow a prebuild that does load: node-gyp-build tries build/ first.
  rmSync(join(kPackageRoot, 'build'), { recursive: true, force: true });
  const fallback = resolvedAddon(kPackageRoot);
  if (fallback && loads(fallback)) return;
  warn(build.ok ? 'the build does not load in this Node' : 'node-gyp failed', build.output);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (error) {
    warn(`the install script failed: ${error instanceof Error ? error.message : error}`, '');
  }
  process.exitCode = 0;
}
