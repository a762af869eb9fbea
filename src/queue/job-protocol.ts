/**
 * What crosses Redis between a QueuePool and its workers, as data: the job (BullMQ stores its
 * data as JSON), the reply (a binary list element), and the keys both sides derive from the
 * queue's name. Both sides of a deployment must speak the same `kProtocolVersion`.
 */
import type { SerializedThrown } from '../errors.js';
import { decodeValue } from './payload.js';

/** Bumped whenever JobData or the reply layout changes incompatibly. */
export const kProtocolVersion = 1;

/** A job's data. */
export interface JobData {
  readonly keel: typeof kProtocolVersion;
  /** The module, '/'-separated, relative to the caller's root (module-path.ts). */
  readonly module: string;
  readonly exportName: string;
  /** The arguments array, V8-serialized, in base64 (JSON carries no bytes). */
  readonly args: string;
  /** The Redis list the reply goes to: the calling QueuePool's own. */
  readonly replyTo: string;
  /** The longest run on the worker; null for none. */
  readonly timeoutMs: number | null;
  /** The caller's limit, applied to the result too. */
  readonly maxPayloadBytes: number;
}

/**
 * A reply, one list element: `<jobId>\n`, one kind byte, then V8's serialization of the value
 * (kind `v`) or of the error as `serializeError` made it (kind `e`). The job id stays readable
 * even when the body is not (a worker on another Node version), so that run still settles.
 */
export type ReplyKind = 'v' | 'e';

/** How long an unread reply list lives after its last reply: a caller that died leaves nothing. */
export const kReplyTtlMs = 60 * 60 * 1000;

export function encodeReply(jobId: string, kind: ReplyKind, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${jobId}\n${kind}`, 'utf8'), body]);
}

/** A reply as the caller reads it; `undefined` for bytes that are not a reply at all. */
export interface DecodedReply {
  readonly jobId: string;
  readonly kind: ReplyKind;
  readonly body: Buffer;
}

export function splitReply(element: Buffer): DecodedReply | undefined {
  const newline = element.indexOf(10);
  if (newline <= 0 || newline + 1 >= element.length) return undefined;
  const kind = String.fromCharCode(element[newline + 1] ?? 0);
  if (kind !== 'v' && kind !== 'e') return undefined;
  return {
    jobId: element.toString('utf8', 0, newline),
    kind,
    body: element.subarray(newline + 2),
  };
}

/** The body of an error reply. */
export function decodeErrorBody(body: Buffer): SerializedThrown {
  return decodeValue(body) as SerializedThrown;
}

/** The list a QueuePool reads its replies from (in the queue's key space). */
export function replyListKey(prefix: string, queue: string, callerId: string): string {
  return `${prefix}:${queue}:keel:replies:${callerId}`;
}

/** The pub/sub channel a caller asks the workers on to stop a running job. */
export function cancelChannel(prefix: string, queue: string): string {
  return `${prefix}:${queue}:keel:cancel`;
}

/** The job's data, or why it is not a keel job this worker can run. */
export function checkJobData(data: unknown): JobData | string {
  if (typeof data !== 'object' || data === null) return 'its data is not an object';
  const job = data as Partial<Record<keyof JobData, unknown>>;
  if (job.keel !== kProtocolVersion) {
    return `it speaks keel queue protocol ${String(job.keel)}, this worker ${kProtocolVersion}`;
  }
  const strings = [job.module, job.exportName, job.args, job.replyTo];
  if (!strings.every((field) => typeof field === 'string')) return 'a field is missing';
  if (job.timeoutMs !== null && typeof job.timeoutMs !== 'number') return 'timeoutMs is invalid';
  if (typeof job.maxPayloadBytes !== 'number') return 'maxPayloadBytes is invalid';
  return job as JobData;
}
