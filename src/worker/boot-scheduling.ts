/**
 * The first thing a keel worker does when its caller asked for a scheduling class or CPUs:
 * apply them to this thread (a child: its main thread), before any module loads, and tell the
 * caller what the OS applied, or that it refused.
 */
import { serializeError } from '../errors.js';
import { applyScheduling } from '../platform/scheduling.js';
import type { FromWorkerBoot, WorkerBootData } from '../protocol/messages.js';
import type { CallerChannel } from '../transport/far-side/caller-channel.js';

/**
 * Applies the boot data's scheduling request, if any. True when the worker may go on serving;
 * false once a failure (ERR_PERMISSION, a CPU the process may not use) was posted and the
 * worker is exiting: its start then fails with that error, as is.
 */
export function applyBootScheduling(channel: CallerChannel<unknown, unknown>): boolean {
  const request = (channel.bootData as WorkerBootData).scheduling;
  if (request === undefined) return true;
  let message: FromWorkerBoot;
  try {
    message = { type: 'scheduled', report: applyScheduling(request) };
  } catch (error) {
    channel.post({ type: 'boot-failed', error: serializeError(error) } satisfies FromWorkerBoot);
    channel.exit();
    return false;
  }
  channel.post(message);
  return true;
}
