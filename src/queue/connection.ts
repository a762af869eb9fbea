/**
 * Redis connections of keel/queue: the URL check, the clients (ioredis) and the one wait for
 * a connection, bounded by `connectTimeoutMs`, that turns an unreachable Redis into
 * ERR_UNAVAILABLE instead of a hang.
 */
import { KeelError, invalidArgument } from '../errors.js';
import { setLongTimeout } from '../timers/long-timeout.js';
import { Redis, type RedisClient } from './peers.js';

/** A checked Redis address: the URL ioredis is given, and how messages may show it. */
export interface RedisAddress {
  readonly url: string;
  /** The URL without its password: the only form that appears in errors and logs. */
  readonly shown: string;
}

/** `redis://` or `rediss://` (TLS), as a string or a URL; anything else is ERR_INVALID_ARGUMENT. */
export function checkRedisUrl(name: string, value: unknown): RedisAddress {
  const text = value instanceof URL ? value.href : value;
  if (typeof text !== 'string') {
    throw invalidArgument(name, 'a redis:// or rediss:// URL', value);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidArgument(name, 'a redis:// or rediss:// URL', text);
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw invalidArgument(name, 'a redis:// or rediss:// URL with a host', shownUrl(url));
  }
  return { url: url.href, shown: shownUrl(url) };
}

function shownUrl(url: URL): string {
  if (url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

/**
 * Reconnection delays: quick at first (a restarted Redis is back within a second), then every
 * 2 s. ioredis retries for ever; keel's own waits are bounded by connectTimeoutMs.
 */
function retryDelayMs(attempt: number): number {
  return Math.min(100 * attempt, 2_000);
}

/**
 * A client that connects on first use. `maxRetriesPerRequest: null`: a command waits through a
 * reconnection instead of failing after 20 tries (BullMQ requires it of a Worker's connection).
 * Errors are kept for the messages of `whenReady`; without a listener ioredis would print each.
 */
export function createRedisClient(
  address: RedisAddress,
  overrides: { readonly enableOfflineQueue?: boolean } = {},
): RedisClient {
  const client = new Redis(address.url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: retryDelayMs,
    ...overrides,
  });
  client.on('error', (error: Error) => {
    lastErrors.set(client, error);
  });
  return client;
}

const lastErrors = new WeakMap<RedisClient, Error>();

/**
 * Resolves once `client` is connected and ready; rejects with ERR_UNAVAILABLE after `timeoutMs`
 * (the last connection error as its cause), or with ERR_CLOSED once the client was closed.
 */
export async function whenReady(
  client: RedisClient,
  address: RedisAddress,
  timeoutMs: number,
): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'end') throw new KeelError('ERR_CLOSED', 'the Redis connection is closed');
  // A lazy client's first connect: its failure is reported by the events below, then retried.
  if (client.status === 'wait') client.connect().catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: KeelError): void => {
      timer.clear();
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onReady = (): void => {
      settle();
    };
    const onEnd = (): void => {
      settle(new KeelError('ERR_CLOSED', 'the Redis connection was closed'));
    };
    const timer = setLongTimeout(() => {
      settle(unavailable(client, address, timeoutMs));
    }, timeoutMs);
    client.on('ready', onReady);
    client.on('end', onEnd);
  });
}

function unavailable(client: RedisClient, address: RedisAddress, timeoutMs: number): KeelError {
  const cause = lastErrors.get(client);
  return new KeelError(
    'ERR_UNAVAILABLE',
    `Redis at ${address.shown} did not answer within connectTimeoutMs (${timeoutMs} ms)` +
      (cause ? `: ${cause.message}` : ''),
    cause ? { cause } : undefined,
  );
}

/** Closes a client now, whatever its state; never throws, never waits for Redis. */
export function dropClient(client: RedisClient): void {
  client.disconnect(false);
}
