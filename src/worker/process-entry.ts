/**
 * The entry every keel child process boots: it adopts the arena it shares with its parent (its
 * memory was handed over at fork and mapped by the channel), then serves its role.
 */
import { processCallerChannel } from '../transport/far-side/caller-channel.js';
import { adoptArena } from './boot-context.js';
import { serve } from './serve.js';

const channel = await processCallerChannel();
adoptArena((channel.bootData as { arena?: unknown }).arena, 'copy');
serve(channel);
