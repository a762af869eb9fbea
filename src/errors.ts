/**
 * The one place that defines keel's errors: `KeelError`, its codes, and how any error crosses a
 * thread or process boundary (`serializeError` / `deserializeError`). Shared by both sides.
 */

/** Every code a `KeelError` can carry. See docs/errors.md for when each is raised. */
export type KeelErrorCode =
  | 'ERR_CLOSED'
  | 'ERR_WORKER_EXITED'
  | 'ERR_QUEUE_FULL'
  | 'ERR_TIMEOUT'
  | 'ERR_ARENA_FULL'
  | 'ERR_NOT_CLONEABLE'
  | 'ERR_TYPE_MISMATCH'
  | 'ERR_NOT_FOUND'
  | 'ERR_EXISTS'
  | 'ERR_START_FAILED'
  | 'ERR_UNSUPPORTED'
  | 'ERR_PERMISSION'
  | 'ERR_NO_SPACE'
  | 'ERR_UNAVAILABLE'
  | 'ERR_INVALID_ARGUMENT';

/**
 * The error class of every failure keel itself reports. `code` says what went wrong;
 * `cause` carries the underlying error (a worker's exception, a failed factory) when there is one.
 * A timeout has `code === 'ERR_TIMEOUT'` and `name === 'TimeoutError'`.
 *
 * @example
 * try { await pool.run(ref, 'work', [], { timeoutMs: 50 }); }
 * catch (error) { if (error instanceof KeelError && error.code === 'ERR_TIMEOUT') retry(); }
 */
export class KeelError extends Error {
  /** What went wrong, one of the codes of `KeelErrorCode` (docs/errors.md says when each is raised). */
  readonly code: KeelErrorCode;

  constructor(code: KeelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = code === 'ERR_TIMEOUT' ? 'TimeoutError' : 'KeelError';
  }
}

/** A validation failure: names the option, what was expected and what was received. */
export function invalidArgument(name: string, expected: string, received: unknown): KeelError {
  return new KeelError(
    'ERR_INVALID_ARGUMENT',
    `${name} must be ${expected}, got ${describeValue(received)}`,
  );
}

/** A short, safe description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'undefined') return 'undefined';
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'symbol') return value.toString();
  if (Array.isArray(value)) return 'an array';
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  return ctor && ctor !== 'Object' ? `an instance of ${ctor}` : 'an object';
}

/** The `AbortError` a call rejects with when its signal was aborted without a reason. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

// ---------------------------------------------------------------------------------------------
// Crossing a boundary. Structured cloning keeps an error's class only for built-ins and drops
// `code` and custom own properties (reproduced on Node 20, see piscina#1143), so errors cross as
// plain data and are rebuilt on the other side.

/** An error as plain, cloneable data. */
export interface SerializedError {
  readonly kind: 'error';
  /** Built-in constructor to rebuild with ('Error' for user classes). */
  readonly base: BuiltinErrorName;
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: unknown;
  readonly cause?: SerializedThrown;
  /** Own enumerable properties that survived cloning, `code` excepted. */
  readonly props: Record<string, unknown>;
  /** Members of an AggregateError. */
  readonly errors?: readonly SerializedThrown[];
}

/** Something thrown that is not an Error (`throw 42`), carried as a value. */
export interface SerializedValue {
  readonly kind: 'value';
  readonly value: unknown;
}

export type SerializedThrown = SerializedError | SerializedValue;

type BuiltinErrorName =
  | 'Error'
  | 'TypeError'
  | 'RangeError'
  | 'SyntaxError'
  | 'ReferenceError'
  | 'EvalError'
  | 'URIError'
  | 'AggregateError'
  | 'KeelError';

const kBuiltinErrors: Record<
  Exclude<BuiltinErrorName, 'KeelError' | 'AggregateError'>,
  ErrorConstructor
> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const kMaxCauseDepth = 16;

/** Turns anything thrown into cloneable data; never throws. */
export function serializeError(thrown: unknown, depth = 0): SerializedThrown {
  try {
    if (!(thrown instanceof Error)) return serializeThrownValue(thrown);
    const props = collectOwnProps(thrown);
    const result: {
      -readonly [K in keyof SerializedError]: SerializedError[K];
    } = {
      kind: 'error',
      base: builtinBaseOf(thrown),
      // Typed as strings, but user code can assign anything to them.
      name: safeString(thrown.name),
      message: safeString(thrown.message),
      stack: typeof thrown.stack === 'string' ? thrown.stack : undefined,
      code: cloneableOrUndefined((thrown as { code?: unknown }).code),
      props,
    };
    // `{ cause: undefined }` and `{ cause: null }` were given on purpose: they cross too.
    if ('cause' in thrown && depth < kMaxCauseDepth) {
      result.cause = serializeError(thrown.cause, depth + 1);
    }
    if (thrown instanceof AggregateError && depth < kMaxCauseDepth) {
      result.errors = Array.from(thrown.errors as unknown[], (member) =>
        serializeError(member, depth + 1),
      );
    }
    return result;
  } catch {
    return { kind: 'value', value: safeString(thrown) };
  }
}

