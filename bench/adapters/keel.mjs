// Loads keel the way a user would (`import ... from 'keel'`, i.e. dist/ through the package's
// self-reference), or another build named by KEEL_BENCH_MODULE. Names that src/index.ts does not
// export yet (Arena, SharedObject while they are being wired) come from their dist/ module next
// to the chosen index.js, and `sources` says so, for the settings line under each table.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where keel's internal modules sit, relative to its dist/index.js. */
const kInternal = {
  Arena: './memory/arena/index.js',
  SharedObject: './memory/shared-object/index.js',
};

/** `keel`, or the KEEL_BENCH_MODULE override as a file: URL (to compare another build). */
export function keelSpecifier() {
  const override = process.env.KEEL_BENCH_MODULE;
  if (override === undefined || override === '') return 'keel';
  return override.startsWith('file:') ? override : pathToFileURL(resolve(override)).href;
}

/**
 * keel's public module, completed with the internal modules of names it does not export yet.
 * @returns {Promise<{ keel: Record<string, any>, sources: Record<string, string> }>}
 */
export async function loadKeel() {
  const specifier = keelSpecifier();
  let keel;
  try {
    keel = await import(specifier);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error('keel is not built (dist/index.js missing): run `npm run build`', {
      cause: error,
    });
  }
  const indexUrl = specifier === 'keel' ? import.meta.resolve('keel') : specifier;
  const completed = { ...keel };
  /** @type {Record<string, string>} */
  const sources = {};
  for (const [name, path] of Object.entries(kInternal)) {
    if (completed[name] !== undefined) continue;
    try {
      completed[name] = (await import(new URL(path, indexUrl).href))[name];
      sources[name] = `dist/${path.slice(2)} (not exported by keel yet)`;
    } catch {
      // Not built in this version of keel: the cells that need it say so.
    }
  }
  return { keel: completed, sources };
}

/** The one-line note of internal imports, or '' when everything came from `keel`. */
export function sourcesNote(sources, names) {
  const used = names.filter((name) => sources[name] !== undefined);
  return used.length === 0 ? '' : `; ${used.map((n) => `${n} from ${sources[n]}`).join(', ')}`;
}
