/**
 * Makes TypeScript user modules load in worker threads when the caller runs TypeScript.
 *
 * Node 20 runs `--import` preloads (how tsx installs its hooks) in the main thread only, so a
 * worker inherits `--import tsx` in its execArgv and still fails on `.ts` with
 * ERR_UNKNOWN_FILE_EXTENSION (checked on v20.20). tsx's `register()` API does work inside a
 * worker, so the caller finds the tsx its own process was started with and the worker calls
 * that `register()` before it imports the first TypeScript module. Node's own type stripping
 * (`--experimental-strip-types`, default on Node >= 23.6) is a flag that workers inherit, so it
 * needs nothing here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LoaderHook } from '../../protocol/messages.js';

let cachedHooks: readonly LoaderHook[] | undefined;

/** The hooks a worker must install to import modules the way this process does. */
export function loaderHooksForWorkers(): readonly LoaderHook[] {
  cachedHooks ??= findTsxHook(process.execArgv);
  return cachedHooks;
}

function findTsxHook(execArgv: readonly string[]): readonly LoaderHook[] {
  for (const preload of preloadSpecifiers(execArgv)) {
    if (!/(^|[\\/])tsx([\\/@]|$)/.test(preload)) continue;
    const url = resolveTsxRegisterApi(preload);
    if (url) return [{ kind: 'tsx', url }];
  }
  return [];
}

function preloadSpecifiers(execArgv: readonly string[]): string[] {
  const flags = ['--import', '--loader', '--experimental-loader', '--require', '-r'];
  const found: string[] = [];
  for (let index = 0; index < execArgv.length; index++) {
    const argument = execArgv[index]!;
    const flag = flags.find((name) => argument === name || argument.startsWith(`${name}=`));
    if (!flag) continue;
    const value = argument === flag ? execArgv[++index] : argument.slice(flag.length + 1);
    if (value) found.push(value);
  }
  return found;
}

function resolveTsxRegisterApi(preload: string): string | undefined {
  try {
    const base = preload.startsWith('file:')
      ? fileURLToPath(preload)
      : preload.startsWith('/')
        ? preload
        : join(process.cwd(), 'noop.js');
    const manifestPath = createRequire(base).resolve('tsx/package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      exports?: Record<string, { import?: { default?: string } } | string>;
    };
    const entry = manifest.exports?.['./esm/api'];
    const relative = typeof entry === 'object' ? entry.import?.default : undefined;
    return relative ? pathToFileURL(join(dirname(manifestPath), relative)).href : undefined;
  } catch {
    return undefined;
  }
}
