/**
 * Serves one stateful object: builds it once (factory or module namespace), then runs method
 * calls and attribute reads on it in arrival order (InOrderRunner), one at a time.
 */
import { KeelError, serializeError } from '../errors.js';
import type { FromRemote, InvokeMessage, StartRemoteMessage } from '../protocol/messages.js';
import { receivedArgs } from './boot-context.js';
import { InOrderRunner } from './in-order-runner.js';
import { pickExport, type ModuleLoader } from './module-loader.js';

type Members = Record<string, unknown>;

/** Factory arguments cross once: always look for handles in them. */
const kFactoryArgs = { handles: true } as const;

export class RemoteServer {
  readonly #loader: ModuleLoader;
  readonly #post: (message: FromRemote, transfer?: readonly ArrayBuffer[]) => void;
  readonly #runner: InOrderRunner;
  #object: Members | undefined;

  constructor(
    loader: ModuleLoader,
    post: (message: FromRemote, transfer?: readonly ArrayBuffer[]) => void,
  ) {
    this.#loader = loader;
    this.#post = post;
    this.#runner = new InOrderRunner(post, { handOverResults: false });
  }

  async start(message: StartRemoteMessage): Promise<void> {
    try {
      const namespace = await this.#loader.loadModule(message.module);
      this.#object = message.factory
        ? await buildObject(
            namespace,
            message.module,
            message.factory,
            receivedArgs(message.args, kFactoryArgs),
          )
        : namespace;
      this.#post({ type: 'started' });
    } catch (error) {
      this.#post({ type: 'start-failed', error: serializeError(error) });
    }
  }

  /** Starts a call; returns a promise while answers are still being computed. */
  accept(message: InvokeMessage): Promise<void> | undefined {
    const object = this.#object;
    this.#runner.push({
      id: message.id,
      run: () =>
        message.kind === 'call' ? callMember(object, message) : readMember(object, message.name),
    });
    return this.#runner.whenIdle();
  }

  /** Lets the object release what it holds: `[Symbol.asyncDispose]` or `[Symbol.dispose]`. */
  async dispose(): Promise<void> {
    const object = this.#object as Partial<AsyncDisposable & Disposable> | undefined;
    const disposeAsync = object?.[Symbol.asyncDispose];
    const dispose = object?.[Symbol.dispose];
    if (typeof disposeAsync === 'function') await disposeAsync.call(object);
    else if (typeof dispose === 'function') dispose.call(object);
  }
}

async function buildObject(
  namespace: Members,
  url: string,
  factory: string,
  args: readonly unknown[],
): Promise<Members> {
  const built: unknown = await pickExport(namespace, url, factory)(...args);
  if ((typeof built !== 'object' && typeof built !== 'function') || built === null) {
    throw new KeelError(
      'ERR_START_FAILED',
      `factory '${factory}' of ${url} returned ${built === null ? 'null' : typeof built}, not an object`,
    );
  }
  return built as Members;
}

function callMember(object: Members | undefined, message: InvokeMessage): unknown {
  const member = object?.[message.name];
  if (typeof member !== 'function') {
    throw new KeelError(
      'ERR_NOT_FOUND',
      member === undefined
        ? `the remote object has no method '${message.name}'`
        : `'${message.name}' of the remote object is ${typeof member}, not a method: read it with await remote.${message.name}`,
    );
  }
  return (member as (...args: unknown[]) => unknown).apply(
    object,
    receivedArgs(message.args, message),
  );
}

function readMember(object: Members | undefined, name: string): unknown {
  const value = object?.[name];
  if (typeof value === 'function') {
    throw new KeelError(
      'ERR_NOT_CLONEABLE',
      `'${name}' of the remote object is a method: call it as remote.${name}(...)`,
    );
  }
  return value;
}
