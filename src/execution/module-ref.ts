/**
 * Module references: how user code names the module a worker imports.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalidArgument } from '../errors.js';

/** An absolute path or `file:` URL of an ES module (or CommonJS file) that a worker imports. */
export type ModuleRef = string | URL;

/** The `file:` href of a module reference; throws ERR_INVALID_ARGUMENT for anything else. */
export function moduleHref(ref: ModuleRef, name = 'moduleRef'): string {
  if (ref instanceof URL) return checkedUrl(urlParts(ref, name), name);
  if (typeof ref !== 'string' || ref.length === 0) {
    throw invalidArgument(name, 'an absolute path or a file: URL', ref);
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) && !/^[a-z]:[\\/]/i.test(ref)) {
    return checkedUrl(urlParts(ref, name), name);
  }
  if (!isAbsolute(ref)) {
    throw invalidArgument(
      name,
      "an absolute path or a file: URL (use new URL('./module.js', import.meta.url) for a path relative to your file)",
      ref,
    );
  }
  return pathToFileURL(ref).href;
}

/**
 * The protocol and href of a URL, read once. Node's URL throws a TypeError for a string it cannot
 * parse (`file://a:99999/`) and for an object that only inherits from URL.prototype.
 */
function urlParts(ref: string | URL, name: string): { protocol: string; href: string } {
  try {
    const url = typeof ref === 'string' ? new URL(ref) : ref;
    return { protocol: url.protocol, href: url.href };
  } catch {
    throw invalidArgument(name, 'an absolute path or a valid file: URL', ref);
  }
}

function checkedUrl(url: { protocol: string; href: string }, name: string): string {
  if (url.protocol !== 'file:' && url.protocol !== 'data:') {
    throw invalidArgument(name, 'a file: URL', url.href);
  }
  return url.href;
}

/** How many conversions a `ModuleMemo` keeps: far more modules than a program names. */
const kMaxRemembered = 1024;

/**
 * A conversion of module references remembered per name: the same few modules are named on
 * every call, and converting one parses a path or a URL (a queue caller's also asks the file
 * system for its real path). A URL object is converted every time (it may have changed since);
 * failures are not remembered; past 1,024 names new ones are converted every time.
 */
export class ModuleMemo<Ref extends ModuleRef = ModuleRef> {
  readonly #convert: (moduleRef: Ref) => string;
  readonly #results = new Map<string, string>();

  constructor(convert: (moduleRef: Ref) => string) {
    this.#convert = convert;
  }

  get(moduleRef: Ref): string {
    if (typeof moduleRef !== 'string') return this.#convert(moduleRef);
    let result = this.#results.get(moduleRef);
    if (result === undefined) {
      result = this.#convert(moduleRef);
      if (this.#results.size < kMaxRemembered) this.#results.set(moduleRef, result);
    }
    return result;
  }
}
