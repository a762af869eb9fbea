/**
 * Loads the functions calls name: a module export by URL (cached per worker) or a shipped
 * self-contained function source.
 */
import { KeelError } from '../errors.js';
import type { FunctionSource, LoaderHook } from '../protocol/messages.js';

type AnyFunction = (...args: unknown[]) => unknown;

const kTypeScriptUrl = /\.(?:ts|mts|cts|tsx)(?:[?#].*)?$/;

export class ModuleLoader {
  readonly #hooks: readonly LoaderHook[];
  readonly #modules = new Map<string, Promise<Record<string, unknown>>>();
  #hooksInstalled: Promise<void> | undefined;

  constructor(hooks: readonly LoaderHook[]) {
    this.#hooks = hooks;
  }

  /** Resolves the function a call names; rejects with ERR_NOT_FOUND / ERR_START_FAILED. */
  async load(source: FunctionSource): Promise<AnyFunction> {
    if (source.kind === 'source') return compileFunction(source.source);
    const namespace = await this.#import(source.module);
    return pickExport(namespace, source.module, source.name);
  }

  /** Imports a module namespace (for spawn without a factory). */
  async loadModule(url: string): Promise<Record<string, unknown>> {
    return this.#import(url);
  }

  #import(url: string): Promise<Record<string, unknown>> {
    let loading = this.#modules.get(url);
    if (!loading) {
      loading = this.#importUncached(url);
      this.#modules.set(url, loading);
      // A failed import is not cached: the file may be fixed or created later.
      loading.catch(() => this.#modules.delete(url));
    }
    return loading;
  }

  async #importUncached(url: string): Promise<Record<string, unknown>> {
    if (kTypeScriptUrl.test(url)) await this.#installHooks();
    try {
      return (await import(url)) as Record<string, unknown>;
    } catch (error) {
      throw importFailure(url, error);
    }
  }

  #installHooks(): Promise<void> {
    this.#hooksInstalled ??= (async () => {
      for (const hook of this.#hooks) {
        const api = (await import(hook.url)) as { register?: () => unknown };
        api.register?.();
      }
    })();
    return this.#hooksInstalled;
  }
}

function importFailure(url: string, error: unknown): KeelError {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  // The message of a missing dependency also names the importing module, after 'imported from'.
  if (code === 'ERR_MODULE_NOT_FOUND' && message.includes(`'${pathOf(url)}'`)) {
    return new KeelError('ERR_NOT_FOUND', `cannot find module ${url}`, { cause: error });
  }
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && kTypeScriptUrl.test(url)) {
    return new KeelError(
      'ERR_START_FAILED',
      `cannot load the TypeScript module ${url}: run the calling program under tsx or with ` +
        "Node's type stripping, or point keel at the compiled JavaScript",
      { cause: error },
    );
  }
  return new KeelError('ERR_START_FAILED', `module ${url} failed to load: ${message}`, {
    cause: error,
  });
}

function pathOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname);
  } catch {
    return url;
  }
}

/** The exported function `name` of a module namespace; ERR_NOT_FOUND when there is none. */
export function pickExport(
  namespace: Record<string, unknown>,
  url: string,
  name: string,
): AnyFunction {
  let value = namespace[name];
  // A CommonJS module's exports may be reachable only through its default export.
  if (value === undefined && namespace.default && typeof namespace.default === 'object') {
    value = (namespace.default as Record<string, unknown>)[name];
  }
  if (typeof value === 'function') return value as AnyFunction;
  if (value === undefined) {
    const names = Object.keys(namespace).filter((key) => key !== 'default');
    throw new KeelError(
      'ERR_NOT_FOUND',
      `module ${url} has no export named '${name}' (its exports: ${names.join(', ') || 'none'})`,
    );
  }
  throw new KeelError(
    'ERR_NOT_FOUND',
    `export '${name}' of ${url} is ${typeof value}, not a function`,
  );
}

function compileFunction(source: string): AnyFunction {
  // Indirect evaluation runs the source in the worker's global scope: a function that closes
  // over a variable of its original scope fails at call time with a ReferenceError, which the
  // call server turns into a clear ERR_NOT_CLONEABLE.
  const compiled = (0, eval)(`(${source})`) as unknown;
  if (typeof compiled !== 'function') {
    throw new KeelError('ERR_NOT_CLONEABLE', 'the shipped source does not evaluate to a function');
  }
  return compiled as AnyFunction;
}
