/**
 * The entry every keel worker thread boots: it applies the scheduling class and CPUs its caller
 * asked for, joins the SharedObject name registry, adopts the arena it shares with its caller,
 * then serves its role.
 */
import { threadCallerChannel } from '../transport/far-side/caller-channel.js';
import { connectRegistryLink } from '../transport/registry-link.js';
import { adoptArena } from './boot-context.js';
import { applyBootScheduling } from './boot-scheduling.js';
import { serve } from './serve.js';

const channel = threadCallerChannel();
const boot = channel.bootData as { registry?: unknown; arena?: unknown };
// First: nothing of the caller's (its modules, its arena) runs before the thread has its class.
if (applyBootScheduling(channel)) {
  if (boot.registry !== undefined) connectRegistryLink(boot.registry);
  adoptArena(boot.arena, 'transfer');
  serve(channel);
}
