/**
 * Values in jobs and replies: V8's serialization (what structured cloning uses: Map, Set, Date,
 * BigInt, typed arrays and Buffers, cycles, errors), checked against `maxPayloadBytes` before
 * anything is queued. Redis holds every byte of a job until it is consumed; a 1 GB value would
 * stall the queue for every caller, so the limit is a wall, not a hint.
 */
import { deserialize, serialize } from 'node:v8';
import { KeelError } from '../errors.js';
import { isCloneFailure, notCloneableError } from '../values/crossing.js';

/** Default `maxPayloadBytes`: 64 MiB, serialized. */
export const kDefaultMaxPayloadBytes = 64 * 1024 * 1024;

/**
 * `value` serialized. ERR_NOT_CLONEABLE names the leaf that cannot be serialized (`name` is how
 * the call site calls the value: `args`, `result`); ERR_INVALID_ARGUMENT when it serializes to
 * more than `maxPayloadBytes`.
 */
export function encodeValue(value: unknown, name: string, maxPayloadBytes: number): Buffer {
  let bytes: Buffer;
  try {
    bytes = serialize(value);
  } catch (error) {
    if (isCloneFailure(error)) throw notCloneableError(value, name, error);
    throw error;
  }
  if (bytes.byteLength > maxPayloadBytes) {
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      `${name} must be at most maxPayloadBytes (${maxPayloadBytes}) once serialized, got ` +
        `${bytes.byteLength} bytes (put large binaries in object storage and pass their keys)`,
    );
  }
  return bytes;
}

/** The value `encodeValue` serialized; throws when the bytes are not V8's serialization. */
export function decodeValue(bytes: Uint8Array): unknown {
  return deserialize(bytes);
}