/**
 * `null` and `undefined` are values like any other (`throw null` must arrive as null); only a
 * value that cannot be cloned (a function, a symbol, an object holding one) is carried as text.
 */
function serializeThrownValue(thrown: unknown): SerializedValue {
  if (thrown === null || thrown === undefined) return { kind: 'value', value: thrown };
  const cloned = cloneableOrUndefined(thrown);
  return { kind: 'value', value: cloned === undefined ? safeString(thrown) : cloned };
}

function builtinBaseOf(error: Error): BuiltinErrorName {
  if (error instanceof KeelError) return 'KeelError';
  if (error instanceof AggregateError) return 'AggregateError';
  for (const [name, ctor] of Object.entries(kBuiltinErrors)) {
    if (name !== 'Error' && error instanceof ctor) return name as BuiltinErrorName;
  }
  return 'Error';
}

function collectOwnProps(error: Error): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (key === 'code' || key === 'cause' || key === 'stack' || key === 'message') continue;
    const value = cloneableOrUndefined((error as unknown as Record<string, unknown>)[key]);
    if (value !== undefined) props[key] = value;
  }
  return props;
}

function cloneableOrUndefined(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint')
    return value;
  if (type === 'function' || type === 'symbol') return undefined;
  try {
    return structuredClone(value);
  } catch {
    return undefined;
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Rebuilds an error that crossed a boundary. `callerStack` (the frames of the call site, as
 * captured on this side) is appended so the stack reads: worker frames, then the caller.
 */
export function deserializeError(data: SerializedThrown, callerStack?: string): unknown {
  if (data.kind === 'value') return data.value;
  const error = instantiate(data);
  const target = error as unknown as Record<string, unknown>;
  if (data.name !== error.name) {
    Object.defineProperty(error, 'name', { value: data.name, writable: true, configurable: true });
  }
  if (data.code !== undefined) target.code = data.code;
  for (const [key, value] of Object.entries(data.props)) target[key] = value;
  if (data.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: deserializeError(data.cause),
      writable: true,
      configurable: true,
    });
  }
  const stack = data.stack ?? `${data.name}: ${data.message}`;
  Object.defineProperty(error, 'stack', {
    value: callerStack ? `${stack}\n${callerStack}` : stack,
    writable: true,
    configurable: true,
  });
  return error;
}

function instantiate(data: SerializedError): Error {
  if (data.base === 'KeelError') {
    return new KeelError(isKeelCode(data.code) ? data.code : 'ERR_START_FAILED', data.message);
  }
  if (data.base === 'AggregateError') {
    return new AggregateError(
      (data.errors ?? []).map((member) => deserializeError(member)),
      data.message,
    );
  }
  return new kBuiltinErrors[data.base](data.message);
}

const kKeelCodes = new Set<string>([
  'ERR_CLOSED',
  'ERR_WORKER_EXITED',
  'ERR_QUEUE_FULL',
  'ERR_TIMEOUT',
  'ERR_ARENA_FULL',
  'ERR_NOT_CLONEABLE',
  'ERR_TYPE_MISMATCH',
  'ERR_NOT_FOUND',
  'ERR_EXISTS',
  'ERR_START_FAILED',
  'ERR_UNAVAILABLE',
  'ERR_INVALID_ARGUMENT',
]);

function isKeelCode(code: unknown): code is KeelErrorCode {
  return typeof code === 'string' && kKeelCodes.has(code);
}

/** A worker's error as it arrived; rebuilt by `atCallSite` so that its stack can show the caller. */
export class CrossedError {
  constructor(readonly data: SerializedThrown) {}
}

/**
 * Prepares a rejection for the caller. Called in the `catch` of the public async function, where
 * V8's zero-cost async stack traces still know who awaits the call: the frames captured there
 * ("at async userFunction ...") are appended, so a worker's stack reads worker frames, then the
 * caller. Capturing a stack on every call instead would cost microseconds per call (measured).
 */
export function atCallSite(
  reason: unknown,
  publicFunction: (...args: never[]) => unknown,
): unknown {
  if (reason instanceof CrossedError)
    return deserializeError(reason.data, callerFrames(publicFunction));
  if (reason instanceof KeelError && !reason.stack?.includes('\n    at async ')) {
    const frames = callerFrames(publicFunction);
    if (frames) reason.stack = `${reason.stack ?? String(reason)}\n${frames}`;
  }
  return reason;
}

function callerFrames(publicFunction: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, publicFunction);
  const stack = holder.stack ?? '';
  const firstFrame = stack.indexOf('\n');
  return firstFrame === -1 ? '' : stack.slice(firstFrame + 1);
}
