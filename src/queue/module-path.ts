/**
 * Module references made portable. A caller names a module as keel does everywhere (an absolute
 * path or a `file:` URL); the job carries it relative to the caller's `root`, and each worker
 * resolves it against its own `root` (the same application checkout, somewhere else).
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KeelError, invalidArgument } from '../errors.js';
import { moduleHref, type ModuleRef } from '../execution/module-ref.js';

/**
 * `root` as an absolute directory: a path (relative ones against the working directory) or a
 * `file:` URL; default the working directory. Symbolic links are resolved, as Node resolves
 * them for the modules it loads, so that both sides compare real paths.
 */
export function checkRoot(name: string, value: unknown): string {
  if (value === undefined) return realPath(process.cwd());
  let path: string;
  if (value instanceof URL && value.protocol === 'file:') path = fileURLToPath(value);
  else if (typeof value === 'string' && value.length > 0) path = resolve(value);
  else throw invalidArgument(name, 'a directory path or a file: URL', value);
  return realPath(path);
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The caller's side: `moduleRef` as a '/'-separated path relative to `root`. A module outside
 * `root` cannot be found by a worker on another machine: ERR_INVALID_ARGUMENT, at the call site.
 */
export function portableModulePath(moduleRef: ModuleRef, root: string): string {
  const href = moduleHref(moduleRef);
  if (!href.startsWith('file:')) {
    throw invalidArgument('moduleRef', 'a file inside root (a data: URL cannot be queued)', href);
  }
  const path = realPath(fileURLToPath(href));
  const inside = relative(root, path);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    throw invalidArgument('moduleRef', `a module inside root (${root})`, path);
  }
  return inside.split(sep).join('/');
}

/**
 * The worker's side: the `file:` href of a job's module under this worker's `root`. A path that
 * climbs out of `root` (`../`, an absolute path) is refused: whoever can queue jobs may run the
 * exports of modules under root, and nothing else.
 */
export function moduleHrefUnder(portablePath: string, root: string): string {
  const path = resolve(root, ...portablePath.split('/'));
  const inside = relative(root, path);
  if (
    portablePath.length === 0 ||
    portablePath.startsWith('/') ||
    inside.startsWith('..') ||
    isAbsolute(inside)
  ) {
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      `the job's module ${JSON.stringify(portablePath)} is not a path inside this worker's root (${root})`,
    );
  }
  return pathToFileURL(path).href;
}
