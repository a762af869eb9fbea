/**
 * The entry every keel child process boots: it applies the scheduling class and CPUs its parent
 * asked for to its main thread, adopts the arena it shares with its parent (its memory was
 * handed over at fork and mapped by the channel), then serves its role.
 */
import { processCallerChannel } from '../transport/far-side/caller-channel.js';
import { adoptArena } from './boot-context.js';
import { applyBootScheduling } from './boot-scheduling.js';
import { serve } from './serve.js';

const channel = await processCallerChannel();
if (applyBootScheduling(channel)) {
  adoptArena((channel.bootData as { arena?: unknown }).arena, 'copy');
  serve(channel);
}
